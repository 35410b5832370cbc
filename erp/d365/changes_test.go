package d365

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/store"
)

// changed reads every collection of e's model by its own stamps after after, up to until, in
// pages of size, and returns the roots the changed rows affect. Held values are looked up in
// held (what the index would answer: the documents of the read before the changes), company-wide
// rows in all. It returns the number of requests too.
func changed(t *testing.T, c *Client, e erp.Entity, after erp.Cursor, size int, held func(erp.Held) []companyKey, all func(company string) []companyKey) (map[companyKey]bool, int) {
	t.Helper()
	m, _ := erp.Model(e)
	out := map[companyKey]bool{}
	requests := 0
	for _, coll := range m.Collections() {
		req := erp.ChangeRequest{Entity: e, Collection: coll, After: after, PageSize: size}
		for pages := 0; ; pages++ {
			if pages > 1000 {
				t.Fatalf("%s: no end after 1000 pages", coll)
			}
			ch, err := c.Changes(context.Background(), req)
			if err != nil {
				t.Fatalf("changes of %s: %v", coll, err)
			}
			requests += ch.Requests
			for _, r := range ch.Roots {
				out[companyKey{r.Company, r.Key}] = true
			}
			for _, h := range ch.Held {
				for _, k := range held(h) {
					out[k] = true
				}
			}
			for _, co := range ch.Companies {
				for _, k := range all(co) {
					out[k] = true
				}
			}
			if ch.Done {
				break
			}
			if !req.After.Less(ch.Next) {
				t.Fatalf("%s: the cursor did not move: %s then %s", coll, req.After, ch.Next)
			}
			req.After = ch.Next
		}
	}
	return out, requests
}

func keysOf(m map[companyKey]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k.String())
	}
	slices.Sort(out)
	return out
}

// TestChangesFindTheRootsOfEveryChangedRow: in an ERP that stamps only the rows that change and
// logs no deletes (stock D365), reading every collection of the model by its own stamps finds
// the roots an ERP add-on would have bumped for every edit and create: through links, link
// collections (a category's products, a sales group's representatives), company-wide rows and
// the index (the representatives of a customer's old sales group). A child's delete leaves no
// stamp: that is the audit's job. Lookup of those roots reads them as the ERP has them.
func TestChangesFindTheRootsOfEveryChangedRow(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	s.store.SetBehaviour(store.Behaviour{NoBumps: true, NoDeletionLog: true})
	c := s.client(t, nil)
	before := readEverything(t, c, nil, 200, false)
	mark := s.store.Clock().Next()
	ed := editEveryKind(t, s)
	for k := range ed.byDelete {
		delete(ed.products, k)
	}
	// The line discount for all items that became one item's: the index holds it among the
	// line discounts, so the changes ask for it (and its re-read finds it gone).
	ed.lineDiscounts[ed.movedDiscount] = true

	// The index, as the read before the changes left it.
	held := func(h erp.Held) []companyKey {
		var out []companyKey
		for _, p := range before.products {
			if p.Company != h.Company {
				continue
			}
			hit := false
			switch h.Field {
			case "barcodes":
				for _, b := range p.Barcodes {
					hit = hit || slices.Contains(h.Values, b.Barcode)
				}
			case "prices.rec_id":
				for _, l := range p.Prices {
					hit = hit || slices.Contains(h.Values, strconv.FormatInt(l.RecID, 10))
				}
			case "line_discounts.rec_id":
				for _, l := range p.LineDiscounts {
					hit = hit || slices.Contains(h.Values, strconv.FormatInt(l.RecID, 10))
				}
			}
			if hit {
				out = append(out, productKey(p))
			}
		}
		for _, r := range before.salesReps {
			if h.Field == "customers" && r.Company == h.Company && slices.ContainsFunc(r.Customers, func(a string) bool { return slices.Contains(h.Values, a) }) {
				out = append(out, salesRepKey(r))
			}
		}
		for _, d := range before.lineDiscounts {
			if h.Field == "key" && d.Company == h.Company && slices.Contains(h.Values, lineDiscountKey(d).key) {
				out = append(out, lineDiscountKey(d))
			}
		}
		return out
	}
	all := func(co string) []companyKey {
		var out []companyKey
		for _, p := range before.products {
			if p.Company == co {
				out = append(out, productKey(p))
			}
		}
		return out
	}
	after := erp.Cursor{Modified: mark}
	w := s.want(t)
	for _, tc := range []struct {
		e    erp.Entity
		want map[companyKey]bool
	}{{erp.Products, ed.products}, {erp.Customers, ed.customers}, {erp.Contacts, ed.contacts}, {erp.SalesReps, ed.reps},
		{erp.Categories, ed.categories}, {erp.LineDiscounts, ed.lineDiscounts}, {erp.Activations, ed.activations}} {
		got, _ := changed(t, c, tc.e, after, 7, held, all)
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: changes found %d roots %v,\nwant %d %v", tc.e, len(got), keysOf(got), len(tc.want), keysOf(tc.want))
		}
		var refs []erp.Ref
		for k := range got {
			refs = append(refs, erp.Ref{Entity: tc.e, Company: k.company, Key: k.key})
		}
		p, err := c.Lookup(context.Background(), tc.e, refs)
		if err != nil {
			t.Fatal(err)
		}
		wantMissing := 0
		if tc.e == erp.LineDiscounts {
			wantMissing = 1 // the line that became one item's
			delete(got, ed.movedDiscount)
		}
		if len(p.Missing) != wantMissing || len(p.Rejected) != 0 {
			t.Errorf("%s lookup: missing %v, rejected %v", tc.e, p.Missing, p.Rejected)
		}
		switch tc.e {
		case erp.Products:
			compare(t, "looked-up product", values[erp.Product](p.Records), only(w.products, got), productKey)
		case erp.Customers:
			compare(t, "looked-up customer", values[erp.Customer](p.Records), only(w.customers, got), customerKey)
		case erp.Contacts:
			compare(t, "looked-up contact", values[erp.Contact](p.Records), only(w.contacts, got), contactKey)
		case erp.SalesReps:
			compare(t, "looked-up sales rep", values[erp.SalesRep](p.Records), only(w.salesReps, got), salesRepKey)
		case erp.Categories:
			compare(t, "looked-up category", values[erp.Category](p.Records), only(w.categories, got), categoryKey)
		case erp.LineDiscounts:
			compare(t, "looked-up line discount", values[erp.LineDiscountAgreement](p.Records), only(w.lineDiscounts, got), lineDiscountKey)
		case erp.Activations:
			compare(t, "looked-up activation", values[erp.Activation](p.Records), only(w.activations, got), activationKey)
		}
	}

	// Read to the end, then once more: a collection without changes costs one request.
	for _, e := range erp.Entities {
		m, _ := erp.Model(e)
		end := erp.Cursor{Modified: s.store.Clock().Next()}
		got, requests := changed(t, c, e, end, 50, held, all)
		if len(got) != 0 || requests != len(m.Collections()) {
			t.Errorf("%s with nothing changed: %d roots in %d requests, want none in %d (one per collection)", e, len(got), requests, len(m.Collections()))
		}
	}
}

