package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/erpsync/erpsync/erpsim/odata"
)

// itemNumbers runs a filter over the fixture's products and returns the matching item numbers.
func itemNumbers(t *testing.T, s *Store, table, filter string, company string) ([]string, error) {
	t.Helper()
	q := Query{Table: table, Top: -1, PageSize: 1000, Company: company, OrderBy: []odata.OrderKey{{Field: "ItemNumber"}}}
	if filter != "" {
		e, err := odata.ParseFilter(filter)
		if err != nil {
			return nil, err
		}
		q.Filter = e
	}
	page, err := s.Query(context.Background(), q)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(page.Fields, func(f Field) bool { return f.Name == "ItemNumber" })
	var out []string
	for _, row := range page.Rows {
		out = append(out, row[i].(string))
	}
	return out, nil
}

func TestFilterSemantics(t *testing.T) {
	s := fixture(t)
	tests := []struct {
		filter string
		want   string // comma-separated item numbers
	}{
		{"ItemNumber eq 'P1'", "P1"},
		{"ItemNumber ne 'P1'", "P2,P3"},
		{"ItemNumber gt 'P1' and ItemNumber le 'P3'", "P2,P3"},
		{"not (ItemNumber eq 'P1' or ItemNumber eq 'P2')", "P3"},
		{"ItemNumber in ('P1','P3','nope')", "P1,P3"},
		{"dataAreaId eq 'demf'", "P3"},
		{"SalesPrice eq 10", "P1,P2,P3"},
		{"SalesPrice gt 10.001", ""},
		{"SalesPrice ge 9.999 and SalesPrice lt 10.5", "P1,P2,P3"},
		{"ProductName eq 'Product P2'", "P2"},
		{"contains(ProductName,'t P')", "P1,P2,P3"},
		{"startswith(ItemNumber,'P2')", "P2"},
		{"ModifiedDateTime gt 2000-01-01T00:00:00Z", "P1,P2,P3"},
		{"ModifiedDateTime lt 2000-01-01", ""},
		{"ItemNumber eq null", ""},
		{"ItemNumber ne null and true", "P1,P2,P3"},
		{"'P2' lt ItemNumber", "P3"},
		{"ProductName eq 'it''s'", ""},
		{"ItemNumber eq ProductSearchName", ""},
	}
	for _, tc := range tests {
		got, err := itemNumbers(t, s, ReleasedProducts, tc.filter, "")
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%s: got %v, want %s", tc.filter, got, tc.want)
		}
	}
}

func TestFilterQuotesAreData(t *testing.T) {
	s := openTest(t)
	name := `O'Brien"; DROP TABLE x; --`
	mustWrite(t, s, func(tx *Tx) error {
		_, err := tx.Create(ReleasedProducts, Record{"ItemNumber": "Q1", "ProductName": name})
		return err
	})
	got, err := itemNumbers(t, s, ReleasedProducts, "ProductName eq "+odata.QuoteString(name), "usmf")
	if err != nil || strings.Join(got, ",") != "Q1" {
		t.Errorf("got %v, %v; want Q1", got, err)
	}
}

func TestFilterErrorsNameTheProblem(t *testing.T) {
	s := fixture(t)
	tests := []struct{ filter, want string }{
		{"Foo eq 1", `unknown field "Foo"`},
		{"ItemNumber eq 1", `field "ItemNumber" is a string`},
		{"SalesPrice eq 'x'", `field "SalesPrice" is a decimal`},
		{"ModifiedDateTime gt 'yesterday'", `field "ModifiedDateTime" is a date-time`},
		{"ItemNumber", `field "ItemNumber" at position 0 is not a condition`},
		{"'a' eq 'b'", "needs a field"},
		{"ItemNumber gt null", "null can only be compared"},
		{"contains(SalesPrice,'1')", "needs a string field"},
		{"ItemNumber in (1,2)", `field "ItemNumber" is a string`},
		{"Bar in ('a')", `unknown field "Bar"`},
	}
	for _, tc := range tests {
		_, err := itemNumbers(t, s, ReleasedProducts, tc.filter, "")
		if KindOf(err) != Invalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want an Invalid error containing %q", tc.filter, err, tc.want)
		}
	}
}

