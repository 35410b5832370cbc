package store

import (
	"fmt"
	"strings"
	"sync"

	"github.com/erpsync/erpsync/erpsim/odata"
)

// A query whose $filter selects a company's rows of one kind ("dataAreaId eq 'usmf' and
// ItemCode eq 'All'") gets the same answer every time until something is written; a reader
// that asks it with every page of roots would otherwise scan the company's rows each time.
// queryCache keeps the pages of such queries, those
// whose $filter selects rows by equalities only (no ranges, no in lists: keyset pages and
// batch lookups are different every time), so that a read of a large catalog does not scan a
// company's rows once per page. Any write empties it.
type queryCache struct {
	mu    sync.Mutex
	gen   uint64 // bumped by every write
	pages map[string]*Page
}

// Bounds of the cache: the queries it holds and the rows of one page.
const (
	maxCachedQueries = 256
	maxCachedRows    = 10_000
)

// cacheKey names a query whose page may be kept: a first page whose $filter is equalities
// (eq, ne) of fields and literals, combined with and and or. ok is false for any other.
func cacheKey(q Query) (key string, ok bool) {
	if q.After != "" || q.Filter == nil {
		return "", false
	}
	var b strings.Builder
	if !writeEqualities(&b, q.Filter) {
		return "", false
	}
	fmt.Fprintf(&b, "\x00%s\x00%v\x00%q\x00%s\x00%d\x00%d\x00%t\x00%d\x00%t", q.Table, q.OrderBy, q.Select, q.Company, q.Top, q.Skip, q.Count, q.PageSize, q.Stored)
	return b.String(), true
}

// writeEqualities writes e to b when it is equalities only, and reports whether it was.
func writeEqualities(b *strings.Builder, e odata.Expr) bool {
	switch e := e.(type) {
	case *odata.Binary:
		switch e.Op {
		case odata.OpAnd, odata.OpOr, odata.OpEq, odata.OpNe:
		default:
			return false
		}
		b.WriteByte('(')
		if !writeEqualities(b, e.L) {
			return false
		}
		fmt.Fprintf(b, " %s ", e.Op)
		if !writeEqualities(b, e.R) {
			return false
		}
		b.WriteByte(')')
		return true
	case *odata.Ident:
		b.WriteString(e.Name)
		return true
	case *odata.Literal:
		fmt.Fprintf(b, "%s:%q", e.Kind, e.Text)
		return true
	}
	return false
}

// get returns the cached page of key and the generation to store a fresh one with.
func (c *queryCache) get(key string) (*Page, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pages[key], c.gen
}

// put keeps p for key, unless a write happened since gen (p may predate it) or p is large.
func (c *queryCache) put(key string, gen uint64, p *Page) {
	if len(p.Rows) > maxCachedRows {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.pages == nil || len(c.pages) >= maxCachedQueries {
		c.pages = map[string]*Page{}
	}
	c.pages[key] = p
}

// invalidate forgets every page: call it after a write is committed.
func (c *queryCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.pages = nil
	c.mu.Unlock()
}
