package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/erpsim/odata"
)

// Query is an OData read of one collection.
type Query struct {
	Table   string
	Filter  odata.Expr       // nil: every record
	OrderBy []odata.OrderKey // the store appends the key fields for a total order
	Select  []string         // nil: every field
	// Company limits the read to one dataAreaId; "" reads every company (cross-company=true).
	// A shared table's rows belong to no company: every read sees them all.
	Company string
	Top     int // -1: no $top
	Skip    int
	Count   bool // compute the total count ($count=true)
	// PageSize is the most records returned; the rest is reached by Page.Next.
	PageSize int
	// After continues a previous page: the token from Page.Next ($skiptoken).
	After string
	// Stored asks for the values of Page.Rows as their columns store them rather than as in
	// Record (see Page.Rows): what the service writes of a page needs no conversion of each.
	Stored bool
}

// Page is one page of query results.
type Page struct {
	Fields []Field // the selected fields, in output order
	// Rows holds the values in Fields order, typed as in Record; with Query.Stored, as their
	// columns store them: a string for String, Date and Decimal fields (a decimal's exact
	// text), an int64 for Int and DateTime fields (a date-time's microseconds since the Unix
	// epoch), which are what the driver gives, so that a page of thousands of records is read
	// without converting (and allocating) each value a second time. RecordValue converts one.
	Rows  [][]any
	Count int64 // total matching records with Query.Count, else -1
	// Next is the continuation token ($skiptoken) when more records follow; "" on the last page.
	Next string
}

type order struct {
	f    Field
	desc bool
}

// skipToken is the decoded $skiptoken: the order values of the last row and the $top left.
type skipToken struct {
	Values []any `json:"v"`
	Top    int   `json:"t"`
}

// Query runs q. Its errors are *Error values (Invalid for bad fields, types or tokens). The
// page of a query by equalities only may come from the cache of such pages (queryCache); the
// caller must not modify a page.
func (s *Store) Query(ctx context.Context, q Query) (*Page, error) {
	key, ok := cacheKey(q)
	if !ok {
		return s.read(ctx, q)
	}
	hit, gen := s.cache.get(key)
	if hit != nil {
		return hit, nil
	}
	p, err := s.read(ctx, q)
	if err == nil {
		s.cache.put(key, gen, p)
	}
	return p, err
}

