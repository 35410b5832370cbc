package d365

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// This file reads root records as the ERP model (erp/model.go) declares them: a page of root
// rows, then each child's rows for the whole page with one request per child and company
// (children that go through another child in a second round), then every row is put into the
// records it belongs to. The same walk, reading keys and stamps only, gives the digests the
// audit compares.

// model returns the declaration and assembler of e.
func model(e erp.Entity) (*erp.Root, assembler, error) {
	m, ok := erp.Model(e)
	kd, ok2 := kinds[e]
	if !ok || !ok2 {
		return nil, nil, failure.E(failure.Invalid, "read", fmt.Errorf("unknown entity %q", e))
	}
	return m, kd, nil
}

// Read reads one page of the roots of e changed after r.After up to r.Until, by the root row's
// own ModifiedDateTime, with their children.
func (c *Client) Read(ctx context.Context, e erp.Entity, r erp.ReadRequest) (erp.Page[erp.Record], error) {
	ctx = withWidth(ctx, r.Width)
	var n counter
	var page erp.Page[erp.Record]
	m, kd, err := model(e)
	if err != nil {
		return page, err
	}
	coll := c.colls[m.Collection]
	rows, size, err := c.readRoots(ctx, &n, m, r)
	if err != nil {
		return page, err
	}
	page.Next, page.Done = pageEnd(rows, size, r.After)
	if k := c.fitting(m, rows); k < len(rows) {
		// The page ends where its children's lists are full: the roots after it start the
		// next page.
		rows = rows[:k]
		page.Next, page.Done = rows[k-1].cur, false
	}
	if p := r.Partition; p != nil && p.ByKey && p.Through != "" && len(rows) > 0 && rows[len(rows)-1].cur.Key == p.Through {
		// The partition's last key: no root of it comes after, and a read for one would find
		// none (one request, and 150 ms or more, at the end of each partition).
		page.Done = true
	}
	roots := rows
	if m.When != nil {
		roots = make([]*root, 0, len(rows))
		for _, rt := range rows {
			if m.When.Match(rt.text(m.When.Field)) {
				roots = append(roots, rt)
				continue
			}
			page.Gone = append(page.Gone, erp.Deletion{Entity: e, Company: rt.cur.Company, Key: rt.cur.Key, At: rt.cur.Modified})
		}
	}
	page.Records, page.Rejected, err = c.assemble(ctx, &n, m, kd, roots, false)
	if err != nil {
		return page, fmt.Errorf("read children of %s page: %w", coll.name, err)
	}
	page.Requests, page.Bytes = n.value(), n.read()
	return page, nil
}

// Lookup reads the roots of e with the given keys, with their children.
func (c *Client) Lookup(ctx context.Context, e erp.Entity, keys []erp.Ref) (erp.Page[erp.Record], error) {
	var n counter
	var page erp.Page[erp.Record]
	m, kd, err := model(e)
	if err != nil {
		return page, err
	}
	roots, missing, err := c.rootsByKey(ctx, &n, m, keys, nil)
	if err != nil {
		return page, err
	}
	page.Records, page.Rejected, err = c.assemble(ctx, &n, m, kd, roots, false)
	if err != nil {
		return page, fmt.Errorf("read children of %s: %w", m.Collection, err)
	}
	page.Missing, page.Done = missing, true
	page.Requests, page.Bytes = n.value(), n.read()
	return page, nil
}

// Digests returns the digest of each of the given roots the ERP has, reading only keys, link
// fields and stamps.
func (c *Client) Digests(ctx context.Context, e erp.Entity, keys []erp.Ref) (out erp.Digests, err error) {
	var n counter
	out.Of = map[erp.Ref]string{}
	m, kd, err := model(e)
	if err != nil {
		return out, err
	}
	defer func() { out.Requests, out.Bytes = n.value(), n.read() }()
	sel := []string{erp.FieldCompany, m.Key, erp.FieldModified}
	if m.When != nil {
		sel = append(sel, m.When.Field)
	}
	sel = append(sel, linkedFields(m)...)
	roots, _, err := c.rootsByKey(ctx, &n, m, keys, sortedUnique(sel))
	if err != nil {
		return out, err
	}
	recs, _, err := c.assemble(ctx, &n, m, kd, roots, true)
	if err != nil {
		return out, fmt.Errorf("read children of %s: %w", m.Collection, err)
	}
	for _, r := range recs {
		out.Of[r.Ref] = r.Digest
	}
	return out, nil
}

