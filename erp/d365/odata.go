package d365

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// Common field names (D365's; a collection's mapping may rename them).
const (
	fCompany  = "dataAreaId"
	fModified = "ModifiedDateTime"
)

// collection is one OData collection with its field-name mapping. Code names fields by D365's
// names; f translates them for a request and rows are renamed back when decoded.
type collection struct {
	d365, name string
	toEnv      map[string]string // D365 field -> environment field (overrides only)
	fromEnv    map[string]string
	// numeric are the key fields (D365's names) whose values are numbers: literals of them are
	// not quoted.
	numeric map[string]bool
}

func newCollection(d365, name string, fields map[string]string) *collection {
	c := &collection{d365: d365, name: name, toEnv: map[string]string{}, fromEnv: map[string]string{}, numeric: map[string]bool{}}
	for from, to := range fields {
		c.toEnv[from], c.fromEnv[to] = to, from
	}
	return c
}

// literal writes v as an OData literal of field: a number for a numeric field when v is an
// integer, a string otherwise.
func (c *collection) literal(field, v string) string {
	if c.numeric[field] {
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return v
		}
	}
	return quote(v)
}

// list writes "('a','b')" (or "(1,2)" for a numeric field).
func (c *collection) list(field string, values []string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.literal(field, v))
	}
	b.WriteByte(')')
	return b.String()
}

// keyText returns a key field's value as text: a string as sent, a number's literal; "" when
// it is neither.
func keyText(rw row, field string) string {
	switch v := rw.get(field); v.kind {
	case kindString, kindNumber:
		return v.text
	}
	return ""
}

// f returns the environment's name of D365 field name.
func (c *collection) f(name string) string {
	if n, ok := c.toEnv[name]; ok {
		return n
	}
	return name
}

// fs maps several field names, comma-separated (for $select and $orderby).
func (c *collection) fs(names ...string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = c.f(n)
	}
	return strings.Join(out, ",")
}

// rename sets the collection of rows and puts the fields the environment renames back under
// D365's names. A field that has the D365 name of a renamed field is dropped: it is another
// field of the environment, not that D365 field.
func (c *collection) rename(rows []row) {
	for i := range rows {
		rows[i].coll = c.d365
		if len(c.fromEnv) == 0 {
			continue
		}
		fs := rows[i].fields
		for j := 0; j < len(fs); {
			if d365, ok := c.fromEnv[fs[j].name]; ok {
				fs[j].name = d365
			} else if _, ok := c.toEnv[fs[j].name]; ok {
				fs = slices.Delete(fs, j, j+1)
				continue
			}
			j++
		}
		rows[i].fields = fs
	}
}

// checker reads typed fields out of rows and collects what is wrong with them; a root with
// problems (its own or its children's) is rejected with them as the reason.
type checker struct{ problems []string }

func (k *checker) bad(r row, field, format string, args ...any) {
	msg := fmt.Sprintf("%s.%s: ", r.coll, field) + fmt.Sprintf(format, args...)
	k.problems = append(k.problems, msg)
}

// badChild records a problem of a child row, with the row as the ERP sent it.
func (k *checker) badChild(r row, field, format string, args ...any) {
	k.bad(r, field, format+" in %.300s", append(args, r.raw)...)
}

func (k *checker) ok() bool { return len(k.problems) == 0 }

func (k *checker) reason() string { return strings.Join(k.problems, "; ") }

// str returns a text field; absent and null are "". Text that was not valid UTF-8 is a problem:
// the scanner turns invalid bytes (and lone surrogates) into U+FFFD, as encoding/json does, and
// the service's own replacement is one too.
func (k *checker) str(r row, field string) string {
	v := r.get(field)
	switch v.kind {
	case kindAbsent, kindNull:
		return ""
	case kindString:
	default:
		k.bad(r, field, "%v is not a string", v)
		return ""
	}
	if strings.Contains(v.text, "\uFFFD") || !utf8.ValidString(v.text) {
		k.bad(r, field, "%q is not valid UTF-8 text", v.text)
		return ""
	}
	return v.text
}

// int returns an integer field; absent is 0.
func (k *checker) int(r row, field string) int64 {
	v := r.get(field)
	switch v.kind {
	case kindAbsent, kindNull:
		return 0
	case kindNumber:
	default:
		k.bad(r, field, "%v is not a number", v)
		return 0
	}
	i, err := strconv.ParseInt(v.text, 10, 64)
	if err != nil {
		k.bad(r, field, "%s is not an integer", v.text)
		return 0
	}
	return i
}