func TestQueryPagingOrderAndCount(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	mustWrite(t, s, func(tx *Tx) error {
		for i := range 25 {
			co := []string{"usmf", "demf"}[i%2]
			if _, err := tx.Create(ReleasedProducts, Record{FieldCompany: co, "ItemNumber": fmt.Sprintf("I%02d", i), "ProductName": fmt.Sprintf("N%d", i%3)}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		name    string
		order   []odata.OrderKey
		company string
		top     int
		skip    int
		want    int
	}{
		{"default order, all companies", nil, "", -1, 0, 25},
		{"usmf only", nil, "usmf", -1, 0, 13},
		{"mixed directions", []odata.OrderKey{{Field: "ProductName", Desc: true}, {Field: "ItemNumber"}}, "", -1, 0, 25},
		{"descending", []odata.OrderKey{{Field: "ItemNumber", Desc: true}}, "", -1, 0, 25},
		{"top and skip across pages", []odata.OrderKey{{Field: "ItemNumber"}}, "", 11, 3, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := Query{Table: ReleasedProducts, OrderBy: tc.order, Company: tc.company, Top: tc.top, Skip: tc.skip, PageSize: 4, Count: true}
			full := q
			full.PageSize, full.Top, full.Skip = 1000, -1, 0
			all, err := s.Query(ctx, full)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]any
			for pages := 0; ; pages++ {
				page, err := s.Query(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if page.Count != all.Count {
					t.Errorf("count %d, want %d", page.Count, all.Count)
				}
				got = append(got, page.Rows...)
				if page.Next == "" {
					break
				}
				if pages > 20 {
					t.Fatal("paging does not end")
				}
				q.After = page.Next
			}
			want := all.Rows[min(tc.skip, len(all.Rows)):]
			if len(want) > tc.want {
				want = want[:tc.want]
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("pages gave\n%v\nwant\n%v", got, want)
			}
		})
	}
	if _, err := s.Query(ctx, Query{Table: ReleasedProducts, PageSize: 4, Top: -1, After: "garbage"}); KindOf(err) != Invalid {
		t.Errorf("bad skiptoken: %v, want Invalid", err)
	}
	if _, err := s.Query(ctx, Query{Table: ReleasedProducts, PageSize: 4, Select: []string{"Nope"}}); KindOf(err) != Invalid {
		t.Errorf("bad select: %v, want Invalid", err)
	}
	if _, err := s.Query(ctx, Query{Table: ReleasedProducts, PageSize: 4, OrderBy: []odata.OrderKey{{Field: "Nope"}}}); KindOf(err) != Invalid {
		t.Errorf("bad orderby: %v, want Invalid", err)
	}
}

// TestStoredPagesHoldTheSameRecords: a page read with Query.Stored holds the values of the
// page read without it, as RecordValue converts them, and continues with the same token, in
// every collection and orders by keys, date-times and decimals.
func TestStoredPagesHoldTheSameRecords(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	for _, tb := range s.Schema().Tables {
		orders := [][]odata.OrderKey{nil, {{Field: FieldModified, Desc: true}}}
		for _, f := range tb.Fields {
			if f.Type == Decimal {
				orders = append(orders, []odata.OrderKey{{Field: f.Name}})
				break
			}
		}
		for _, order := range orders {
			q := Query{Table: tb.Name, OrderBy: order, Top: -1, PageSize: 3}
			for pages := 0; ; pages++ {
				want, err := s.Query(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				stored := q
				stored.Stored = true
				got, err := s.Query(ctx, stored)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Rows) != len(want.Rows) || got.Next != want.Next {
					t.Fatalf("%s by %v: %d rows and next %q stored, want %d and %q", tb.Name, order, len(got.Rows), got.Next, len(want.Rows), want.Next)
				}
				for i, row := range got.Rows {
					for j, f := range got.Fields {
						if v := RecordValue(f, row[j]); v != want.Rows[i][j] {
							t.Fatalf("%s by %v: %s = %#v stored, reads as %#v, want %#v", tb.Name, order, f.Name, row[j], v, want.Rows[i][j])
						}
					}
				}
				if want.Next == "" || pages > 100 {
					break
				}
				q.After = want.Next
			}
		}
	}
}

// TestKeysetQueryUsesIndex checks that the connector's keyset filter seeks the paging index
// rather than scanning the table, so a page costs the same anywhere in a large table.
func TestKeysetQueryUsesIndex(t *testing.T) {
	s := openTest(t)
	for _, tc := range []struct{ company, order string }{
		{"", `"ModifiedDateTime", "dataAreaId", "ItemNumber"`},
		{"usmf", `"ModifiedDateTime", "ItemNumber"`},
	} {
		where := `("ModifiedDateTime" > ? OR ("ModifiedDateTime" = ? AND "ItemNumber" > ?)) AND "ModifiedDateTime" >= ?`
		args := []any{1, 1, "k", 1}
		if tc.company != "" {
			where = `"dataAreaId" = ? AND ` + where
			args = append([]any{tc.company}, args...)
		}
		rows, err := s.db.Query(`EXPLAIN QUERY PLAN SELECT * FROM "ReleasedProductsV2" WHERE `+where+` ORDER BY `+tc.order+` LIMIT 10`, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "USING INDEX") || !strings.Contains(p, "ModifiedDateTime>?") && !strings.Contains(p, "ModifiedDateTime>") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("company %q: plan %q does not seek the paging index in order", tc.company, p)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{
		"ItemNumber eq '1000'",
		"ModifiedDateTime gt 2026-01-02T03:04:05.123456Z or (ModifiedDateTime eq 2026-01-02T03:04:05.123456Z and ItemNumber gt 'K')",
		"dataAreaId eq 'usmf' and ItemNumber in ('1000','1001')",
		"not (SalesPrice ge 10.5) and SalesPrice lt 1e3",
		"contains(ProductName,'it''s')",
		"ProductName eq null or true",
		"((((ItemNumber eq 'a'))))",
		"ModifiedDateTime lt 2026-01-02",
		"dataAreaId eq 'usmf' and ItemNumber in ('P1','P2') and Barcode ne 'x'",
	} {
		f.Add(seed)
	}
	s := fixture(f)
	f.Fuzz(func(t *testing.T, filter string) {
		e, err := odata.ParseFilter(filter)
		if err != nil {
			var se *odata.SyntaxError
			if !errors.As(err, &se) || se.Msg == "" {
				t.Fatalf("ParseFilter(%q): %v is not a SyntaxError with a message", filter, err)
			}
			return
		}
		// Products take the paging path; bar codes also the foreign-key index hint.
		for _, table := range []string{ReleasedProducts, ProductBarcodes} {
			_, err = s.Query(context.Background(), Query{Table: table, Filter: e, Top: 5, PageSize: 5, Company: "usmf",
				OrderBy: []odata.OrderKey{{Field: "ModifiedDateTime"}, {Field: "ItemNumber"}}})
			if err != nil && KindOf(err) != Invalid {
				t.Fatalf("Query(%s, %q): %v is not a client error", table, filter, err)
			}
		}
	})
}

func TestIndexHint(t *testing.T) {
	s := openTest(t)
	barcodes, _ := s.Schema().Table(ProductBarcodes)
	translations, _ := s.Schema().Table(ProductTranslations)
	for _, tc := range []struct {
		table   *Table
		filter  string
		company string
		want    string
	}{
		{barcodes, "ItemNumber in ('1','2')", "usmf", ` INDEXED BY "ProductBarcodes_2"`},
		{barcodes, "dataAreaId eq 'usmf' and ItemNumber eq '1'", "", ` INDEXED BY "ProductBarcodes_2"`},
		{barcodes, "ItemNumber in ('1','2')", "", ""},                 // no company: the index cannot seek
		{barcodes, "ItemNumber eq '1' or Barcode eq 'x'", "usmf", ""}, // not a conjunct
		{barcodes, "dataAreaId eq 'usmf' and Barcode eq 'x'", "", ""}, // the key serves it
		{translations, "ItemNumber in ('1','2')", "usmf", ""},         // the key leads with ItemNumber
		{barcodes, "not (ItemNumber eq '1')", "usmf", ""},
	} {
		e, err := odata.ParseFilter(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := indexHint(tc.table, Query{Filter: e, Company: tc.company}); got != tc.want {
			t.Errorf("%s %q company %q: hint %q, want %q", tc.table.Name, tc.filter, tc.company, got, tc.want)
		}
	}
}

// TestAPartitionBoundaryReadsOneIndexInKeyOrder: a rebuild's plan reads the key k roots into a
// company ($filter on the company and the run's bound, $orderby key, $select key, $skip k-1,
// $top 1). The store answers it from one index in key order, without reading the rows or
// sorting them: a boundary then costs SQLite a walk of k index entries. The planner has the
// statistics that analyze's sampling gave a generated catalog of 100,000 products (3
// companies): with them, and no hint, SQLite took the company's rows by the paging index and
// sorted them.
func TestAPartitionBoundaryReadsOneIndexInKeyOrder(t *testing.T) {
	s := fixture(t)
	products, _ := s.Schema().Table(ReleasedProducts)
	keyIdx, _ := keyIndex(products)
	stats := map[string]string{
		indexName(products, 0): "100000 334 334 1", indexName(products, 1): "100000 1001 334 1",
		indexName(products, 2): "100000 1001 1001", indexName(products, 3): "100000 3", keyIdx: "100000 1001 1 1",
		"sqlite_autoindex_ReleasedProductsV2_1": "100000 1001 1",
	}
	if _, err := s.db.Exec("ANALYZE"); err != nil {
		t.Fatal(err)
	}
	for idx, stat := range stats {
		if _, err := s.db.Exec("UPDATE sqlite_stat1 SET stat = ? WHERE tbl = ? AND idx = ?", stat, ReleasedProducts, idx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.Exec("ANALYZE sqlite_schema"); err != nil { // the planner loads them again
		t.Fatal(err)
	}
	filter, err := odata.ParseFilter("dataAreaId eq 'usmf' and ModifiedDateTime le 2100-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Query(context.Background(), Query{Table: ReleasedProducts, Filter: filter, Select: []string{"ItemNumber"},
		OrderBy: []odata.OrderKey{{Field: "ItemNumber"}}, Skip: 1, Top: 1, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 1 || p.Rows[0][0] != "P2" {
		t.Fatalf("rows %v, want the second key of usmf, P2", p.Rows)
	}
	var query string
	s.stmtMu.Lock()
	prepared := slices.Collect(maps.Keys(s.stmts))
	for q := range s.stmts {
		if strings.HasPrefix(q, `SELECT "ItemNumber", "dataAreaId" FROM "ReleasedProductsV2"`) {
			query = q
		}
	}
	s.stmtMu.Unlock()
	if query == "" {
		t.Fatalf("the boundary's query was not prepared: %q", prepared)
	}
	rows, err := s.db.Query("EXPLAIN QUERY PLAN "+query, make([]any, strings.Count(query, "?"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "COVERING INDEX "+keyIdx) || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("%s\nplan %q: want one covering index in key order, no sort", query, p)
	}
}

// Concurrent reads of a database file reuse the Store's connections: none is closed and opened
// again between reads, which would prepare each cached statement again on the new one.
func TestConcurrentReadsKeepTheirConnections(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "erp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustWrite(t, s, func(tx *Tx) error {
		for i := range 50 {
			if _, err := tx.Create(ReleasedProducts, Record{FieldCompany: "usmf", "ItemNumber": fmt.Sprintf("P%02d", i), "ProductName": "Product"}); err != nil {
				return err
			}
		}
		return nil
	})
	var wg sync.WaitGroup
	errs := make(chan error, maxConns)
	for range maxConns {
		wg.Go(func() {
			for i := range 50 {
				got, err := itemNumbers(t, s, ReleasedProducts, fmt.Sprintf("ItemNumber ge 'P%02d'", i), "usmf")
				if err != nil || len(got) != 50-i {
					errs <- fmt.Errorf("read %d: %d rows, %v", i, len(got), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.db.Stats(); st.MaxIdleClosed > 0 || st.OpenConnections > maxConns {
		t.Errorf("%d connections closed as idle, %d open: want none closed, at most %d open", st.MaxIdleClosed, st.OpenConnections, maxConns)
	}
}