// rootsByKey reads the root rows of m with the given keys (one request per company, more when
// the list does not fit one URL), in (company, key) order, and returns the keys it did not find
// (a row that does not meet m.When is not found).
func (c *Client) rootsByKey(ctx context.Context, n *counter, m *erp.Root, keys []erp.Ref, sel []string) ([]*root, []erp.Ref, error) {
	coll := c.colls[m.Collection]
	byCompany := map[string][]string{}
	var companies []string
	for _, k := range keys {
		if _, ok := byCompany[k.Company]; !ok {
			companies = append(companies, k.Company)
		}
		byCompany[k.Company] = append(byCompany[k.Company], k.Key)
	}
	slices.Sort(companies)
	var (
		mu   sync.Mutex
		rows []row
	)
	tasks := make([]func(context.Context) error, 0, len(companies))
	for _, co := range companies {
		tasks = append(tasks, func(ctx context.Context) error {
			rs, err := c.fetchIn(ctx, n, coll, co, c.whenFilter(coll, m.When), m.Key, sortedUnique(byCompany[co]), sel)
			mu.Lock()
			rows = append(rows, rs...)
			mu.Unlock()
			return err
		})
	}
	if err := c.parallel(ctx, tasks); err != nil {
		return nil, nil, err
	}
	op := "read " + coll.name
	roots := make([]*root, 0, len(rows))
	found := map[companyKey]bool{}
	for _, rw := range rows {
		rt, err := newRoot(op, rw, m)
		if err != nil {
			return nil, nil, err
		}
		found[companyKey{strings.ToLower(rt.cur.Company), rt.cur.Key}] = true
		roots = append(roots, rt)
	}
	slices.SortFunc(roots, func(a, b *root) int {
		return cmpStrings(a.cur.Company, b.cur.Company, a.cur.Key, b.cur.Key)
	})
	var missing []erp.Ref
	for _, k := range keys {
		if !found[companyKey{strings.ToLower(k.Company), k.Key}] {
			missing = append(missing, erp.Ref{Entity: m.Entity, Company: k.Company, Key: k.Key})
		}
	}
	return roots, missing, nil
}

func cmpStrings(a1, b1, a2, b2 string) int {
	if c := strings.Compare(a1, b1); c != 0 {
		return c
	}
	return strings.Compare(a2, b2)
}