// dec returns a decimal field exactly; absent is zero.
func (k *checker) dec(r row, field string) erp.Decimal {
	v := r.get(field)
	switch v.kind {
	case kindAbsent, kindNull:
		return ""
	case kindNumber, kindString: // IEEE754Compatible=true writes decimals as strings
	default:
		k.bad(r, field, "%v is not a decimal number", v)
		return ""
	}
	d, err := erp.ParseDecimal(v.text)
	if err != nil {
		k.bad(r, field, "%v", err)
		return ""
	}
	return d
}

// yes returns a NoYes field as a bool; absent is false.
func (k *checker) yes(r row, field string) bool {
	v := r.get(field)
	switch v.kind {
	case kindAbsent, kindNull, kindFalse:
		return false
	case kindTrue:
		return true
	case kindString:
		switch v.text {
		case "Yes":
			return true
		case "No", "":
			return false
		}
	}
	k.bad(r, field, "%v is not Yes or No", v)
	return false
}

// time returns a date-time field in UTC; it must be present.
func (k *checker) time(r row, field string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, r.text(field))
	if err != nil {
		k.bad(r, field, "%v is not a date-time", r.get(field))
		return time.Time{}
	}
	return t.UTC()
}

// currency returns an ISO 4217 code field: three upper-case letters (or empty when allowEmpty).
func (k *checker) currency(r row, field string, allowEmpty bool, child bool) string {
	s := k.str(r, field)
	if s == "" && allowEmpty {
		return ""
	}
	valid := len(s) == 3
	for i := 0; i < len(s); i++ {
		valid = valid && s[i] >= 'A' && s[i] <= 'Z'
	}
	if !valid {
		if child {
			k.badChild(r, field, "%q is not a currency code (3 upper-case letters)", s)
		} else {
			k.bad(r, field, "%q is not a currency code (3 upper-case letters)", s)
		}
		return ""
	}
	return s
}

// quote writes an OData string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteList writes "('a','b')".
func quoteList(values []string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(v))
	}
	b.WriteByte(')')
	return b.String()
}

