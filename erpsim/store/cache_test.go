package store

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/erpsync/erpsync/erpsim/odata"
)

func query(t *testing.T, s *Store, table, filter, after string) *Page {
	t.Helper()
	e, err := odata.ParseFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Query(context.Background(), Query{Table: table, Filter: e, Top: -1, PageSize: 1000, After: after})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCompanyWideRowsAreReadOnceUntilAWrite: a query by equalities only (a company's all-items
// lines, which a reader asks for with every page of products) is answered from the database
// once, then from the cache until a write, after which the new rows are read; keyset pages and
// in lists are always read.
func TestCompanyWideRowsAreReadOnceUntilAWrite(t *testing.T) {
	s := fixture(t)
	const all = "dataAreaId eq 'usmf' and ItemCode eq 'All'"
	discount := func(p *Page) string {
		for i, f := range p.Fields {
			if f.Name == "DiscountPercentage1" && len(p.Rows) == 1 {
				return string(p.Rows[0][i].(json.Number))
			}
		}
		t.Fatalf("want one all-items line, got %d", len(p.Rows))
		return ""
	}
	before := s.reads.Load()
	first := discount(query(t, s, SalesLineDiscountAgreements, all, ""))
	second := discount(query(t, s, SalesLineDiscountAgreements, all, ""))
	if reads := s.reads.Load() - before; reads != 1 || first != second {
		t.Fatalf("%d database reads for the same company-wide query twice (%s, %s), want 1", reads, first, second)
	}
	line := query(t, s, SalesLineDiscountAgreements, all, "")
	var id any
	for i, f := range line.Fields {
		if f.Name == "RecordId" {
			id = line.Rows[0][i]
		}
	}
	mustWrite(t, s, func(tx *Tx) error {
		_, err := tx.Update(SalesLineDiscountAgreements, Record{FieldCompany: "usmf", "RecordId": id}, Record{"DiscountPercentage1": json.Number("7")})
		return err
	})
	before = s.reads.Load()
	if got := discount(query(t, s, SalesLineDiscountAgreements, all, "")); got != "7" || s.reads.Load()-before != 1 {
		t.Fatalf("after a write: discount %s after %d reads, want 7 read again", got, s.reads.Load()-before)
	}
	before = s.reads.Load()
	for range 2 {
		query(t, s, ProductTranslations, "dataAreaId eq 'usmf' and ItemNumber in ('P1','P2')", "")
		query(t, s, ReleasedProducts, "ItemNumber gt 'P1'", "")
	}
	if reads := s.reads.Load() - before; reads != 4 {
		t.Fatalf("%d database reads for two in lists and two ranges twice, want 4", reads)
	}
}

// TestItemLinesAreFoundByTheirIndex: a lookup of a page's item lines uses the
// (dataAreaId, ItemNumber) index, not a walk of the company's lines (at 1,000,000 products a scan
// of millions of rows for every page).
func TestItemLinesAreFoundByTheirIndex(t *testing.T) {
	s := openTest(t)
	const filter = "dataAreaId eq 'usmf' and ItemCode eq 'Table' and ItemNumber in ('P1')"
	e, err := odata.ParseFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{SalesPriceAgreements, SalesLineDiscountAgreements} {
		tb, _ := s.Schema().Table(table)
		i := slices.IndexFunc(tb.Indexes, func(cols []string) bool { return cols[1] == "ItemNumber" })
		if hint := indexHint(tb, Query{Filter: e}); i < 0 || hint != " INDEXED BY "+quote(indexName(tb, 2+i)) {
			t.Errorf("%s where %s: hint %q, want the (dataAreaId, ItemNumber) index", table, filter, hint)
		}
	}
}
