package d365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/failure"
)

// fullRead reads every entity from the beginning.
type fullRead struct {
	products      []erp.Product
	customers     []erp.Customer
	contacts      []erp.Contact
	salesReps     []erp.SalesRep
	categories    []erp.Category
	lineDiscounts []erp.LineDiscountAgreement
	activations   []erp.Activation
	ends          map[erp.Entity]erp.Cursor
	requests      int
}

func readEverything(t testing.TB, c *Client, after map[erp.Entity]erp.Cursor, pageSize int, retry bool) fullRead {
	t.Helper()
	var f fullRead
	f.ends = map[erp.Entity]erp.Cursor{}
	var n int
	f.products, _, f.ends[erp.Products], n = readAll(t, c.Products, erp.ReadRequest{After: after[erp.Products], PageSize: pageSize}, retry)
	f.requests += n
	f.customers, _, f.ends[erp.Customers], n = readAll(t, c.Customers, erp.ReadRequest{After: after[erp.Customers], PageSize: pageSize}, retry)
	f.requests += n
	f.contacts, _, f.ends[erp.Contacts], n = readAll(t, c.Contacts, erp.ReadRequest{After: after[erp.Contacts], PageSize: pageSize}, retry)
	f.requests += n
	f.salesReps, _, f.ends[erp.SalesReps], n = readAll(t, c.SalesReps, erp.ReadRequest{After: after[erp.SalesReps], PageSize: pageSize}, retry)
	f.requests += n
	f.categories, _, f.ends[erp.Categories], n = readAll(t, c.Categories, erp.ReadRequest{After: after[erp.Categories], PageSize: pageSize}, retry)
	f.requests += n
	f.lineDiscounts, _, f.ends[erp.LineDiscounts], n = readAll(t, c.LineDiscounts, erp.ReadRequest{After: after[erp.LineDiscounts], PageSize: pageSize}, retry)
	f.requests += n
	f.activations, _, f.ends[erp.Activations], n = readAll(t, c.Activations, erp.ReadRequest{After: after[erp.Activations], PageSize: pageSize}, retry)
	f.requests += n
	return f
}

func categoryKey(c erp.Category) companyKey { return companyKey{c.Company, c.ID} }
func lineDiscountKey(d erp.LineDiscountAgreement) companyKey {
	return companyKey{d.Company, strconv.FormatInt(d.RecID, 10)}
}
func activationKey(a erp.Activation) companyKey { return companyKey{a.Company, "0"} }

func TestFullReadReturnsEveryRootOnceWithAllChildren(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	c := s.client(t, nil)
	got := readEverything(t, c, nil, 70, false)
	w := s.want(t)
	// 45 customers and each company's webshop template customer (US-WEB, DE-WEB, GB-WEB).
	if len(w.products) != 450 || len(w.customers) != 48 || len(w.contacts) != 90 || len(w.salesReps) != 15 {
		t.Fatalf("unexpected catalog size: %d products, %d customers, %d contacts, %d reps", len(w.products), len(w.customers), len(w.contacts), len(w.salesReps))
	}
	compare(t, "product", got.products, w.products, productKey)
	compare(t, "customer", got.customers, w.customers, customerKey)
	compare(t, "contact", got.contacts, w.contacts, contactKey)
	compare(t, "sales rep", got.salesReps, w.salesReps, salesRepKey)
	compare(t, "category", got.categories, w.categories, categoryKey)
	compare(t, "line discount", got.lineDiscounts, w.lineDiscounts, lineDiscountKey)
	compare(t, "activation", got.activations, w.activations, activationKey)
	if len(w.categories) == 0 || len(w.lineDiscounts) == 0 || len(w.activations) != 3 {
		t.Fatalf("the catalog has %d categories, %d group and all-items line discounts, %d activations", len(w.categories), len(w.lineDiscounts), len(w.activations))
	}

	// The catalog really has every child kind, across companies.
	kinds := map[string]int{}
	companies := map[string]bool{}
	for _, p := range got.products {
		companies[p.Company] = true
		for name, n := range map[string]int{"dimension values": len(p.DimensionValues), "variants": len(p.Variants),
			"translations": len(p.Translations), "attachments": len(p.Attachments), "categories": len(p.Categories),
			"related": len(p.Related), "barcodes": len(p.Barcodes), "prices": len(p.Prices), "line discounts": len(p.LineDiscounts)} {
			kinds[name] += n
		}
		if p.OrderSettings != nil {
			kinds["order settings"]++
		}
	}
	// (Sales prices are item specific, as in D365: the simulator has no "all items" price lines
	// any more, see docs/pricing.md.)
	for _, k := range []string{"dimension values", "variants", "translations", "attachments", "categories", "related", "barcodes", "prices", "line discounts", "order settings"} {
		if kinds[k] == 0 {
			t.Errorf("no %s read", k)
		}
	}
	if len(companies) != 3 {
		t.Errorf("products of %d companies, want 3", len(companies))
	}
	t.Logf("full read: %d products, %d customers, %d contacts, %d reps in %d requests; children %v",
		len(got.products), len(got.customers), len(got.contacts), len(got.salesReps), got.requests, kinds)
}