// timeLiteral writes an Edm.DateTimeOffset literal, exact to the microsecond.
func timeLiteral(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// escapeQuery escapes a query value, leaving the characters OData filters are made of and that
// RFC 3986 allows in a query ('(),:@!*$/) readable and short.
func escapeQuery(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~'(),:@!*$/", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// param is one query option.
type param struct{ name, value string }

// url returns the URL of a collection query.
func (c *Client) url(coll *collection, params ...param) string {
	var b strings.Builder
	b.WriteString(c.data)
	b.WriteString(url.PathEscape(coll.name))
	sep := byte('?')
	for _, p := range params {
		if p.value == "" {
			continue
		}
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(escapeQuery(p.value))
	}
	return b.String()
}

// fetch reads a query and every page after it (@odata.nextLink), up to limit rows (0: all).
// Each row keeps the text the ERP sent (for rejections). A next link is followed only within
// the service root's scheme and host (relative links are resolved against the service root),
// only when it is at most twice Config.MaxURLLength long, never to a page already read, and for
// at most Config.MaxPagesPerFetch pages; anything else fails as invalid, before a request.
func (c *Client) fetch(ctx context.Context, op string, coll *collection, u string, prefer, limit int, n *counter) ([]row, error) {
	var rows []row
	seen := map[string]bool{}
	for u != "" {
		if seen[u] {
			return nil, failure.E(failure.Invalid, op, fmt.Errorf("@odata.nextLink leads back to a page already read: %.300s", u))
		}
		if len(seen) >= c.cfg.MaxPagesPerFetch {
			return nil, failure.E(failure.Invalid, op, fmt.Errorf("more than %d pages for one query (Config.MaxPagesPerFetch)", c.cfg.MaxPagesPerFetch))
		}
		seen[u] = true
		env, err := c.get(ctx, op, u, prefer, n)
		if err != nil {
			return nil, err
		}
		if rows == nil {
			rows = env.Rows
		} else {
			rows = append(rows, env.Rows...)
		}
		if limit > 0 && len(rows) >= limit {
			rows = rows[:limit]
			break
		}
		if u, err = c.nextLink(env.NextLink); err != nil {
			return nil, failure.E(failure.Invalid, op, err)
		}
	}
	coll.rename(rows)
	return rows, nil
}

// nextLink returns the absolute URL of an @odata.nextLink ("" for none), or why it is not
// followed.
func (c *Client) nextLink(link string) (string, error) {
	if link == "" {
		return "", nil
	}
	if max := 2 * c.cfg.MaxURLLength; len(link) > max {
		return "", fmt.Errorf("@odata.nextLink of %d bytes is longer than %d: not followed", len(link), max)
	}
	ref, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("@odata.nextLink %.300q: %w", link, err)
	}
	if !ref.IsAbs() && ref.Host == "" {
		// Relative to the service root: "ReleasedProductsV2?$skiptoken=...".
		return c.data + strings.TrimPrefix(link, "/"), nil
	}
	if !sameOrigin(ref, c.root) {
		return "", fmt.Errorf("@odata.nextLink to %s://%s leaves the service at %s://%s: not followed (the bearer token goes to the service only)",
			ref.Scheme, ref.Host, c.root.Scheme, c.root.Host)
	}
	return link, nil
}

// fetchIn reads the rows of coll in one company ("": with no condition on the company) whose
// field is one of values (and that match cond, if not empty), in as few requests as the URL
// length allows.
func (c *Client) fetchIn(ctx context.Context, n *counter, coll *collection, company, cond, field string, values []string, sel []string) ([]row, error) {
	if len(values) == 0 {
		return nil, nil
	}
	op := "read " + coll.name
	build := c.inURL(coll, company, cond, field, sel)
	var out []row
	for _, list := range splitIn(build, values, c.cfg.MaxURLLength, c.maxIn) {
		rows, err := c.fetch(ctx, op, coll, build(list), 0, 0, n)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// inURL returns how fetchIn writes the URL of a read of coll's rows in company ("": any) whose
// field is one of a list (and that match cond, if not empty), only the fields sel names when it
// is not nil.
func (c *Client) inURL(coll *collection, company, cond, field string, sel []string) func(list []string) string {
	prefix := ""
	if company != "" {
		prefix = coll.f(fCompany) + " eq " + quote(company) + " and "
	}
	if cond != "" {
		prefix += cond + " and "
	}
	prefix += coll.f(field) + " in "
	selText := ""
	if sel != nil {
		selText = coll.fs(sel...)
	}
	return func(list []string) string {
		return c.url(coll, param{"cross-company", "true"}, param{"$filter", prefix + coll.list(field, list)}, param{"$select", selText})
	}
}

// inLength is the most a value adds to an "in (...)" list in a URL: quoted, escaped and a comma.
func inLength(v string) int { return len(escapeQuery(quote(v))) + 1 }

// splitIn splits values into lists whose URLs, as build writes them, stay within maxURL bytes
// (a list holds at least one value) and hold at most maxIn values (0: no limit).
func splitIn(build func([]string) string, values []string, maxURL, maxIn int) [][]string {
	var lists [][]string
	base := len(build(nil))
	for start := 0; start < len(values); {
		length, end := base, start
		for end < len(values) {
			l := inLength(values[end])
			if end > start && (length+l > maxURL || (maxIn > 0 && end-start >= maxIn)) {
				break
			}
			length += l
			end++
		}
		lists = append(lists, values[start:end])
		start = end
	}
	return lists
}

// fetchWhere reads every row of coll in one company that matches cond (all when empty), only
// the fields sel names when it is not nil.
func (c *Client) fetchWhere(ctx context.Context, n *counter, coll *collection, company, cond string, sel []string) ([]row, error) {
	filter := coll.f(fCompany) + " eq " + quote(company)
	if cond != "" {
		filter += " and " + cond
	}
	selText := ""
	if sel != nil {
		selText = coll.fs(sel...)
	}
	return c.fetch(ctx, "read "+coll.name, coll, c.url(coll, param{"cross-company", "true"}, param{"$filter", filter}, param{"$select", selText}), 0, 0, n)
}

// parallel runs tasks, at most Config.Concurrency at a time (or the read's own width,
// withWidth), and returns the first error; the others are cancelled then.
func (c *Client) parallel(ctx context.Context, tasks []func(context.Context) error) error {
	width := c.cfg.Concurrency
	if w, ok := ctx.Value(widthKey{}).(int); ok {
		width = w
	}
	return parallel(ctx, width, tasks)
}

// widthKey is the context key of a read's bound of requests in flight (erp.ReadRequest.Width).
type widthKey struct{}

// withWidth returns ctx with the read's bound of requests in flight, when it has one.
func withWidth(ctx context.Context, width int) context.Context {
	if width <= 0 {
		return ctx
	}
	return context.WithValue(ctx, widthKey{}, width)
}

// parallel runs tasks, at most width at a time, and returns the first error; the others are
// cancelled then.
func parallel(ctx context.Context, width int, tasks []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, max(width, 1))
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, task := range tasks {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := task(ctx); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

// root is a root row with its place in change order.
type root struct {
	row
	cur erp.Cursor
	chk checker
}

// keyset is the $filter condition "strictly after after" in (ModifiedDateTime, dataAreaId,
// key...) order, for a collection whose key fields (after dataAreaId) are key; numeric key fields
// are written as numbers. after.Key holds the key as erp.JoinKey writes it. A shared collection
// (rows of no company) is ordered by (ModifiedDateTime, key...).
func keyset(coll *collection, key []string, shared bool, after erp.Cursor) (string, error) {
	values, err := erp.SplitKey(after.Key, len(key))
	if err != nil {
		return "", err
	}
	literal := func(i int) string { return coll.literal(key[i], values[i]) }
	// Inner to outer: k_n gt v_n, then (k_i gt v_i or (k_i eq v_i and <inner>)).
	cond := coll.f(key[len(key)-1]) + " gt " + literal(len(key)-1)
	for i := len(key) - 2; i >= 0; i-- {
		f := coll.f(key[i])
		cond = fmt.Sprintf("(%s gt %s or (%s eq %s and %s))", f, literal(i), f, literal(i), cond)
	}
	m, co := coll.f(fModified), coll.f(fCompany)
	t := timeLiteral(after.Modified)
	if shared {
		return fmt.Sprintf("(%s gt %s or (%s eq %s and %s))", m, t, m, t, cond), nil
	}
	return fmt.Sprintf("(%s gt %s or (%s eq %s and (%s gt %s or (%s eq %s and %s))))",
		m, t, m, t, co, quote(after.Company), co, quote(after.Company), cond), nil
}

// changeFilter is the $filter of a keyset read of a collection by its own stamps: strictly after
// after in (ModifiedDateTime, dataAreaId, key...) order, up to until, in the configured
// companies; for a shared collection (rows of no company) in (ModifiedDateTime, key...) order,
// every row.
func (c *Client) changeFilter(coll *collection, key []string, shared bool, after erp.Cursor, until time.Time) (string, error) {
	var conds []string
	if !after.IsZero() {
		if after.Company == "" && after.Key == "" {
			// A position at the start of an instant (a rewound watermark): everything stamped
			// from it on, as the keyset condition with an empty company would say.
			conds = append(conds, coll.f(fModified)+" ge "+timeLiteral(after.Modified))
		} else {
			k, err := keyset(coll, key, shared, after)
			if err != nil {
				return "", err
			}
			conds = append(conds, k)
		}
	}
	if !until.IsZero() {
		conds = append(conds, coll.f(fModified)+" le "+timeLiteral(until))
	}
	if !shared {
		conds = append(conds, c.companiesFilter(coll))
	}
	return and(conds...), nil
}

// companiesFilter is the condition that a row of coll is of one of the configured companies;
// "" when every company is read.
func (c *Client) companiesFilter(coll *collection) string {
	if c.companyFilter == "" {
		return ""
	}
	return strings.Replace(c.companyFilter, fCompany, coll.f(fCompany), 1)
}

// and joins the non-empty conditions with "and".
func and(conds ...string) string {
	return strings.Join(slices.DeleteFunc(conds, func(s string) bool { return s == "" }), " and ")
}

// rootFilter is the $filter of a keyset read of roots: strictly after r.After in
// (ModifiedDateTime, dataAreaId, key) order, up to r.Until, in the configured companies, in
// r.Partition when it is set, and meeting cond when it is not empty. In a partition read by key
// (Partition.ByKey) "after r.After" is after its key alone.
func (c *Client) rootFilter(coll *collection, keyField, cond string, r erp.ReadRequest) string {
	p := r.Partition
	after := r.After
	if p != nil && p.ByKey {
		after = erp.Cursor{}
	}
	f, _ := c.changeFilter(coll, []string{keyField}, false, after, r.Until) // a one-field key always splits
	var conds []string
	if p != nil {
		conds = append(conds, coll.f(fCompany)+" eq "+quote(p.Company))
		from, started := p.After, p.After != ""
		if p.ByKey && r.After.Company != "" {
			// A position of this partition's own read, so within (p.After, p.Through].
			from, started = r.After.Key, true
		}
		if started {
			conds = append(conds, coll.f(keyField)+" gt "+keyLiteral(coll, keyField, from))
		}
		if p.Through != "" {
			conds = append(conds, coll.f(keyField)+" le "+coll.literal(keyField, p.Through))
		}
	}
	return and(append(conds, f, cond)...)
}

// keyLiteral is the literal of key value v of coll's field; "" (a root read without its key) is
// the smallest key: the empty text, or the smallest number.
func keyLiteral(coll *collection, field, v string) string {
	if v == "" && coll.numeric[field] {
		return "-9223372036854775808"
	}
	return coll.literal(field, v)
}

// rootOrder is the $orderby of a read of roots: change order (ModifiedDateTime, dataAreaId,
// key), or the key alone in a partition read by key (one company).
func rootOrder(coll *collection, keyField string, r erp.ReadRequest) string {
	if r.Partition != nil && r.Partition.ByKey {
		return coll.f(keyField)
	}
	return strings.Join([]string{coll.f(fModified), coll.f(fCompany), coll.f(keyField)}, ",")
}

// readRoots reads one page of the rows of m's collection after r.After, in change order
// (ModifiedDateTime, dataAreaId, key), or in key order in a partition read by key, never with
// $skip. It reads every row, also those that do not meet the root's condition (m.When): the
// caller reports them as gone.
func (c *Client) readRoots(ctx context.Context, n *counter, m *erp.Root, r erp.ReadRequest) ([]*root, int, error) {
	coll, keyField := c.colls[m.Collection], m.Key
	size := r.PageSize
	if size <= 0 {
		size = c.cfg.PageSize
	}
	size = min(size, MaxPageSize)
	cond := ""
	if r.Matching {
		cond = c.whenFilter(coll, m.When)
	}
	u := c.url(coll,
		param{"cross-company", "true"},
		param{"$filter", c.rootFilter(coll, keyField, cond, r)},
		param{"$orderby", rootOrder(coll, keyField, r)},
		param{"$top", strconv.Itoa(size)},
	)
	op := "read " + coll.name + " page"
	rows, err := c.fetch(ctx, op, coll, u, size, size, n)
	if err != nil {
		return nil, size, err
	}
	byKey := r.Partition != nil && r.Partition.ByKey
	roots := make([]*root, len(rows))
	prev := r.After.Modified
	for i, rw := range rows {
		rt, err := newRoot(op, rw, m)
		if err != nil {
			return nil, size, err
		}
		switch {
		case byKey && !strings.EqualFold(rt.cur.Company, r.Partition.Company): // dataAreaIds compare without case in D365
			return nil, size, failure.E(failure.Invalid, op, fmt.Errorf("the service ignored $filter: a root of %s in a read of %s", rt.cur.Company, r.Partition.Company))
		case byKey:
			// Keys compare in the ERP's collation, which Go does not know (keyAfter).
		case rt.cur.Modified.Before(prev):
			return nil, size, failure.E(failure.Invalid, op, fmt.Errorf("the service ignored $orderby: %s after %s", rt.cur.Modified.Format(erp.TimeLayout), prev.Format(erp.TimeLayout)))
		}
		prev = rt.cur.Modified
		roots[i] = rt
	}
	return roots, size, nil
}

// newRoot reads a root row of m's collection and its place in change order. The cursor keeps the
// key as sent even when it is bad text, so that a keyset read continues after it; the root's
// checker rejects it.
func newRoot(op string, rw row, m *erp.Root) (*root, error) {
	rt := &root{row: rw}
	var k checker
	keyField := m.Key
	key := rw.text(keyField)
	if m.NumericKey {
		key = keyText(rw, keyField)
		rt.chk.int(rw, keyField)
	} else {
		rt.chk.str(rw, keyField)
	}
	rt.cur = erp.Cursor{Modified: k.time(rw, fModified), Company: k.str(rw, fCompany), Key: key}
	if !k.ok() || rt.cur.Company == "" {
		// Without its place in change order the page cannot continue after it.
		return nil, failure.E(failure.Invalid, op, fmt.Errorf("root without a readable %s and %s: %s: %.300s", fModified, fCompany, k.reason(), rw.raw))
	}
	if rt.cur.Key == "" && rt.chk.ok() {
		rt.chk.bad(rw, keyField, "the key is missing")
	}
	return rt, nil
}

// companyKey identifies a root within the page.
type companyKey struct{ company, key string }

// pageEnd fills a page's cursor and Done from its roots.
func pageEnd(roots []*root, size int, after erp.Cursor) (next erp.Cursor, done bool) {
	if len(roots) == 0 {
		return after, true
	}
	return roots[len(roots)-1].cur, len(roots) < size
}

// rejection is the Rejection of a root whose checker found problems.
func rejection(e erp.Entity, rt *root) erp.Rejection {
	return erp.Rejection{Entity: e, Company: rt.cur.Company, Key: rt.cur.Key, Reason: rt.chk.reason(), Raw: []byte(rt.raw)}
}
