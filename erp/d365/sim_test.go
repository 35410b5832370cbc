package d365

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/failure"
)

// sim is an in-process simulator: its store, its server and an HTTP server in front of it that
// counts token requests and can swap the simulator's instance (which forgets its tokens).
type sim struct {
	store  *store.Store
	srv    atomic.Pointer[erpsim.Server]
	http   *httptest.Server
	tokens atomic.Int64
}

// testCatalog is a small catalog with every child kind over three companies.
func testCatalog() generate.Config {
	return generate.Config{
		Seed: 7, Companies: []string{"usmf", "demf", "gbsi"}, Languages: []string{"en-us", "de", "nl"},
		Products: 450, MasterShare: 0.3, VariantsPerMaster: 6, Customers: 45, ContactsPerCust: 2,
		SalesReps: 15, PriceGroups: 3, Categories: 20,
	}
}

// smallCatalog is enough for tests of one behaviour; generating is the slow part under -race.
func smallCatalog() generate.Config {
	g := testCatalog()
	g.Products, g.Customers, g.SalesReps = 60, 9, 6
	return g
}

func newSim(t testing.TB, gen generate.Config) *sim {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := generate.Run(ctx, st, gen); err != nil {
		t.Fatal(err)
	}
	s := &sim{store: st}
	s.restart(t)
	s.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" {
			s.tokens.Add(1)
		}
		s.srv.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(s.http.Close)
	return s
}

// restart replaces the simulator's server over the same store: issued tokens become invalid.
func (s *sim) restart(t testing.TB) {
	t.Helper()
	var f erpsim.Faults
	if old := s.srv.Load(); old != nil {
		f = old.Faults()
	}
	srv, err := erpsim.NewServer(s.store, erpsim.Config{Seed: 3, Faults: f})
	if err != nil {
		t.Fatal(err)
	}
	s.srv.Store(srv)
}

func (s *sim) client(t testing.TB, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: s.http.URL, ClientID: erpsim.DefaultClientID, ClientSecret: erpsim.DefaultClientSecret}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rows reads every record of a collection straight from the store, in key order.
func (s *sim) rows(t testing.TB, table string) []store.Record {
	t.Helper()
	p, err := s.store.Query(context.Background(), store.Query{Table: table, Top: -1, PageSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]store.Record, len(p.Rows))
	for i, vals := range p.Rows {
		r := store.Record{}
		for j, f := range p.Fields {
			r[f.Name] = vals[j]
		}
		out[i] = r
	}
	return out
}