// read runs q against the database.
func (s *Store) read(ctx context.Context, q Query) (*Page, error) {
	s.reads.Add(1)
	t, ok := s.schema.Table(q.Table)
	if !ok {
		return nil, Errorf(NotFound, "unknown collection %q", q.Table)
	}
	// The effective order: $orderby, then the key fields not in it, so that it is total.
	var ord []order
	seen := map[string]bool{}
	for _, k := range q.OrderBy {
		f, ok := t.Field(k.Field)
		if !ok {
			return nil, Errorf(Invalid, "unknown field %q in $orderby: %s has no such field", k.Field, t.Name)
		}
		if !seen[f.Name] {
			ord = append(ord, order{f: f, desc: k.Desc})
			seen[f.Name] = true
		}
	}
	for _, k := range t.Key {
		if seen[k] || (k == FieldCompany && q.Company != "") {
			continue
		}
		f, _ := t.Field(k)
		ord = append(ord, order{f: f})
	}

	out := t.Fields
	if q.Select != nil {
		out = nil
		for _, name := range q.Select {
			f, ok := t.Field(name)
			if !ok {
				return nil, Errorf(Invalid, "unknown field %q in $select: %s has no such field", name, t.Name)
			}
			out = append(out, f)
		}
	}
	// Read the selected fields and the order fields (for the continuation token).
	cols := append([]Field(nil), out...)
	ordCol := make([]int, len(ord))
	for i, o := range ord {
		ordCol[i] = -1
		for j, f := range cols {
			if f.Name == o.f.Name {
				ordCol[i] = j
			}
		}
		if ordCol[i] < 0 {
			ordCol[i] = len(cols)
			cols = append(cols, o.f)
		}
	}

	var where []string
	var args []any
	if q.Company != "" && !t.Shared {
		where = append(where, quote(FieldCompany)+" = ?")
		args = append(args, q.Company)
	}
	if q.Filter != nil {
		c := &compiler{t: t}
		if err := c.cond(q.Filter); err != nil {
			return nil, err
		}
		where = append(where, c.sql.String())
		args = append(args, c.args...)
		if len(ord) > 0 && !ord[0].desc {
			if v, ok := lowerBound(q.Filter, ord[0].f); ok {
				where = append(where, column(ord[0].f)+" >= ?")
				args = append(args, v)
			}
		}
	}
	whereSQL := ""
	if len(where) > 0 {
		whereSQL = " WHERE " + strings.Join(where, " AND ")
	}

	page := &Page{Fields: out, Count: -1}
	if q.Count {
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quote(t.Name)+whereSQL, args...).Scan(&page.Count); err != nil {
			return nil, fmt.Errorf("count %s: %w", t.Name, err)
		}
	}

	top, skip := q.Top, q.Skip
	if q.After != "" {
		tok, err := decodeSkipToken(q.After, ord)
		if err != nil {
			return nil, err
		}
		cond, cargs := keysetCondition(ord, tok.Values)
		if whereSQL == "" {
			whereSQL = " WHERE " + cond
		} else {
			whereSQL += " AND " + cond
		}
		args = append(args, cargs...)
		top, skip = tok.Top, 0
	}
	limit := q.PageSize
	if limit <= 0 {
		limit = 1
	}
	if top >= 0 && top < limit {
		limit = top
	}
	if limit == 0 {
		return page, nil
	}

	var orderSQL []string
	for _, o := range ord {
		dir := ""
		if o.desc {
			dir = " DESC"
		}
		orderSQL = append(orderSQL, column(o.f)+dir)
	}
	selSQL := make([]string, len(cols))
	for i, f := range cols {
		selSQL[i] = quote(f.Name)
	}
	query := fmt.Sprintf("SELECT %s FROM %s%s%s ORDER BY %s LIMIT %d OFFSET %d",
		strings.Join(selSQL, ", "), quote(t.Name), indexHint(t, q), whereSQL, strings.Join(orderSQL, ", "), limit+1, skip)
	rows, err := s.query(ctx, query, args)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", t.Name, err)
	}
	defer rows.Close()
	keep := fromSQL // how a row keeps a scanned value (see Page.Rows)
	if q.Stored {
		keep = stored
	}
	ptrs := make([]any, len(cols))
	var vals []any // the last row read, with its order columns
	var slab []any // where the next rows' values go
	for rows.Next() {
		if len(page.Rows) == limit {
			// One more row exists: continue after the last returned row.
			left := -1
			if top >= 0 {
				left = top - limit
			}
			if left != 0 {
				last := make([]any, len(ord))
				for i, c := range ordCol {
					v := vals[c]
					if q.Stored {
						v = fromSQL(cols[c], v)
					}
					last[i] = toSQL(cols[c], v)
				}
				page.Next = encodeSkipToken(skipToken{Values: last, Top: left})
			}
			break
		}
		// The rows are cut from slabs, each as large as the rows read so far (16 at first, no
		// more than the page has left), rather than allocated one by one.
		if len(slab) < len(cols) {
			slab = make([]any, len(cols)*min(limit-len(page.Rows), max(16, len(page.Rows))))
		}
		vals, slab = slab[:len(cols):len(cols)], slab[len(cols):]
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("scan %s: %w", t.Name, err)
		}
		for i, f := range cols {
			vals[i] = keep(f, vals[i])
		}
		page.Rows = append(page.Rows, vals[:len(out):len(out)])
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", t.Name, err)
	}
	return page, nil
}