// assemble reads the children of roots and builds their records; with digestOnly it reads
// only the fields that place a row (keys, links, stamps) and returns records with their
// Digest and no Value.
func (c *Client) assemble(ctx context.Context, n *counter, m *erp.Root, kd assembler, roots []*root, digestOnly bool) ([]erp.Record, []erp.Rejection, error) {
	links := linksOf(m, roots)
	rows, err := c.readChildren(ctx, n, m, links, digestOnly)
	if err != nil {
		return nil, nil, err
	}

	recs := make([]any, len(roots))
	digests := make([][]string, len(roots))
	for i, rt := range roots {
		if !digestOnly {
			recs[i] = kd.start(&rt.chk, rt)
		}
		digests[i] = []string{stampOf(m.Collection, []string{m.Key}, rt.row)}
	}
	put := func(i int, ch *erp.Child, rw row) {
		digests[i] = append(digests[i], stampOf(ch.Collection, ch.Key, rw))
		if !digestOnly {
			kd.attach(ch.Name, recs[i], &roots[i].chk, rw)
		}
	}
	// Owners of the rows of each child, for the children that go through it.
	owners := map[string]map[companyKey][]int{}
	for ci := range m.Children {
		ch := &m.Children[ci]
		var through map[companyKey][]int
		if needs(m, ch.Name) {
			through = map[companyKey][]int{}
			owners[ch.Name] = through
		}
		for _, rw := range rows[ch.Name] {
			co := rw.text(erp.FieldCompany)
			var is []int
			switch {
			case ch.Link != nil:
				is = links.owners(m, ch, rw)
			case ch.CompanyWide:
				for i, rt := range roots {
					if rt.cur.Company == co && rt.cur.Key != "" {
						is = append(is, i)
					}
				}
			case ch.Via != nil:
				is = owners[ch.Via.Child][companyKey{co, rw.text(ch.Via.From)}]
			}
			for _, i := range is {
				put(i, ch, rw)
			}
			if through != nil {
				for _, to := range viaFields(m, ch.Name) {
					ck := companyKey{co, rw.text(to)}
					through[ck] = append(through[ck], is...)
				}
			}
		}
	}

	out := make([]erp.Record, 0, len(roots))
	var rejected []erp.Rejection
	for i, rt := range roots {
		if !digestOnly && !rt.chk.ok() {
			rejected = append(rejected, rejection(m.Entity, rt))
			continue
		}
		r := erp.Record{Ref: erp.Ref{Entity: m.Entity, Company: rt.cur.Company, Key: rt.cur.Key}, Modified: rt.cur.Modified,
			Digest: digest(digests[i])}
		if !digestOnly {
			r.Value = kd.value(recs[i])
		}
		out = append(out, r)
	}
	return out, rejected, nil
}

// needs reports whether another child of m goes through the child named name.
func needs(m *erp.Root, name string) bool { return len(viaFields(m, name)) > 0 }

// viaFields returns the fields of the child named name that other children go through.
func viaFields(m *erp.Root, name string) []string {
	var out []string
	for _, c := range m.Children {
		if c.Via != nil && c.Via.Child == name && !slices.Contains(out, c.Via.To) {
			out = append(out, c.Via.To)
		}
	}
	return out
}

// links indexes the roots of one page by the fields children link to: for each such field (the
// key, or Link.To) and company, the values the roots have and which roots have each. Company
// "" holds every company's, for shared children.
type links struct {
	companies []string // the roots' companies, in page order
	// values[field][company] are the distinct values in page order; roots[field] who has each.
	values map[string]map[string][]string
	roots  map[string]map[companyKey][]int
}

// linksOf indexes roots by every field m's linked children link to.
func linksOf(m *erp.Root, roots []*root) links {
	l := links{values: map[string]map[string][]string{}, roots: map[string]map[companyKey][]int{}}
	for _, rt := range roots {
		if rt.cur.Key != "" && !slices.Contains(l.companies, rt.cur.Company) {
			l.companies = append(l.companies, rt.cur.Company)
		}
	}
	for _, f := range append([]string{m.Key}, linkedFields(m)...) {
		if l.values[f] != nil {
			continue
		}
		values, owners := map[string][]string{}, map[companyKey][]int{}
		for i, rt := range roots {
			v := rt.linkValue(m, f)
			if v == "" {
				continue
			}
			for _, co := range []string{rt.cur.Company, ""} {
				ck := companyKey{co, v}
				if len(owners[ck]) == 0 {
					values[co] = append(values[co], v)
				}
				owners[ck] = append(owners[ck], i)
			}
		}
		l.values[f], l.roots[f] = values, owners
	}
	return l
}

// linkValue is the value of field f (m's key, or a Link.To) that rt's children link to; "" for
// none, and for a root without its key.
func (rt *root) linkValue(m *erp.Root, f string) string {
	switch {
	case rt.cur.Key == "":
		return ""
	case f == m.Key:
		return rt.cur.Key
	}
	return rt.text(f)
}