func TestCompaniesRestrictTheRead(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	w := s.want(t)
	for _, companies := range [][]string{{"DEMF"}, {"gbsi", "usmf"}} {
		c := s.client(t, func(c *Config) { c.Companies = companies })
		got, _, _, _ := readAll(t, c.Products, erp.ReadRequest{PageSize: 100}, false)
		keep := map[companyKey]bool{}
		for k := range w.products {
			for _, co := range companies {
				if strings.EqualFold(k.company, co) {
					keep[k] = true
				}
			}
		}
		compare(t, "product", got, only(w.products, keep), productKey)
	}
}

func TestIncrementalReadReturnsExactlyTheChangedRoots(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	c := s.client(t, nil)
	before := readEverything(t, c, nil, 200, false)

	ed := editEveryKind(t, s)
	after := readEverything(t, c, before.ends, 50, false)
	w := s.want(t)
	// An ERP add-on bumps the products a category or a group's line discount concerns: they are
	// read again (their documents stay as they were).
	compare(t, "changed product", after.products, only(w.products, union(ed.products, ed.bumpedOnly)), productKey)
	compare(t, "changed customer", after.customers, only(w.customers, ed.customers), customerKey)
	compare(t, "changed contact", after.contacts, only(w.contacts, ed.contacts), contactKey)
	compare(t, "changed sales rep", after.salesReps, only(w.salesReps, ed.reps), salesRepKey)
	compare(t, "changed category", after.categories, only(w.categories, ed.categories), categoryKey)
	compare(t, "changed line discount", after.lineDiscounts, only(w.lineDiscounts, ed.lineDiscounts), lineDiscountKey)
	compare(t, "changed activation", after.activations, only(w.activations, ed.activations), activationKey)
	t.Logf("changed: %d products (%d more bumped), %d customers, %d contacts, %d reps, %d categories, %d line discounts, %d activations",
		len(ed.products), len(ed.bumpedOnly), len(ed.customers), len(ed.contacts), len(ed.reps), len(ed.categories), len(ed.lineDiscounts), len(ed.activations))
	// The line discount that became one item's is gone from the line discounts, at its stamp.
	gone, _, _, _ := readAll(t, func(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.Deletion], error) {
		p, err := c.Read(ctx, erp.LineDiscounts, r)
		return erp.Page[erp.Deletion]{Records: p.Gone, Next: p.Next, Done: p.Done}, err
	}, erp.ReadRequest{After: before.ends[erp.LineDiscounts]}, false)
	// (Every other line met is one item's: never a root, its "gone" finds no document.)
	table := map[companyKey]bool{}
	for _, r := range s.rows(t, store.SalesLineDiscountAgreements) {
		table[companyKey{sv(r, "dataAreaId"), fmt.Sprint(r["RecordId"])}] = sv(r, "ItemCode") == "Table"
	}
	moved := false
	for _, g := range gone {
		k := companyKey{g.Company, g.Key}
		moved = moved || k == ed.movedDiscount
		if !table[k] {
			t.Errorf("gone from the line discounts: %v, which is not one item's line", k)
		}
	}
	if !moved {
		t.Errorf("gone from the line discounts: %+v, want %v among them", gone, ed.movedDiscount)
	}

	// Nothing more after the incremental read.
	again := readEverything(t, c, after.ends, 50, false)
	if n := len(again.products) + len(again.customers) + len(again.contacts) + len(again.salesReps) +
		len(again.categories) + len(again.lineDiscounts) + len(again.activations); n != 0 {
		t.Errorf("a read after the end returned %d roots", n)
	}
}

