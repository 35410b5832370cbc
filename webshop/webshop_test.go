package webshop

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/erp"
)

func shops() []Webshop {
	return []Webshop{
		{ID: "us", Company: "usmf", Languages: []string{"en"}, Currencies: []string{"USD", "EUR"}, TemplateCustomer: "US-WEB"},
		{ID: "us-furniture", Company: "usmf", Languages: []string{"en"}, Currencies: []string{"USD"}, TemplateCustomer: "US-WEB",
			Products:  ProductFilter{ItemGroups: []string{"FURN"}},
			Customers: CustomerFilter{Groups: []string{"10"}, Accounts: []string{"US-042"}}},
		{ID: "de", Company: "demf", Languages: []string{"de", "en"}, DefaultLanguage: "de", Currencies: []string{"EUR"}, TemplateCustomer: "DE-WEB"},
	}
}

func rec(e erp.Entity, company, key string, v any) erp.Record {
	return erp.Record{Ref: erp.Ref{Entity: e, Company: company, Key: key}, Value: v}
}

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		r       erp.Record
		want    []string
		decided bool
	}{
		{"a product of the filter's item group", rec(erp.Products, "USMF", "1000", erp.Product{Company: "USMF", ProductGroup: "FURN"}), []string{"us", "us-furniture"}, true},
		{"a product of another item group", rec(erp.Products, "usmf", "1001", erp.Product{Company: "usmf", ProductGroup: "ELEC"}), []string{"us"}, true},
		{"a product of a company without a webshop", rec(erp.Products, "gbsi", "1000", erp.Product{Company: "gbsi"}), nil, true},
		{"a customer of the filter's group", rec(erp.Customers, "usmf", "US-001", erp.Customer{Company: "usmf", Account: "US-001", Group: "10"}), []string{"us", "us-furniture"}, true},
		{"a customer the filter names", rec(erp.Customers, "usmf", "US-042", erp.Customer{Company: "usmf", Account: "US-042", Group: "30"}), []string{"us", "us-furniture"}, true},
		{"a customer of another group", rec(erp.Customers, "usmf", "US-002", erp.Customer{Company: "usmf", Account: "US-002", Group: "20"}), []string{"us"}, true},
		{"the template customer, outside the filter", rec(erp.Customers, "usmf", "US-WEB", erp.Customer{Company: "usmf", Account: "US-WEB", Group: "40"}), []string{"us", "us-furniture"}, true},
		{"a contact: every webshop of its company", rec(erp.Contacts, "demf", "CP-1", erp.Contact{Company: "demf", ID: "CP-1"}), []string{"de"}, true},
		{"a sales representative", rec(erp.SalesReps, "usmf", "000001", erp.SalesRep{Company: "usmf"}), []string{"us", "us-furniture"}, true},
		{"a category: not decided by webshops", rec(erp.Categories, "usmf", "C01", erp.Category{Company: "usmf"}), nil, false},
	} {
		got, decided := Of(shops(), tc.r)
		if !slices.Equal(got, tc.want) || decided != tc.decided {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got, decided, tc.want, tc.decided)
		}
	}
	if got, decided := Of(nil, rec(erp.Products, "usmf", "1", erp.Product{Company: "usmf"})); got != nil || decided {
		t.Errorf("without webshops: %v %v, want nothing decided", got, decided)
	}
}