// fitting returns how many of a page's roots, from the first, the "in (...)" lists of the
// children linked to them fit in one request each (readChildren's first round), when ending
// the page there costs fewer requests a root than splitting the lists; len(roots) otherwise.
//
// A page of 1,000 roots with item numbers of 7 characters fills a list of 7,000 bytes (the
// default Config.MaxURLLength) to about 980: every linked child then costs a second request
// for the last 20 or so, and a page of one company's products 23 requests instead of 12. Read
// ends such a page where the lists are full, and the roots left over start the next page.
func (c *Client) fitting(m *erp.Root, roots []*root) int {
	// A list is the values of one field, of one company or (for shared children, company "")
	// of all; several children read by the same list, the one with the longest URL around it
	// bounding it (room).
	type kind struct {
		field  string
		shared bool
	}
	type list struct {
		kind
		company string
	}
	children := map[kind][]*erp.Child{}
	var kinds []kind
	for ci := range m.Children {
		if ch := &m.Children[ci]; ch.Link != nil && ch.Via == nil {
			k := kind{ch.Link.RootField(m), ch.Shared}
			if children[k] == nil {
				kinds = append(kinds, k)
			}
			children[k] = append(children[k], ch)
		}
	}
	base := func(ch *erp.Child, company string) int {
		coll := c.colls[ch.Collection]
		return len(c.inURL(coll, company, c.whenFilter(coll, ch.When), ch.Link.From, ch.Select)(nil))
	}
	room := map[list]int{}   // what a list's values may add to the URL
	length := map[list]int{} // what they add, up to fit and then for the whole page
	first := map[list]int{}  // the root the list begins with
	seen := map[list]map[string]bool{}
	fit := len(roots)
	for i, rt := range roots {
		for _, k := range kinds {
			v := rt.linkValue(m, k.field)
			if v == "" {
				continue
			}
			l := list{k, rt.cur.Company}
			if k.shared {
				l.company = ""
			}
			if seen[l] == nil {
				seen[l], first[l] = map[string]bool{}, i
				r := c.cfg.MaxURLLength
				for _, ch := range children[k] {
					r = min(r, c.cfg.MaxURLLength-base(ch, l.company))
				}
				room[l] = r
			}
			if seen[l][v] {
				continue
			}
			seen[l][v] = true
			if length[l] += inLength(v); fit == len(roots) && i > 0 && length[l] > room[l] {
				fit = i
			}
		}
	}
	if fit == len(roots) {
		return fit
	}
	// Requests of the whole page's lists, split as splitIn splits them (about), against one
	// request a child and list of the roots that fit. The roots' own request counts in both.
	whole, part := 1, 1
	for l, n := range length {
		for _, ch := range children[l.kind] {
			r := max(c.cfg.MaxURLLength-base(ch, l.company), 1)
			whole += (n + r - 1) / r
			if first[l] < fit {
				part++
			}
		}
	}
	if part*len(roots) < whole*fit {
		return fit
	}
	return len(roots)
}

// owners returns the roots a row of the linked child ch belongs to.
func (l links) owners(m *erp.Root, ch *erp.Child, rw row) []int {
	co := ""
	if !ch.Shared {
		co = rw.text(erp.FieldCompany)
	}
	return l.roots[ch.Link.RootField(m)][companyKey{co, rw.text(ch.Link.From)}]
}

// linkedFields are the fields of m's root rows that children link to besides its key (Link.To).
func linkedFields(m *erp.Root) []string {
	var out []string
	for _, c := range m.Children {
		if c.Link != nil && c.Link.To != "" && c.Link.To != m.Key && !slices.Contains(out, c.Link.To) {
			out = append(out, c.Link.To)
		}
	}
	return out
}