// query runs a read through the statement cache. A statement evicted (closed) between the
// lookup and its use is prepared again.
func (s *Store) query(ctx context.Context, query string, args []any) (*sql.Rows, error) {
	for attempt := 0; ; attempt++ {
		st, err := s.prepared(ctx, query)
		if err != nil {
			return nil, err
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil && attempt == 0 && strings.Contains(err.Error(), "statement is closed") {
			continue
		}
		return rows, err
	}
}

// indexHint returns an INDEXED BY clause when the filter pins a foreign key that one of the
// table's secondary indexes leads with (dataAreaId eq 'x' and ItemNumber in (...)), as the
// connector's child reads do. SQLite's sampled statistics would otherwise let it walk the
// primary key in $orderby order through the whole company.
func indexHint(t *Table, q Query) string {
	pinned := map[string]bool{}
	if q.Company != "" {
		pinned[FieldCompany] = true
	}
	var walk func(e odata.Expr)
	walk = func(e odata.Expr) {
		switch e := e.(type) {
		case *odata.Binary:
			if e.Op == odata.OpAnd {
				walk(e.L)
				walk(e.R)
				return
			}
			if e.Op != odata.OpEq {
				return
			}
			id, ok := e.L.(*odata.Ident)
			_, lit := e.R.(*odata.Literal)
			if !ok || !lit {
				id, ok = e.R.(*odata.Ident)
				_, lit = e.L.(*odata.Literal)
			}
			if ok && lit {
				pinned[id.Name] = true
			}
		case *odata.In:
			if id, ok := e.X.(*odata.Ident); ok {
				pinned[id.Name] = true
			}
		}
	}
	if q.Filter != nil {
		walk(q.Filter)
	}
	for i, cols := range t.Indexes {
		if len(cols) >= 2 && pinned[cols[0]] && pinned[cols[1]] && !(len(t.Key) >= 2 && pinned[t.Key[0]] && pinned[t.Key[1]]) {
			return " INDEXED BY " + quote(indexName(t, 2+i))
		}
	}
	// A root's rows of one company in key order (a partition's pages and its boundaries): the
	// sampled statistics (analyze) make SQLite take the company's rows up to the bound by the
	// paging index and sort them, 20 ms a boundary at 33,000 roots.
	if name, ok := keyIndex(t); ok && pinned[FieldCompany] && !pinned[t.Key[1]] && len(q.OrderBy) > 0 &&
		q.OrderBy[0].Field == t.Key[1] && !q.OrderBy[0].Desc {
		return " INDEXED BY " + quote(name)
	}
	return ""
}

// keysetCondition selects the rows after vals in the order ord.
func keysetCondition(ord []order, vals []any) (string, []any) {
	sameDir := true
	for _, o := range ord {
		sameDir = sameDir && o.desc == ord[0].desc
	}
	if sameDir {
		// A row-value comparison, which SQLite answers with an index seek.
		cols := make([]string, len(ord))
		ph := make([]string, len(ord))
		for i, o := range ord {
			cols[i], ph[i] = column(o.f), "?"
		}
		op := ">"
		if ord[0].desc {
			op = "<"
		}
		return fmt.Sprintf("(%s) %s (%s)", strings.Join(cols, ", "), op, strings.Join(ph, ", ")), vals
	}
	var ors []string
	var args []any
	for i := range ord {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, column(ord[j].f)+" = ?")
			args = append(args, vals[j])
		}
		op := ">"
		if ord[i].desc {
			op = "<"
		}
		ands = append(ands, column(ord[i].f)+" "+op+" ?")
		args = append(args, vals[i])
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

func encodeSkipToken(t skipToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSkipToken(s string, ord []order) (skipToken, error) {
	bad := Errorf(Invalid, "invalid $skiptoken: use the @odata.nextLink of the previous page as it is")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return skipToken{}, bad
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var t skipToken
	if err := d.Decode(&t); err != nil || len(t.Values) != len(ord) {
		return skipToken{}, bad
	}
	for i, o := range ord {
		switch o.f.Type {
		case Int, DateTime:
			n, ok := t.Values[i].(json.Number)
			if !ok {
				return skipToken{}, bad
			}
			v, err := n.Int64()
			if err != nil {
				return skipToken{}, bad
			}
			t.Values[i] = v
		case Decimal:
			n, ok := t.Values[i].(json.Number)
			if !ok {
				return skipToken{}, bad
			}
			v, err := n.Float64()
			if err != nil {
				return skipToken{}, bad
			}
			t.Values[i] = v
		default:
			if _, ok := t.Values[i].(string); !ok {
				return skipToken{}, bad
			}
		}
	}
	return t, nil
}

// RecordValue converts v, a value of f as Page.Rows holds it with Query.Stored, to the Record
// representation.
func RecordValue(f Field, v any) any { return fromSQL(f, v) }

// stored returns a scanned SQLite value of f as Page.Rows holds it with Query.Stored: an int64
// for an Int or DateTime field, a string for the others. The driver gives no other type for
// the store's columns (each is NOT NULL and written by the store); one would read as fromSQL
// reads it.
func stored(f Field, v any) any {
	switch f.Type {
	case Int, DateTime:
		if _, ok := v.(int64); ok {
			return v
		}
		return int64(0)
	}
	if _, ok := v.(string); ok {
		return v
	}
	return asString(v)
}

// fromSQL converts a scanned SQLite value to the Record representation of f.
func fromSQL(f Field, v any) any {
	switch f.Type {
	case Int:
		if _, ok := v.(int64); ok {
			return v // as it is: boxing it again would allocate
		}
		return int64(0)
	case DateTime:
		n, _ := v.(int64)
		return time.UnixMicro(n).UTC()
	case Decimal:
		return json.Number(asString(v))
	}
	if _, ok := v.(string); ok {
		return v
	}
	return asString(v)
}

// dbValue converts a Record value to what its column stores: decimals as their exact text,
// date-times as microseconds.
func dbValue(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UnixMicro()
	case json.Number:
		return string(v)
	}
	return v
}

// toSQL converts a Record value of f to an SQL parameter for comparisons with column(f).
func toSQL(f Field, v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UnixMicro()
	case json.Number:
		if f.Type == Decimal {
			// Comparisons and order use the numeric value; see column.
			x, _ := strconv.ParseFloat(string(v), 64)
			return x
		}
		return string(v)
	}
	return v
}

func asString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// scanRecord reads one full row of t.
func scanRecord(row *sql.Row, t *Table) (Record, error) {
	raw := make([]any, len(t.Fields))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := row.Scan(ptrs...); err != nil {
		return nil, err
	}
	r := make(Record, len(t.Fields))
	for i, f := range t.Fields {
		r[f.Name] = fromSQL(f, raw[i])
	}
	return r, nil
}