// write runs fn in one store transaction and returns its stamp.
func (s *sim) write(t testing.TB, fn func(tx *store.Tx) error) time.Time {
	t.Helper()
	stamp, err := s.store.Write(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
	return stamp
}

// keyOf returns the key fields of a record of table.
func (s *sim) keyOf(table string, r store.Record) store.Record {
	tb, _ := s.store.Schema().Table(table)
	k := store.Record{}
	for _, f := range tb.Key {
		k[f] = r[f]
	}
	return k
}

func sv(r store.Record, f string) string { v, _ := r[f].(string); return v }

func dv(t testing.TB, r store.Record, f string) erp.Decimal {
	t.Helper()
	n, _ := r[f].(json.Number)
	d, err := erp.ParseDecimal(string(n))
	if err != nil {
		t.Fatalf("store decimal %s=%q: %v", f, n, err)
	}
	return d
}

func iv(r store.Record, f string) int { n, _ := r[f].(int64); return int(n) }

func tv(r store.Record, f string) time.Time { t, _ := r[f].(time.Time); return t.UTC() }

func yv(r store.Record, f string) bool { return r[f] == "Yes" }

func ck(r store.Record, f string) companyKey { return companyKey{sv(r, store.FieldCompany), sv(r, f)} }

// want is what the store holds, mapped to records independently of the client's decoding.
type want struct {
	products      map[companyKey]erp.Product
	customers     map[companyKey]erp.Customer
	contacts      map[companyKey]erp.Contact
	salesReps     map[companyKey]erp.SalesRep
	categories    map[companyKey]erp.Category
	lineDiscounts map[companyKey]erp.LineDiscountAgreement
	activations   map[companyKey]erp.Activation
}

func (s *sim) want(t testing.TB) want {
	t.Helper()
	w := want{products: map[companyKey]erp.Product{}, customers: map[companyKey]erp.Customer{},
		contacts: map[companyKey]erp.Contact{}, salesReps: map[companyKey]erp.SalesRep{},
		categories: map[companyKey]erp.Category{}, lineDiscounts: map[companyKey]erp.LineDiscountAgreement{},
		activations: map[companyKey]erp.Activation{}}
	ps := map[companyKey]*erp.Product{}
	byProductNumber := map[string][]companyKey{} // the releases of each shared product
	for _, r := range s.rows(t, store.ReleasedProducts) {
		byProductNumber[sv(r, "ProductNumber")] = append(byProductNumber[sv(r, "ProductNumber")], ck(r, "ItemNumber"))
		ps[ck(r, "ItemNumber")] = &erp.Product{
			Company: sv(r, "dataAreaId"), ItemNumber: sv(r, "ItemNumber"), Modified: tv(r, "ModifiedDateTime"),
			Name: sv(r, "ProductName"), SearchName: sv(r, "ProductSearchName"), Description: sv(r, "ProductDescription"),
			SubType: sv(r, "ProductSubType"), DimensionGroup: sv(r, "ProductDimensionGroupName"), ProductGroup: sv(r, "ProductGroupId"),
			SalesUnit: sv(r, "SalesUnitSymbol"), SalesPrice: dv(t, r, "SalesPrice"), Currency: sv(r, "SalesCurrencyCode"),
			LineDiscountGroup: sv(r, "SalesLineDiscountProductGroupCode"),
		}
	}
	dims := func(r store.Record) erp.Dimensions {
		return erp.Dimensions{Color: sv(r, "ProductColorId"), Size: sv(r, "ProductSizeId"), Style: sv(r, "ProductStyleId"), Configuration: sv(r, "ProductConfigurationId")}
	}
	for _, r := range s.rows(t, store.ProductMasterDimensionValues) {
		if p := ps[ck(r, "ProductMasterNumber")]; p != nil {
			p.DimensionValues = append(p.DimensionValues, erp.DimensionValue{Dimension: sv(r, "ProductDimension"),
				Value: sv(r, "DimensionValueId"), Description: sv(r, "Description"), DisplayOrder: iv(r, "DisplayOrder")})
		}
	}
	for _, r := range s.rows(t, store.ReleasedProductVariants) {
		if p := ps[ck(r, "ItemNumber")]; p != nil {
			p.Variants = append(p.Variants, erp.Variant{Dimensions: dims(r), VariantNumber: sv(r, "ProductVariantNumber"),
				Name: sv(r, "ProductName"), Description: sv(r, "ProductDescription")})
		}
	}
	for _, r := range s.rows(t, store.ProductTranslations) {
		if p := ps[ck(r, "ItemNumber")]; p != nil {
			p.Translations = append(p.Translations, erp.Translation{Language: sv(r, "LanguageId"), Name: sv(r, "ProductName"), Description: sv(r, "ProductDescription")})
		}
	}
	for _, r := range s.rows(t, store.ProductAttachments) {
		if p := ps[ck(r, "ItemNumber")]; p != nil {
			p.Attachments = append(p.Attachments, erp.Attachment{ID: sv(r, "AttachmentId"), DocumentType: sv(r, "DocumentType"),
				FileName: sv(r, "FileName"), Title: sv(r, "Title"), URL: sv(r, "Url"), DefaultImage: yv(r, "IsDefaultImage"), DisplayOrder: iv(r, "DisplayOrder")})
		}
	}
	for _, r := range s.rows(t, store.ProductCategories) {
		w.categories[ck(r, "CategoryId")] = erp.Category{Company: sv(r, "dataAreaId"), ID: sv(r, "CategoryId"), Modified: tv(r, "ModifiedDateTime"),
			Name: sv(r, "CategoryName"), ParentID: sv(r, "ParentCategoryId"), Visible: yv(r, "IsVisibleInWebshop")}
	}
	for _, r := range s.rows(t, store.ProductCategoryAssignments) {
		if p := ps[ck(r, "ItemNumber")]; p != nil {
			p.Categories = append(p.Categories, erp.ProductCategory{ID: sv(r, "CategoryId"), DisplayOrder: iv(r, "DisplayOrder")})
		}
	}
	for _, r := range s.rows(t, store.RelatedProducts) {
		if p := ps[ck(r, "ItemNumber")]; p != nil {
			p.Related = append(p.Related, erp.RelatedProduct{ItemNumber: sv(r, "RelatedItemNumber"), RelationType: sv(r, "RelationType"), DisplayOrder: iv(r, "DisplayOrder")})
		}
	}
	for _, r := range s.rows(t, store.ProductBarcodes) {
		if p := ps[ck(r, "ItemNumber")]; p != nil {
			p.Barcodes = append(p.Barcodes, erp.Barcode{Dimensions: dims(r), Barcode: sv(r, "Barcode"), Setup: sv(r, "BarcodeSetupId"), Default: yv(r, "IsDefaultScannedBarcode")})
		}
	}
	for _, r := range s.rows(t, store.ItemDefaultOrderSettings) {
		if p := ps[ck(r, "ItemNumber")]; p != nil {
			p.OrderSettings = &erp.OrderSettings{MinimumQuantity: dv(t, r, "SalesMinimumQuantity"), MaximumQuantity: dv(t, r, "SalesMaximumQuantity"),
				MultipleQuantity: dv(t, r, "SalesMultipleQuantity"), StandardQuantity: dv(t, r, "SalesStandardQuantity"), SalesStopped: yv(r, "IsSalesStopped")}
		}
	}
	// A unit conversion is the shared product's: every company's release of it has it.
	for _, r := range s.rows(t, store.ProductUnitOfMeasureConversions) {
		for _, k := range byProductNumber[sv(r, "ProductNumber")] {
			ps[k].UnitConversions = append(ps[k].UnitConversions, erp.UnitConversion{From: sv(r, "FromUnitSymbol"), To: sv(r, "ToUnitSymbol"),
				Factor: dv(t, r, "Factor"), Numerator: int64(iv(r, "Numerator")), Denominator: int64(iv(r, "Denominator")),
				InnerOffset: dv(t, r, "InnerOffset"), OuterOffset: dv(t, r, "OuterOffset"), Rounding: sv(r, "Rounding")})
		}
	}
	for _, r := range s.rows(t, store.SalesPriceAgreements) {
		pa := erp.PriceAgreement{RecID: int64(iv(r, "RecordId")), Dimensions: dims(r),
			AccountCode: sv(r, "AccountCode"), CustomerAccount: sv(r, "CustomerAccountNumber"), PriceGroup: sv(r, "PriceCustomerGroupCode"),
			Currency: sv(r, "PriceCurrencyCode"), Price: dv(t, r, "Price"), Unit: sv(r, "QuantityUnitySymbol"),
			FromQuantity: dv(t, r, "FromQuantity"), ToQuantity: dv(t, r, "ToQuantity"),
			ValidFrom: sv(r, "PriceApplicableFromDate"), ValidTo: sv(r, "PriceApplicableToDate"), FindNext: yv(r, "WillSearchContinue")}
		if p := ps[ck(r, "ItemNumber")]; p != nil {
			p.Prices = append(p.Prices, pa)
		}
	}
	for _, r := range s.rows(t, store.SalesLineDiscountAgreements) {
		ld := erp.LineDiscount{RecID: int64(iv(r, "RecordId")), ItemCode: sv(r, "ItemCode"), ItemNumber: sv(r, "ItemNumber"),
			ItemGroup: sv(r, "LineDiscountProductGroupCode"), Dimensions: dims(r), AccountCode: sv(r, "AccountCode"),
			CustomerAccount: sv(r, "CustomerAccountNumber"), CustomerGroup: sv(r, "LineDiscountCustomerGroupCode"),
			Currency: sv(r, "DiscountCurrencyCode"), Percent1: dv(t, r, "DiscountPercentage1"), Percent2: dv(t, r, "DiscountPercentage2"),
			Amount: dv(t, r, "DiscountAmount"), Unit: sv(r, "QuantityUnitSymbol"), FromQuantity: dv(t, r, "FromQuantity"),
			ToQuantity: dv(t, r, "ToQuantity"), ValidFrom: sv(r, "DiscountApplicableFromDate"), ValidTo: sv(r, "DiscountApplicableToDate"),
			FindNext: yv(r, "WillSearchContinue")}
		if ld.ItemCode != "Table" {
			k := companyKey{sv(r, "dataAreaId"), fmt.Sprint(ld.RecID)}
			w.lineDiscounts[k] = erp.LineDiscountAgreement{Company: k.company, Modified: tv(r, "ModifiedDateTime"), LineDiscount: ld}
		} else if p := ps[ck(r, "ItemNumber")]; p != nil {
			p.LineDiscounts = append(p.LineDiscounts, ld)
		}
	}
	for _, r := range s.rows(t, store.PriceParameters) {
		a := erp.Activation{Company: sv(r, "dataAreaId"), Modified: tv(r, "ModifiedDateTime")}
		for _, f := range store.ActivationFields {
			if yv(r, f) {
				a.Activated = append(a.Activated, f)
			}
		}
		w.activations[companyKey{a.Company, fmt.Sprint(iv(r, "Key"))}] = a
	}
	for k, p := range ps {
		sortProduct(p)
		w.products[k] = *p
	}

	members := map[companyKey][]string{} // (company, group) -> personnel numbers
	groupsOf := map[companyKey][]string{}
	for _, r := range s.rows(t, store.CommissionSalesRepresentatives) {
		members[ck(r, "GroupId")] = append(members[ck(r, "GroupId")], sv(r, "PersonnelNumber"))
		groupsOf[ck(r, "PersonnelNumber")] = append(groupsOf[ck(r, "PersonnelNumber")], sv(r, "GroupId"))
	}
	custOfGroup := map[companyKey][]string{}
	cs := map[companyKey]*erp.Customer{}
	for _, r := range s.rows(t, store.Customers) {
		c := &erp.Customer{Company: sv(r, "dataAreaId"), Account: sv(r, "CustomerAccount"), Modified: tv(r, "ModifiedDateTime"),
			Name: sv(r, "OrganizationName"), Group: sv(r, "CustomerGroupId"), PriceGroup: sv(r, "DiscountPriceGroupId"),
			LineDiscountGroup: sv(r, "LineDiscountCode"),
			Currency:          sv(r, "SalesCurrencyCode"), Language: sv(r, "LanguageId"), OnHold: sv(r, "OnHoldStatus"),
			SalesGroup: sv(r, "CommissionSalesGroupId"), Email: sv(r, "PrimaryContactEmail"), Phone: sv(r, "PrimaryContactPhone")}
		cs[ck(r, "CustomerAccount")] = c
		custOfGroup[ck(r, "CommissionSalesGroupId")] = append(custOfGroup[ck(r, "CommissionSalesGroupId")], c.Account)
	}
	for _, r := range s.rows(t, store.CustomerPostalAddresses) {
		if c := cs[ck(r, "CustomerAccount")]; c != nil {
			a := erp.Address{ID: sv(r, "AddressLocationId"), Description: sv(r, "AddressDescription"), Street: sv(r, "AddressStreet"),
				City: sv(r, "AddressCity"), ZipCode: sv(r, "AddressZipCode"), State: sv(r, "AddressState"),
				Country: sv(r, "AddressCountryRegionId"), Roles: strings.Split(sv(r, "AddressLocationRoles"), ";"), Primary: yv(r, "IsPrimary")}
			c.Addresses = append(c.Addresses, a)
		}
	}
	for k, c := range cs {
		slices.SortFunc(c.Addresses, func(a, b erp.Address) int { return cmp.Compare(a.ID, b.ID) })
		w.customers[k] = *c
	}
	for _, r := range s.rows(t, store.ContactPersons) {
		w.contacts[ck(r, "ContactPersonId")] = erp.Contact{Company: sv(r, "dataAreaId"), ID: sv(r, "ContactPersonId"),
			Modified: tv(r, "ModifiedDateTime"), Customer: sv(r, "CustomerAccount"), FirstName: sv(r, "FirstName"),
			LastName: sv(r, "LastName"), JobTitle: sv(r, "JobTitle"), Email: sv(r, "PrimaryEmailAddress"),
			Phone: sv(r, "PrimaryPhoneNumber"), Language: sv(r, "LanguageId")}
	}
	for _, r := range s.rows(t, store.SalesRepresentatives) {
		sr := erp.SalesRep{Company: sv(r, "dataAreaId"), PersonnelNumber: sv(r, "PersonnelNumber"), Modified: tv(r, "ModifiedDateTime"),
			Name: sv(r, "Name"), Email: sv(r, "PrimaryEmailAddress"), Phone: sv(r, "PrimaryPhoneNumber"),
			Groups: sortedUnique(groupsOf[ck(r, "PersonnelNumber")])}
		var accts []string
		for _, g := range sr.Groups {
			accts = append(accts, custOfGroup[companyKey{sr.Company, g}]...)
		}
		sr.Customers = sortedUnique(accts)
		w.salesReps[ck(r, "PersonnelNumber")] = sr
	}
	return w
}

// readAll reads pages until Done. With retry, a page that fails with a kind the caller would
// retry (as the Temporal activity does) is read again from the same cursor.
func readAll[T any](t testing.TB, read func(context.Context, erp.ReadRequest) (erp.Page[T], error), req erp.ReadRequest, retry bool) ([]T, []erp.Rejection, erp.Cursor, int) {
	t.Helper()
	var (
		recs     []T
		rejected []erp.Rejection
		requests int
		failures int
	)
	for pages := 0; ; pages++ {
		if pages > 10_000 {
			t.Fatal("no end after 10,000 pages")
		}
		p, err := read(context.Background(), req)
		if err != nil {
			if k := failure.KindOf(err); retry && !k.Permanent() && failures < 50 {
				failures++
				pages--
				continue
			}
			t.Fatalf("read after %v: %v", req.After, err)
		}
		recs = append(recs, p.Records...)
		rejected = append(rejected, p.Rejected...)
		requests += p.Requests
		if len(p.Records)+len(p.Rejected) > 0 && !advanced(req, p.Next) {
			t.Fatalf("cursor did not advance: %v -> %v", req.After, p.Next)
		}
		req.After = p.Next
		if p.Done {
			return recs, rejected, req.After, requests
		}
	}
}

// advanced reports whether next lies after req.After in req's order: by key in a partition read
// by key (the simulator compares text keys by their bytes, as Go does), else in change order.
func advanced(req erp.ReadRequest, next erp.Cursor) bool {
	if p := req.Partition; p != nil && p.ByKey {
		return next.Company == p.Company && (req.After.Company == "" || req.After.Key < next.Key)
	}
	return req.After.Less(next)
}

// compare checks that got holds exactly the records of want (by company and key), each once and
// equal field by field.
func compare[T any](t testing.TB, what string, got []T, want map[companyKey]T, key func(T) companyKey) {
	t.Helper()
	seen := map[companyKey]bool{}
	bad := 0
	for _, r := range got {
		k := key(r)
		if seen[k] {
			t.Errorf("%s %v read twice", what, k)
			bad++
		}
		seen[k] = true
		w, ok := want[k]
		if !ok {
			t.Errorf("%s %v read but not expected", what, k)
			bad++
			continue
		}
		gj, _ := json.Marshal(r)
		wj, _ := json.Marshal(w)
		if string(gj) != string(wj) {
			t.Errorf("%s %v differs:\n got %s\nwant %s", what, k, gj, wj)
			bad++
		}
		if bad > 5 {
			t.Fatal("too many differences")
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("%s %v missing", what, k)
			bad++
			if bad > 5 {
				t.Fatal("too many differences")
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: read %d, want %d", what, len(got), len(want))
	}
}

func productKey(p erp.Product) companyKey   { return companyKey{p.Company, p.ItemNumber} }
func customerKey(c erp.Customer) companyKey { return companyKey{c.Company, c.Account} }
func contactKey(c erp.Contact) companyKey   { return companyKey{c.Company, c.ID} }
func salesRepKey(s erp.SalesRep) companyKey { return companyKey{s.Company, s.PersonnelNumber} }
func (k companyKey) String() string         { return fmt.Sprintf("%s/%s", k.company, k.key) }
func only[T any](m map[companyKey]T, keys map[companyKey]bool) map[companyKey]T {
	out := map[companyKey]T{}
	for k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}
