package d365

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/store"
)

func TestBadRecordsAreRejectedOneByOne(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	c := s.client(t, nil)
	_, _, end, _ := readAll(t, c.Products, erp.ReadRequest{PageSize: 500}, false)

	stamp := end.Modified.Add(time.Second)
	product := func(item, name string, price json.Number) []any {
		return []any{"usmf", item, item, name, "", "", "Product", "", "", "ea", price, "USD", "", stamp}
	}
	err := s.store.Load(context.Background(), func(l *store.Loader) error {
		for _, vals := range [][]any{
			product("", "No item number", "1"),
			product("BAD-UTF8", "Caf\xe9 chair", "1"),
			product("BAD-DEC", "Exponent price", "1E3"),
			product("BAD-CUR", "Foreign price", "1"),
			product("GOOD-1", "Good chair", "19.99"),
			product("GOOD-2", "Good desk", "0.125"),
		} {
			if err := l.Insert(store.ReleasedProducts, vals...); err != nil {
				return err
			}
		}
		return l.Insert(store.SalesPriceAgreements, "usmf", int64(999_999), "Table", "BAD-CUR", "", "", "", "",
			"All", "", "", "us$", json.Number("5"), "ea", json.Number("1"), json.Number("0"), store.NoDateFrom, store.NoDateTo, "No", stamp)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A page size that splits the bad records over pages: each page goes on past them.
	got, rejected, next, _ := readAll(t, c.Products, erp.ReadRequest{After: end, PageSize: 4}, false)
	var items []string
	for _, p := range got {
		items = append(items, p.ItemNumber)
	}
	if !slices.Equal(items, []string{"GOOD-1", "GOOD-2"}) {
		t.Errorf("records %v, want GOOD-1 and GOOD-2", items)
	}
	if got[0].SalesPrice != "19.99" || got[1].SalesPrice != "0.125" {
		t.Errorf("prices %s, %s", got[0].SalesPrice, got[1].SalesPrice)
	}
	want := map[string]string{
		"":         "ItemNumber: the key is missing",
		"BAD-UTF8": "ProductName",
		"BAD-DEC":  "SalesPrice",
		"BAD-CUR":  `PriceCurrencyCode: "us$" is not a currency code`,
	}
	if len(rejected) != len(want) {
		t.Errorf("%d rejections, want %d: %+v", len(rejected), len(want), rejected)
	}
	for _, r := range rejected {
		if w, ok := want[r.Key]; !ok || !strings.Contains(r.Reason, w) || r.Entity != erp.Products || r.Company != "usmf" || !json.Valid(r.Raw) {
			t.Errorf("rejection %+v (raw %s): want reason with %q", r, r.Raw, w)
		}
		t.Logf("rejected %q: %s", r.Key, r.Reason)
	}
	if next.Modified != stamp || next.Key != "GOOD-2" {
		t.Errorf("cursor %v does not move past the bad records", next)
	}
}

func TestDeletions(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	c := s.client(t, nil)
	none, _, _, _ := readAll(t, c.Deletions, erp.ReadRequest{}, false)
	if len(none) != 0 {
		t.Fatalf("%d deletions in a fresh catalog", len(none))
	}
	type del struct {
		e       erp.Entity
		company string
		key     string
	}
	want := map[del]bool{}
	products := s.rows(t, store.ReleasedProducts)
	custs := s.rows(t, store.Customers)
	contacts := s.rows(t, store.ContactPersons)
	reps := s.rows(t, store.SalesRepresentatives)
	var stamps []time.Time
	discounts := s.rows(t, store.SalesLineDiscountAgreements)
	for _, r := range []store.Record{products[3], products[len(products)-1]} {
		stamps = append(stamps, s.write(t, func(tx *store.Tx) error { return tx.Delete(store.ReleasedProducts, s.keyOf(store.ReleasedProducts, r)) }))
		want[del{erp.Products, sv(r, "dataAreaId"), sv(r, "ItemNumber")}] = true
		// Its own line discounts go with it; line discounts are roots (of the group and
		// all-items lines), so the log names them as such.
		for _, d := range discounts {
			if sv(d, "ItemCode") == "Table" && ck(d, "ItemNumber") == ck(r, "ItemNumber") {
				want[del{erp.LineDiscounts, sv(d, "dataAreaId"), fmt.Sprint(d["RecordId"])}] = true
			}
		}
	}
	// A category and a line discount for an item group: roots of their own.
	cat := s.rows(t, store.ProductCategories)[4]
	stamps = append(stamps, s.write(t, func(tx *store.Tx) error {
		return tx.Delete(store.ProductCategories, s.keyOf(store.ProductCategories, cat))
	}))
	want[del{erp.Categories, sv(cat, "dataAreaId"), sv(cat, "CategoryId")}] = true
	for _, d := range discounts {
		if sv(d, "ItemCode") == "GroupId" {
			stamps = append(stamps, s.write(t, func(tx *store.Tx) error {
				return tx.Delete(store.SalesLineDiscountAgreements, s.keyOf(store.SalesLineDiscountAgreements, d))
			}))
			want[del{erp.LineDiscounts, sv(d, "dataAreaId"), fmt.Sprint(d["RecordId"])}] = true
			break
		}
	}
	cu := custs[5]
	stamps = append(stamps, s.write(t, func(tx *store.Tx) error { return tx.Delete(store.Customers, s.keyOf(store.Customers, cu)) }))
	want[del{erp.Customers, sv(cu, "dataAreaId"), sv(cu, "CustomerAccount")}] = true
	for _, ct := range contacts { // deleting a customer deletes its contacts
		if ck(ct, "CustomerAccount") == ck(cu, "CustomerAccount") {
			want[del{erp.Contacts, sv(ct, "dataAreaId"), sv(ct, "ContactPersonId")}] = true
		}
	}
	rep := reps[len(reps)-1]
	stamps = append(stamps, s.write(t, func(tx *store.Tx) error {
		return tx.Delete(store.SalesRepresentatives, s.keyOf(store.SalesRepresentatives, rep))
	}))
	want[del{erp.SalesReps, sv(rep, "dataAreaId"), sv(rep, "PersonnelNumber")}] = true
	// Deleting a child writes no log row for a root.
	tr := s.rows(t, store.ProductTranslations)[0]
	s.write(t, func(tx *store.Tx) error {
		return tx.Delete(store.ProductTranslations, s.keyOf(store.ProductTranslations, tr))
	})

	got, rejected, next, _ := readAll(t, c.Deletions, erp.ReadRequest{PageSize: 2}, false)
	if len(rejected) != 0 {
		t.Errorf("rejected: %+v", rejected)
	}
	seen := map[del]bool{}
	for _, d := range got {
		k := del{d.Entity, d.Company, d.Key}
		if seen[k] || !want[k] {
			t.Errorf("unexpected or repeated deletion %+v", d)
		}
		seen[k] = true
		if d.At.Before(stamps[0]) || d.At.After(stamps[len(stamps)-1]) {
			t.Errorf("deletion %+v at %v, outside the deletes", d, d.At)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("read %d deletions, want %d", len(seen), len(want))
	}
	if len(next.Key) != 20 || next.Company != "" {
		t.Errorf("deletion cursor %+v: want a 20-digit RecId key", next)
	}
	// Until bounds the log; continuing after the end reads nothing.
	upTo, _, _, _ := readAll(t, c.Deletions, erp.ReadRequest{Until: stamps[1]}, false)
	products2 := 0
	for _, d := range upTo {
		if d.Entity == erp.Products {
			products2++
		}
		if d.At.After(stamps[1]) {
			t.Errorf("deletion %+v after the bound %v", d, stamps[1])
		}
	}
	if products2 != 2 {
		t.Errorf("until the second delete: %d product deletions, want 2", products2)
	}
	if more, _, _, _ := readAll(t, c.Deletions, erp.ReadRequest{After: next}, false); len(more) != 0 {
		t.Errorf("after the end: %d deletions", len(more))
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	for _, companies := range [][]string{nil, {"demf"}} {
		c := s.client(t, func(c *Config) { c.Companies = companies })
		for e, kf := range map[erp.Entity]struct{ coll, field string }{
			erp.Products:      {"ReleasedProductsV2", "ItemNumber"},
			erp.Customers:     {"CustomersV3", "CustomerAccount"},
			erp.Contacts:      {"ContactPersonsV2", "ContactPersonId"},
			erp.SalesReps:     {"SalesRepresentatives", "PersonnelNumber"},
			erp.Categories:    {"ProductCategories", "CategoryId"},
			erp.LineDiscounts: {"SalesLineDiscountAgreements", "RecordId"},
			erp.Activations:   {"PriceParameters", "Key"},
		} {
			var want []erp.Cursor
			for _, r := range s.rows(t, kf.coll) {
				if e == erp.LineDiscounts && sv(r, "ItemCode") == "Table" {
					continue // the products' own lines are not roots
				}
				if companies == nil || slices.Contains(companies, sv(r, "dataAreaId")) {
					want = append(want, erp.Cursor{Company: sv(r, "dataAreaId"), Key: fmt.Sprint(r[kf.field]), Modified: tv(r, "ModifiedDateTime")})
				}
			}
			// Numeric keys in number order, as the ERP sorts them.
			num := func(k string) int { n, _ := strconv.Atoi(k); return n }
			slices.SortFunc(want, func(a, b erp.Cursor) int {
				return cmp.Or(cmp.Compare(a.Company, b.Company), cmp.Compare(num(a.Key), num(b.Key)), cmp.Compare(a.Key, b.Key))
			})
			if len(want) == 0 {
				t.Fatalf("%s: no rows in the catalog", e)
			}
			var got []erp.Cursor
			req := erp.KeyRequest{Entity: e, PageSize: 37}
			for {
				p, err := c.Keys(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, p.Records...)
				req.After = p.Next
				if p.Done {
					break
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%s %v: %d keys, want %d", e, companies, len(got), len(want))
			}
			for i := range got {
				if got[i].Company != want[i].Company || got[i].Key != want[i].Key || !got[i].Modified.Equal(want[i].Modified) {
					t.Fatalf("%s key %d: %+v, want %+v", e, i, got[i], want[i])
				}
			}
		}
	}
	if _, err := s.client(t, nil).Keys(context.Background(), erp.KeyRequest{Entity: "orders"}); err == nil {
		t.Error("an unknown entity must fail")
	}
}

func TestFieldNamesAreConfigured(t *testing.T) {
	// The simulator's names are D365's: renaming a field to itself through the mapping, and a
	// collection to its own name, must read the same as the defaults. A mapping to a name the
	// service lacks fails with the service's message (see TestErrorsAreClassified).
	s := newSim(t, generate.Config{Seed: 2, Companies: []string{"usmf"}, Products: 30, Customers: 5, SalesReps: 3})
	plain := s.client(t, nil)
	mapped := s.client(t, func(c *Config) {
		c.Names.Collections = map[string]string{collCustomers: collCustomers}
		c.Names.Fields = map[string]map[string]string{collCustomers: {"OrganizationName": "OrganizationName"}}
	})
	a, _, _, _ := readAll(t, plain.Customers, erp.ReadRequest{}, false)
	b, _, _, _ := readAll(t, mapped.Customers, erp.ReadRequest{}, false)
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	// 5 customers and the company's webshop template customer (US-WEB).
	if string(aj) != string(bj) || len(a) != 6 {
		t.Errorf("mapped read differs: %d and %d customers, want 6 each", len(a), len(b))
	}
	// Renamed fields come back under D365's names; the environment's own field of a renamed
	// field's D365 name is not it.
	coll := newCollection(collCustomers, "Kunden", map[string]string{"OrganizationName": "Name"})
	for _, body := range []string{
		`{"value":[{"Name":"Acme","dataAreaId":"usmf"}]}`,
		`{"value":[{"OrganizationName":"other","Name":"Acme","dataAreaId":"usmf"}]}`,
		`{"value":[{"Name":"Acme","OrganizationName":"other","dataAreaId":"usmf"}]}`,
	} {
		env, err := parseEnvelope(body)
		if err != nil {
			t.Fatal(err)
		}
		coll.rename(env.Rows)
		if rw := env.Rows[0]; rw.text("OrganizationName") != "Acme" || rw.get("Name").kind != kindAbsent || rw.text("dataAreaId") != "usmf" || rw.coll != collCustomers ||
			coll.f("OrganizationName") != "Name" || coll.f("dataAreaId") != "dataAreaId" {
			t.Errorf("mapping of %s: %+v", body, rw)
		}
	}
}

// TestUnreadableDeletionRowsAreRejected: a log row whose RecordKey names no one key is
// rejected with its RecId, its RecordKey as the key and the row as sent, for the import to
// dead-letter; the rows around it are read and the cursor moves past it.
func TestUnreadableDeletionRowsAreRejected(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	c := s.client(t, nil)
	stamp := time.Now().UTC().Truncate(time.Microsecond)
	err := s.store.Load(context.Background(), func(l *store.Loader) error {
		for _, r := range []struct {
			id  int64
			key string
		}{{900001, "ItemNumber='GONE-1'"}, {900002, "ItemNumber='1',LanguageId='de'"}, {900003, "ItemNumber='GONE-3'"}} {
			if err := l.Insert(store.DeletedRecords, "usmf", r.id, "ReleasedProductsV2", r.key, stamp, stamp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, rejected, next, _ := readAll(t, c.Deletions, erp.ReadRequest{PageSize: 2}, false)
	if len(got) != 2 || got[0].Key != "GONE-1" || got[1].Key != "GONE-3" {
		t.Fatalf("deletions %+v, want GONE-1 and GONE-3", got)
	}
	if len(rejected) != 1 {
		t.Fatalf("rejected %+v, want the one row", rejected)
	}
	r := rejected[0]
	if r.Entity != erp.Products || r.Company != "usmf" || r.Key != "ItemNumber='1',LanguageId='de'" ||
		!strings.Contains(r.Reason, "RecId 900002") || !strings.Contains(r.Reason, "RecordKey") || !strings.Contains(string(r.Raw), "900002") {
		t.Fatalf("rejection %+v (raw %s)", r, r.Raw)
	}
	if next.Key != recIDKey(900003) {
		t.Fatalf("cursor %+v, want past the last row", next)
	}
}