func values[T any](rs []erp.Record) []T {
	out := make([]T, len(rs))
	for i, r := range rs {
		out[i] = r.Value.(T)
	}
	return out
}

// TestChangesOfRowsSharingOneStamp: many rows of a collection with a key of several fields
// committed in one transaction share one stamp; pages of any size return each exactly once.
func TestChangesOfRowsSharingOneStamp(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	s.store.SetBehaviour(store.Behaviour{NoBumps: true, NoDeletionLog: true})
	c := s.client(t, nil)
	mark := s.store.Clock().Next()
	var items []string
	for _, r := range s.rows(t, store.ReleasedProducts) {
		if sv(r, "dataAreaId") == "usmf" {
			items = append(items, sv(r, "ItemNumber"))
		}
	}
	// One transaction: 3 languages of each usmf item, all stamped alike.
	s.write(t, func(tx *store.Tx) error {
		for _, it := range items {
			for _, l := range []string{"fr", "it", "es"} {
				if _, err := tx.Create(store.ProductTranslations, store.Record{"dataAreaId": "usmf", "ItemNumber": it, "LanguageId": l, "ProductName": it + " " + l}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	want := 3 * len(items)
	for _, size := range []int{1, 2, 7, want - 1, want, want + 1} {
		req := erp.ChangeRequest{Entity: erp.Products, Collection: store.ProductTranslations, After: erp.Cursor{Modified: mark}, PageSize: size}
		rows, roots := 0, map[string]bool{}
		seen := map[string]bool{}
		for {
			ch, err := c.Changes(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			rows += ch.Rows
			for _, r := range ch.Roots {
				roots[r.Key] = true
			}
			if ch.Rows > 0 {
				if seen[ch.Next.Key] {
					t.Fatalf("size %d: row %s twice", size, ch.Next.Key)
				}
				seen[ch.Next.Key] = true
				if !ch.Next.Modified.Equal(ch.Next.Modified.Truncate(time.Microsecond)) || ch.Next.Company != "usmf" {
					t.Fatalf("size %d: cursor %s", size, ch.Next)
				}
			}
			if ch.Done {
				break
			}
			req.After = ch.Next
		}
		if rows != want || len(roots) != len(items) {
			t.Errorf("page size %d: %d rows of %d roots, want %d rows of %d", size, rows, len(roots), want, len(items))
		}
	}
	if got := fmt.Sprint(erp.JoinKey([]string{"1000", "it's, \"x\""})); !strings.HasPrefix(got, "[") {
		t.Errorf("JoinKey of two fields = %s", got)
	}
}

// TestSharedRowsReachEveryCompanysRoots: a product-specific unit conversion belongs to no
// company (D365 keeps it on the shared product). Read by its own stamps it reaches the product's
// release in every configured company, and only those, with one more request; rows that share a
// stamp are read once each in pages of any size, ordered without a company. Its delete, which
// leaves no stamp in stock D365, changes the digest of every release: what the audit compares.
func TestSharedRowsReachEveryCompanysRoots(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSim(t, smallCatalog())
	s.store.SetBehaviour(store.Behaviour{NoBumps: true, NoDeletionLog: true})
	releases := map[string][]erp.Ref{}
	for _, r := range s.rows(t, store.ReleasedProducts) {
		n := sv(r, "ProductNumber")
		releases[n] = append(releases[n], erp.Ref{Entity: erp.Products, Company: sv(r, "dataAreaId"), Key: sv(r, "ItemNumber")})
	}
	var conv store.Record
	for _, r := range s.rows(t, store.ProductUnitOfMeasureConversions) {
		if len(releases[sv(r, "ProductNumber")]) == 3 {
			conv = r
			break
		}
	}
	if conv == nil {
		t.Fatal("no conversion of a product released by three companies")
	}
	number, refs := sv(conv, "ProductNumber"), releases[sv(conv, "ProductNumber")]
	all := s.client(t, nil)
	digests := func() map[erp.Ref]string {
		t.Helper()
		d, err := all.Digests(ctx, erp.Products, refs)
		if err != nil || len(d.Of) != 3 {
			t.Fatalf("digests: %v, %v", d.Of, err)
		}
		return d.Of
	}
	before := digests()

	mark := s.store.Clock().Next()
	s.write(t, func(tx *store.Tx) error {
		if _, err := tx.Update(store.ProductUnitOfMeasureConversions, s.keyOf(store.ProductUnitOfMeasureConversions, conv), store.Record{"Factor": json.Number("7")}); err != nil {
			return err
		}
		for _, unit := range []string{"bag", "crate", "dozen"} {
			if _, err := tx.Create(store.ProductUnitOfMeasureConversions, store.Record{"FromUnitSymbol": unit, "ToUnitSymbol": "ea", "ProductNumber": number}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		companies []string
		want      []string
	}{{nil, []string{"demf", "gbsi", "usmf"}}, {[]string{"GBSI", "demf"}, []string{"demf", "gbsi"}}} {
		c := s.client(t, func(c *Config) { c.Companies = tc.companies })
		for _, size := range []int{1, 3, 4, 5} {
			req := erp.ChangeRequest{Entity: erp.Products, Collection: store.ProductUnitOfMeasureConversions, After: erp.Cursor{Modified: mark}, PageSize: size}
			rows, seen, roots := 0, map[string]bool{}, map[erp.Ref]bool{}
			for pages := 0; ; pages++ {
				ch, err := c.Changes(ctx, req)
				if err != nil {
					t.Fatalf("companies %v, page size %d: %v", tc.companies, size, err)
				}
				if ch.Rows > 0 && (seen[ch.Next.Key] || ch.Next.Company != "") {
					t.Fatalf("companies %v, page size %d: cursor %s (read before: %v)", tc.companies, size, ch.Next, seen[ch.Next.Key])
				}
				seen[ch.Next.Key], rows = true, rows+ch.Rows
				if ch.Rows > 0 && ch.Requests != 2 {
					t.Errorf("companies %v, page size %d: %d requests for a page of changed rows, want 2 (the rows, their roots)", tc.companies, size, ch.Requests)
				}
				for _, r := range ch.Roots {
					roots[r] = true
				}
				if ch.Done {
					break
				}
				if pages > 10 {
					t.Fatal("no end")
				}
				req.After = ch.Next
			}
			var got []string
			for r := range roots {
				if r.Key != sv(conv, "ProductNumber") { // numbered like the product in the generated data
					t.Errorf("root %v: not a release of %s", r, number)
				}
				got = append(got, r.Company)
			}
			slices.Sort(got)
			if rows != 4 || !slices.Equal(got, tc.want) {
				t.Errorf("companies %v, page size %d: %d rows reaching %v, want 4 reaching %v", tc.companies, size, rows, got, tc.want)
			}
		}
	}

	edited := digests()
	s.write(t, func(tx *store.Tx) error {
		return tx.Delete(store.ProductUnitOfMeasureConversions, s.keyOf(store.ProductUnitOfMeasureConversions, conv))
	})
	after := digests()
	looked, err := all.Lookup(ctx, erp.Products, refs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range looked.Records {
		if before[r.Ref] == edited[r.Ref] || edited[r.Ref] == after[r.Ref] || after[r.Ref] != r.Digest {
			t.Errorf("%v: digests %s (before), %s (edited), %s (deleted), read whole %s: want each change to show, and the last two alike",
				r.Ref, before[r.Ref], edited[r.Ref], after[r.Ref], r.Digest)
		}
		var units []string
		for _, u := range r.Value.(erp.Product).UnitConversions {
			units = append(units, u.From)
		}
		if want := []string{"bag", "crate", "dozen"}; !slices.Equal(units, want) {
			t.Errorf("%v: conversions from %v, want %v", r.Ref, units, want)
		}
	}
}