// readChildren reads the rows of every child of m for the roots of one page: first the children
// linked to the roots and the company-wide ones, then those that go through them. Rows are
// keyed by child name.
func (c *Client) readChildren(ctx context.Context, n *counter, m *erp.Root, links links, digestOnly bool) (map[string][]row, error) {
	companies := links.companies
	var mu sync.Mutex
	out := map[string][]row{}
	add := func(name string, rs []row) {
		mu.Lock()
		out[name] = append(out[name], rs...)
		mu.Unlock()
	}
	round := func(via bool) error {
		var tasks []func(context.Context) error
		for ci := range m.Children {
			ch := &m.Children[ci]
			if (ch.Via != nil) != via {
				continue
			}
			coll := c.colls[ch.Collection]
			cond := c.whenFilter(coll, ch.When)
			sel := ch.Select
			if digestOnly {
				sel = placeFields(m, ch)
			}
			if ch.Shared {
				// Rows of no company: one read for the roots of every company.
				values := sortedUnique(links.values[ch.Link.RootField(m)][""])
				tasks = append(tasks, func(ctx context.Context) error {
					rs, err := c.fetchIn(ctx, n, coll, "", cond, ch.Link.From, values, sel)
					add(ch.Name, rs)
					return err
				})
				continue
			}
			for _, co := range companies {
				switch {
				case ch.Link != nil:
					values := links.values[ch.Link.RootField(m)][co]
					tasks = append(tasks, func(ctx context.Context) error {
						rs, err := c.fetchIn(ctx, n, coll, co, cond, ch.Link.From, values, sel)
						add(ch.Name, rs)
						return err
					})
				case ch.CompanyWide:
					tasks = append(tasks, func(ctx context.Context) error {
						rs, err := c.fetchWhere(ctx, n, coll, co, cond, sel)
						add(ch.Name, rs)
						return err
					})
				case ch.Via != nil:
					var values []string
					for _, rw := range out[ch.Via.Child] {
						if rw.text(erp.FieldCompany) == co {
							if v := rw.text(ch.Via.To); v != "" {
								values = append(values, v)
							}
						}
					}
					values = sortedUnique(values)
					tasks = append(tasks, func(ctx context.Context) error {
						rs, err := c.fetchIn(ctx, n, coll, co, cond, ch.Via.From, values, sel)
						add(ch.Name, rs)
						return err
					})
				}
			}
		}
		return c.parallel(ctx, tasks)
	}
	if err := round(false); err != nil {
		return nil, err
	}
	if err := round(true); err != nil {
		return nil, err
	}
	return out, nil
}

// whenFilter is the OData condition of a root's or a child's When, in the environment's field
// names; "" for none.
func (c *Client) whenFilter(coll *collection, when *erp.Cond) string {
	switch {
	case when == nil:
		return ""
	case len(when.Values) == 1:
		return coll.f(when.Field) + " eq " + quote(when.Values[0])
	}
	return coll.f(when.Field) + " in " + quoteList(when.Values)
}

// placeFields are the fields that place a row of ch in the model: company, key, stamp, the
// fields it links through and the fields other children go through.
func placeFields(m *erp.Root, ch *erp.Child) []string {
	var fs []string
	if !ch.Shared {
		fs = append(fs, erp.FieldCompany)
	}
	fs = append(fs, ch.Key...)
	switch {
	case ch.Link != nil:
		fs = append(fs, ch.Link.From)
	case ch.Via != nil:
		fs = append(fs, ch.Via.From)
	}
	if ch.When != nil {
		fs = append(fs, ch.When.Field)
	}
	fs = append(fs, viaFields(m, ch.Name)...)
	fs = append(fs, erp.FieldModified)
	var out []string
	for _, f := range fs {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// stampOf is one row's entry of a digest: its collection, key and ModifiedDateTime as sent.
func stampOf(coll string, key []string, rw row) string {
	values := make([]string, len(key))
	for i, f := range key {
		values[i] = rw.get(f).String()
	}
	return coll + "\x1f" + erp.JoinKey(values) + "\x1f" + rw.text(erp.FieldModified)
}

// digest summarises a record's row entries, independent of their order.
func digest(entries []string) string {
	slices.Sort(entries)
	h := sha256.New()
	for _, e := range entries {
		h.Write([]byte(e))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