func TestRootsSharingOneTimestampAcrossPages(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	c := s.client(t, nil)
	_, _, end, _ := readAll(t, c.Products, erp.ReadRequest{PageSize: 500}, false)
	// 300 products of two companies change in one transaction: one ModifiedDateTime.
	want := map[companyKey]bool{}
	rows := s.rows(t, store.ReleasedProducts) // not inside the write: the in-memory store has one connection
	stamp := s.write(t, func(tx *store.Tx) error {
		for _, r := range rows {
			if len(want) == 300 || sv(r, "dataAreaId") == "gbsi" {
				continue
			}
			want[ck(r, "ItemNumber")] = true
			if _, err := tx.Update(store.ReleasedProducts, s.keyOf(store.ReleasedProducts, r), store.Record{"ProductSearchName": "BATCH"}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, size := range []int{7, 64, 150, 299, 300, 301} {
		got, _, _, _ := readAll(t, c.Products, erp.ReadRequest{After: end, PageSize: size}, false)
		seen := map[companyKey]bool{}
		for _, p := range got {
			if seen[productKey(p)] {
				t.Fatalf("page size %d: %v read twice", size, productKey(p))
			}
			seen[productKey(p)] = true
			if !p.Modified.Equal(stamp) || !want[productKey(p)] {
				t.Fatalf("page size %d: unexpected %v at %v", size, productKey(p), p.Modified)
			}
		}
		if len(seen) != len(want) {
			t.Fatalf("page size %d: read %d of %d", size, len(seen), len(want))
		}
	}
	// Until bounds the read: nothing at or before the stamp is missed, nothing after it read.
	got, _, _, _ := readAll(t, c.Products, erp.ReadRequest{After: end, Until: stamp.Add(-time.Microsecond), PageSize: 50}, false)
	if len(got) != 0 {
		t.Fatalf("Until before the stamp: read %d", len(got))
	}
	got, _, _, _ = readAll(t, c.Products, erp.ReadRequest{After: end, Until: stamp, PageSize: 50}, false)
	if len(got) != 300 {
		t.Fatalf("Until at the stamp: read %d, want 300", len(got))
	}
}

func TestFaultsGiveTheSameResult(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	clean := readEverything(t, s.client(t, nil), nil, 100, false)
	del, _, _, _ := readAll(t, s.client(t, nil).Deletions, erp.ReadRequest{}, false)

	if err := s.srv.Load().SetFaults(erpsim.Faults{ErrorShare: 0.07, RateLimitShare: 0.07, TruncateShare: 0.06,
		RetryAfter: erpsim.Duration(time.Second)}); err != nil {
		t.Fatal(err)
	}
	c := s.client(t, func(c *Config) {
		c.RetryWait = time.Millisecond
		c.MaxRetryWait = 20 * time.Millisecond // caps the simulator's Retry-After: 1s
	})
	faulty := readEverything(t, c, nil, 100, true)
	for name, pair := range map[string][2]any{
		"products": {clean.products, faulty.products}, "customers": {clean.customers, faulty.customers},
		"contacts": {clean.contacts, faulty.contacts}, "sales reps": {clean.salesReps, faulty.salesReps},
	} {
		a, _ := json.Marshal(pair[0])
		b, _ := json.Marshal(pair[1])
		if string(a) != string(b) {
			t.Errorf("%s differ with faults (%d vs %d bytes)", name, len(a), len(b))
		}
	}
	faultyDel, _, _, _ := readAll(t, c.Deletions, erp.ReadRequest{}, true)
	if len(faultyDel) != len(del) {
		t.Errorf("deletions differ with faults")
	}
	t.Logf("requests: %d clean, %d with 20%% faults", clean.requests, faulty.requests)
	if faulty.requests <= clean.requests {
		t.Errorf("no retries were counted: %d requests with faults, %d without", faulty.requests, clean.requests)
	}
}

func TestTruncatedAnswerIsAnErrorNotAShortPage(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	if err := s.srv.Load().SetFaults(erpsim.Faults{TruncateShare: 1}); err != nil {
		t.Fatal(err)
	}
	c := s.client(t, func(c *Config) { c.MaxRetries = -1 })
	p, err := c.Products(context.Background(), erp.ReadRequest{PageSize: 10})
	if failure.KindOf(err) != failure.Unavailable || len(p.Records) != 0 {
		t.Fatalf("truncated answer: %d records, %v; want an unavailable error", len(p.Records), err)
	}
}

func TestWrongSecretFailsAtOnce(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	c := s.client(t, func(c *Config) { c.ClientSecret = "wrong" })
	start := time.Now()
	_, err := c.Products(context.Background(), erp.ReadRequest{})
	if failure.KindOf(err) != failure.Unauthorized {
		t.Fatalf("wrong secret: %v, want unauthorized", err)
	}
	if n := s.tokens.Load(); n != 1 || time.Since(start) > time.Second {
		t.Fatalf("wrong secret: %d token requests in %v, want one at once", n, time.Since(start))
	}
	t.Log(err)
}

func TestRejectedTokenIsRenewedOnce(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	c := s.client(t, nil)
	if _, err := c.Contacts(context.Background(), erp.ReadRequest{PageSize: 5}); err != nil {
		t.Fatal(err)
	}
	s.restart(t) // the token the client holds (valid for an hour) is now unknown: 401
	p, err := c.Contacts(context.Background(), erp.ReadRequest{PageSize: 5})
	if err != nil || len(p.Records) != 5 {
		t.Fatalf("after a rejected token: %d records, %v", len(p.Records), err)
	}
	if n := s.tokens.Load(); n != 2 {
		t.Fatalf("%d token requests, want 2", n)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	c := s.client(t, func(c *Config) { c.MaxRetries = -1 })
	ctx := context.Background()
	// A collection the service does not have: 404.
	c.colls[collContacts] = newCollection(collContacts, "NoSuchCollection", nil)
	_, err := c.Contacts(ctx, erp.ReadRequest{})
	if failure.KindOf(err) != failure.NotFound {
		t.Errorf("unknown collection: %v, want not found", err)
	}
	// A field the service does not have: 400 with the OData message.
	c.colls[collContacts] = newCollection(collContacts, collContacts, map[string]string{"ContactPersonId": "NoSuchField"})
	_, err = c.Contacts(ctx, erp.ReadRequest{})
	if failure.KindOf(err) != failure.Invalid || !strings.Contains(err.Error(), "NoSuchField") {
		t.Errorf("unknown field: %v, want invalid naming the field", err)
	}
	// 503 and 429 once retries are spent.
	s.srv.Load().SetFaults(erpsim.Faults{ErrorShare: 1})
	_, err = c.Products(ctx, erp.ReadRequest{})
	if failure.KindOf(err) != failure.Unavailable {
		t.Errorf("5xx: %v, want unavailable", err)
	}
	s.srv.Load().SetFaults(erpsim.Faults{RateLimitShare: 1, RetryAfter: erpsim.Duration(3 * time.Second)})
	_, err = c.Products(ctx, erp.ReadRequest{})
	if failure.KindOf(err) != failure.RateLimited || failure.RetryAfterOf(err) != 3*time.Second {
		t.Errorf("429: %v (retry after %v), want rate limited after 3s", err, failure.RetryAfterOf(err))
	}
	// Cancellation returns ctx's error, also while waiting to retry.
	c.cfg.MaxRetries = 5
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = c.Products(cctx, erp.ReadRequest{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled: %v", err)
	}
	// A service that is not there.
	c.cfg.MaxRetries = 0
	s.http.Close()
	_, err = c.Products(ctx, erp.ReadRequest{})
	if failure.KindOf(err) != failure.Unavailable {
		t.Errorf("connection refused: %v, want unavailable", err)
	}
}

// edits are the roots the edits of editEveryKind belong to, by entity.
type edits struct {
	products, customers, contacts, reps    map[companyKey]bool
	categories, lineDiscounts, activations map[companyKey]bool
	// byDelete are the products changed by deleting a child only (no stamp in stock D365).
	byDelete map[companyKey]bool
	// bumpedOnly are the products an ERP add-on bumps for a change of company-wide or
	// group-wide data (a category, a group's line discount) whose own data did not change.
	bumpedOnly map[companyKey]bool
	// movedDiscount is the line discount for all items that became one item's.
	movedDiscount companyKey
}

func union(sets ...map[companyKey]bool) map[companyKey]bool {
	out := map[companyKey]bool{}
	for _, s := range sets {
		maps.Copy(out, s)
	}
	return out
}

// editEveryKind makes one edit of every child kind (each on another product where it can be),
// a category visibility flip, edits of a group's line discount and of a company's activation, a
// line discount for all items changed to one item's, and customer, contact, sales group and
// membership changes, and returns the roots each edit belongs to.
func editEveryKind(t *testing.T, s *sim) edits {
	t.Helper()
	ed := edits{byDelete: map[companyKey]bool{}, bumpedOnly: map[companyKey]bool{}}
	for _, m := range []*map[companyKey]bool{&ed.products, &ed.customers, &ed.contacts, &ed.reps, &ed.categories, &ed.lineDiscounts, &ed.activations} {
		*m = map[companyKey]bool{}
	}
	wantProducts, wantCustomers, wantContacts, wantReps, byDelete := ed.products, ed.customers, ed.contacts, ed.reps, ed.byDelete
	used := map[companyKey]bool{}
	// pick returns the first row of table in company co whose product (field) is not used yet.
	pick := func(table, co, field string) store.Record {
		t.Helper()
		for _, r := range s.rows(t, table) {
			if sv(r, "dataAreaId") == co && !used[ck(r, field)] {
				used[ck(r, field)] = true
				wantProducts[ck(r, field)] = true
				return r
			}
		}
		t.Fatalf("no %s row in %s", table, co)
		return nil
	}
	update := func(table string, r store.Record, patch store.Record) {
		t.Helper()
		s.write(t, func(tx *store.Tx) error { _, err := tx.Update(table, s.keyOf(table, r), patch); return err })
	}
	create := func(table string, r store.Record) {
		t.Helper()
		s.write(t, func(tx *store.Tx) error { _, err := tx.Create(table, r); return err })
	}

	update(store.ReleasedProductVariants, pick(store.ReleasedProductVariants, "usmf", "ItemNumber"), store.Record{"ProductName": "Renamed variant"})
	update(store.ProductMasterDimensionValues, pick(store.ProductMasterDimensionValues, "usmf", "ProductMasterNumber"), store.Record{"Description": "Ruby red"})
	update(store.ProductTranslations, pick(store.ProductTranslations, "usmf", "ItemNumber"), store.Record{"ProductName": "Neuer Name"})
	att := pick(store.ProductAttachments, "demf", "ItemNumber")
	create(store.ProductAttachments, store.Record{"dataAreaId": "demf", "ItemNumber": sv(att, "ItemNumber"), "AttachmentId": "IMG9",
		"DocumentType": "Image", "FileName": "new.jpg", "IsDefaultImage": "No", "DisplayOrder": int64(9)})
	asg := pick(store.ProductCategoryAssignments, "demf", "ItemNumber")
	byDelete[ck(asg, "ItemNumber")] = true
	s.write(t, func(tx *store.Tx) error {
		return tx.Delete(store.ProductCategoryAssignments, s.keyOf(store.ProductCategoryAssignments, asg))
	})
	rel := pick(store.RelatedProducts, "usmf", "ItemNumber")
	create(store.RelatedProducts, store.Record{"dataAreaId": "usmf", "ItemNumber": sv(rel, "ItemNumber"), "RelatedItemNumber": "1001", "RelationType": "UpSell", "DisplayOrder": int64(7)})
	bc := pick(store.ProductBarcodes, "demf", "ItemNumber")
	create(store.ProductBarcodes, store.Record{"dataAreaId": "demf", "Barcode": "9990000000017", "ItemNumber": sv(bc, "ItemNumber"), "BarcodeSetupId": "UPC"})
	update(store.ItemDefaultOrderSettings, pick(store.ItemDefaultOrderSettings, "usmf", "ItemNumber"), store.Record{"IsSalesStopped": "Yes", "SalesMultipleQuantity": json.Number("4")})
	// A unit conversion of a shared product released by every company: all its releases change.
	releases := map[string][]companyKey{}
	for _, r := range s.rows(t, store.ReleasedProducts) {
		releases[sv(r, "ProductNumber")] = append(releases[sv(r, "ProductNumber")], ck(r, "ItemNumber"))
	}
	conversion := func() store.Record {
		for _, r := range s.rows(t, store.ProductUnitOfMeasureConversions) {
			if ks := releases[sv(r, "ProductNumber")]; len(ks) == 3 && !slices.ContainsFunc(ks, func(k companyKey) bool { return used[k] }) {
				return r
			}
		}
		t.Fatal("no unit conversion of a product released by three companies")
		return nil
	}()
	for _, k := range releases[sv(conversion, "ProductNumber")] {
		used[k], wantProducts[k] = true, true
	}
	update(store.ProductUnitOfMeasureConversions, conversion, store.Record{"Factor": json.Number("14"), "Rounding": "Up"})
	var tablePrice store.Record
	for _, r := range s.rows(t, store.SalesPriceAgreements) {
		if sv(r, "dataAreaId") == "demf" && sv(r, "ItemCode") == "Table" && !used[ck(r, "ItemNumber")] {
			tablePrice = r
			break
		}
	}
	used[ck(tablePrice, "ItemNumber")], wantProducts[ck(tablePrice, "ItemNumber")] = true, true
	update(store.SalesPriceAgreements, tablePrice, store.Record{"Price": json.Number("12.345678")})
	// Category visibility (demf) bumps every product assigned to it.
	var cat store.Record
	for _, r := range s.rows(t, store.ProductCategories) {
		if sv(r, "dataAreaId") == "demf" && sv(r, "ParentCategoryId") != "" {
			cat = r
			break
		}
	}
	update(store.ProductCategories, cat, store.Record{"IsVisibleInWebshop": map[bool]string{true: "No", false: "Yes"}[sv(cat, "IsVisibleInWebshop") == "Yes"]})
	ed.categories[ck(cat, "CategoryId")] = true
	for _, r := range s.rows(t, store.ProductCategoryAssignments) {
		if sv(r, "dataAreaId") == "demf" && sv(r, "CategoryId") == sv(cat, "CategoryId") {
			ed.bumpedOnly[ck(r, "ItemNumber")] = true
		}
	}
	// Line discounts: one item's (a child of the product), an item group's (a root of its own;
	// the add-on bumps the group's products), and one for all items that becomes one item's.
	discounts := s.rows(t, store.SalesLineDiscountAgreements)
	recKey := func(r store.Record) companyKey { return companyKey{sv(r, "dataAreaId"), fmt.Sprint(r["RecordId"])} }
	for _, r := range discounts {
		if sv(r, "dataAreaId") == "usmf" && sv(r, "ItemCode") == "Table" && !used[ck(r, "ItemNumber")] {
			used[ck(r, "ItemNumber")], wantProducts[ck(r, "ItemNumber")] = true, true
			update(store.SalesLineDiscountAgreements, r, store.Record{"DiscountPercentage1": json.Number("7.5")})
			break
		}
	}
	for _, r := range discounts {
		if sv(r, "dataAreaId") == "usmf" && sv(r, "ItemCode") == "GroupId" {
			update(store.SalesLineDiscountAgreements, r, store.Record{"DiscountPercentage1": json.Number("4.25")})
			ed.lineDiscounts[recKey(r)] = true
			for _, p := range s.rows(t, store.ReleasedProducts) {
				if sv(p, "dataAreaId") == "usmf" && sv(p, "SalesLineDiscountProductGroupCode") == sv(r, "LineDiscountProductGroupCode") {
					ed.bumpedOnly[ck(p, "ItemNumber")] = true
				}
			}
			break
		}
	}
	for _, r := range discounts {
		if sv(r, "dataAreaId") == "gbsi" && sv(r, "ItemCode") == "All" {
			item := pick(store.ReleasedProducts, "gbsi", "ItemNumber")
			update(store.SalesLineDiscountAgreements, r, store.Record{"ItemCode": "Table", "ItemNumber": sv(item, "ItemNumber")})
			ed.movedDiscount = recKey(r)
			for _, p := range s.rows(t, store.ReleasedProducts) { // an all-items line concerned them all
				if sv(p, "dataAreaId") == "gbsi" {
					ed.bumpedOnly[ck(p, "ItemNumber")] = true
				}
			}
			break
		}
	}
	// A line discount for one demf item that becomes one for an item group: the item loses it
	// (an add-on bumps the item and the group's products).
	for _, r := range discounts {
		if sv(r, "dataAreaId") == "demf" && sv(r, "ItemCode") == "Table" && !used[ck(r, "ItemNumber")] {
			used[ck(r, "ItemNumber")], wantProducts[ck(r, "ItemNumber")] = true, true
			update(store.SalesLineDiscountAgreements, r, store.Record{"ItemCode": "GroupId", "ItemNumber": "", "LineDiscountProductGroupCode": "FURN"})
			ed.lineDiscounts[recKey(r)] = true
			for _, p := range s.rows(t, store.ReleasedProducts) {
				if sv(p, "dataAreaId") == "demf" && sv(p, "SalesLineDiscountProductGroupCode") == "FURN" {
					ed.bumpedOnly[ck(p, "ItemNumber")] = true
				}
			}
			break
		}
	}
	if ed.movedDiscount.key == "" || len(ed.lineDiscounts) == 0 {
		t.Fatal("the catalog lacks a line discount for an item group in usmf or for all items in gbsi")
	}
	// The activation of usmf (bumps nothing).
	act := s.rows(t, store.PriceParameters)[0]
	update(store.PriceParameters, act, store.Record{"SalesLineAllAll": map[bool]string{true: "No", false: "Yes"}[sv(act, "SalesLineAllAll") == "Yes"]})
	ed.activations[companyKey{sv(act, "dataAreaId"), "0"}] = true

	// Customers: an address, a sales group change (bumps the reps of the old and new group).
	custs := s.rows(t, store.Customers)
	addr := s.rows(t, store.CustomerPostalAddresses)[0]
	update(store.CustomerPostalAddresses, addr, store.Record{"AddressCity": "Springfield"})
	wantCustomers[ck(addr, "CustomerAccount")] = true
	var moved store.Record
	for _, r := range custs {
		if !wantCustomers[ck(r, "CustomerAccount")] && sv(r, "dataAreaId") == "usmf" {
			moved = r
			break
		}
	}
	oldGroup := sv(moved, "CommissionSalesGroupId")
	newGroup := "SG01"
	if oldGroup == newGroup {
		newGroup = "SG02"
	}
	update(store.Customers, moved, store.Record{"CommissionSalesGroupId": newGroup})
	wantCustomers[ck(moved, "CustomerAccount")] = true
	for _, r := range s.rows(t, store.CommissionSalesRepresentatives) {
		if sv(r, "dataAreaId") == "usmf" && (sv(r, "GroupId") == oldGroup || sv(r, "GroupId") == newGroup) {
			wantReps[ck(r, "PersonnelNumber")] = true
		}
	}
	contact := s.rows(t, store.ContactPersons)[3]
	update(store.ContactPersons, contact, store.Record{"JobTitle": "Chief Buyer"})
	wantContacts[ck(contact, "ContactPersonId")] = true
	// A membership of a demf rep in a group it is not in.
	var rep store.Record
	for _, r := range s.rows(t, store.SalesRepresentatives) {
		if sv(r, "dataAreaId") == "demf" {
			rep = r
			break
		}
	}
	groups := map[string]bool{}
	for _, r := range s.rows(t, store.CommissionSalesRepresentatives) {
		if sv(r, "dataAreaId") == "demf" && sv(r, "PersonnelNumber") == sv(rep, "PersonnelNumber") {
			groups[sv(r, "GroupId")] = true
		}
	}
	for _, g := range s.rows(t, store.CommissionSalesGroups) {
		if sv(g, "dataAreaId") == "demf" && !groups[sv(g, "GroupId")] {
			create(store.CommissionSalesRepresentatives, store.Record{"dataAreaId": "demf", "GroupId": sv(g, "GroupId"),
				"PersonnelNumber": sv(rep, "PersonnelNumber"), "CommissionShare": json.Number("12.5")})
			break
		}
	}
	wantReps[ck(rep, "PersonnelNumber")] = true
	for k := range ed.products {
		delete(ed.bumpedOnly, k)
	}
	return ed
}