func TestCurrency(t *testing.T) {
	w := shops()[0]
	for own, want := range map[string]string{"EUR": "EUR", "USD": "USD", "GBP": "USD", "": "USD"} {
		if got := w.Currency(own); got != want {
			t.Errorf("a customer buying in %q sees %s, want %s", own, got, want)
		}
	}
	if got := shops()[2].DefaultLang(); got != "de" {
		t.Errorf("default language %s, want de", got)
	}
	if got := shops()[0].DefaultLang(); got != "en" {
		t.Errorf("default language %s, want the first, en", got)
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(shops(), []string{"en", "de"}); err != nil {
		t.Fatalf("good webshops: %v", err)
	}
	bad := []Webshop{
		{ID: "US shop", Company: "USMF", Languages: []string{"english"}, Currencies: []string{"usd"}},
		{ID: "de", Company: "demf", Languages: []string{"fr"}, DefaultLanguage: "de", Currencies: nil, TemplateCustomer: "DE-WEB"},
		{ID: "de", Company: "demf", Languages: []string{"de"}, Currencies: []string{"EUR"}, TemplateCustomer: "DE-WEB"},
	}
	err := Validate(bad, []string{"en", "de"})
	if err == nil {
		t.Fatal("bad webshops pass")
	}
	for _, want := range []string{`id "US shop"`, `company "USMF"`, `language "english"`, `currency "usd"`, "no template customer",
		"language fr is not among the index's languages", "default language de is not among its languages", "no currencies", "the id is given twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

func TestFingerprintsAndChanges(t *testing.T) {
	before := shops()
	if Fingerprints(before, erp.Categories) != nil {
		t.Error("categories have fingerprints: webshops do not decide them")
	}
	same := Fingerprints(shops(), erp.Products)
	if c := Changes(erp.Products, Fingerprints(before, erp.Products), same); len(c) != 0 {
		t.Errorf("the same webshops: changes %v", c)
	}
	// The order of the filter's values, languages, currencies and the root category do not
	// change which records are indexed.
	after := shops()
	after[1].Products.ItemGroups = []string{"FURN", "FURN"}
	after[1].Products.RootCategory = "C01"
	after[1].Languages = []string{"en", "de"}
	after[1].Currencies = []string{"EUR"}
	if c := Changes(erp.Products, Fingerprints(before, erp.Products), Fingerprints(after, erp.Products)); len(c) != 0 {
		t.Errorf("changes that need no rebuild: %v", c)
	}
	// A changed customer filter, a new and a removed webshop do.
	after = shops()
	after[1].Customers.Accounts = append(after[1].Customers.Accounts, "US-043")
	after = append(after[:2], Webshop{ID: "gb", Company: "gbsi", TemplateCustomer: "GB-WEB"})
	got := Changes(erp.Customers, Fingerprints(before, erp.Customers), Fingerprints(after, erp.Customers))
	want := []string{"webshop de was removed", "webshop gb is new", "webshop us-furniture's customer filter, template customer or company changed"}
	if !slices.Equal(got, want) {
		t.Errorf("changes %q, want %q", got, want)
	}
	// The product filter is not the customers' business, and the other way round.
	after = shops()
	after[1].Products.ItemGroups = []string{"ELEC"}
	if c := Changes(erp.Customers, Fingerprints(before, erp.Customers), Fingerprints(after, erp.Customers)); len(c) != 0 {
		t.Errorf("a product filter changes the customers: %v", c)
	}
	if c := Changes(erp.Products, Fingerprints(before, erp.Products), Fingerprints(after, erp.Products)); len(c) != 1 {
		t.Errorf("a product filter: changes %v, want one", c)
	}
}

// fakeERP answers Lookup from a few customers.
type fakeERP map[string]erp.Customer // company:account

func (f fakeERP) Lookup(_ context.Context, e erp.Entity, keys []erp.Ref) (erp.Page[erp.Record], error) {
	var p erp.Page[erp.Record]
	for _, k := range keys {
		if c, ok := f[strings.ToLower(k.Company)+":"+k.Key]; ok {
			p.Records = append(p.Records, erp.Record{Ref: erp.Ref{Entity: e, Company: strings.ToUpper(k.Company), Key: k.Key}, Value: c})
		} else {
			p.Missing = append(p.Missing, k)
		}
	}
	return p, nil
}

func TestCheckTemplates(t *testing.T) {
	erpSide := fakeERP{"usmf:US-WEB": {Account: "US-WEB", OnHold: "No"}, "demf:DE-WEB": {Account: "DE-WEB", OnHold: "All"}}
	if err := CheckTemplates(context.Background(), erpSide, shops()[:2]); err != nil {
		t.Errorf("existing template customers: %v", err)
	}
	bad := shops()
	bad[1].TemplateCustomer = "US-NOPE"
	err := CheckTemplates(context.Background(), erpSide, bad)
	for _, want := range []string{"webshop us-furniture: its template customer US-NOPE is not a customer of company usmf",
		"webshop de: its template customer DE-WEB of company demf is on hold (OnHoldStatus All)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "webshop us:") {
		t.Errorf("webshop us is named though its template customer is fine: %v", err)
	}
}
