package storefront_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/shopper"
	"github.com/erpsync/erpsync/storefront"
	"github.com/erpsync/erpsync/webshop"
)

// TestWebshopFilters serves two webshops of one company from one index: one with every product
// and customer, one for the furniture trade (item group FURN under root category C01, customers
// of group 10, US dollars only, German first). Each shows exactly the products its filters take
// by the ERP's rows, refuses the customers its filter does not take, prices a customer whose
// currency it does not show in its default one and speaks its default language.
func TestWebshopFilters(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(17)
	cat.Companies = []string{"usmf"}
	cat.Products, cat.Customers = 200, 20
	all := webshop.Webshop{ID: "us", Company: "usmf", Languages: []string{"en", "de"}, Currencies: []string{"USD", "EUR"}, TemplateCustomer: generate.TemplateAccount("usmf")}
	furniture := webshop.Webshop{ID: "us-furniture", Company: "usmf", Languages: []string{"en", "de"}, DefaultLanguage: "de", Currencies: []string{"USD"},
		TemplateCustomer: generate.TemplateAccount("usmf"),
		Products:         webshop.ProductFilter{ItemGroups: []string{"FURN"}, RootCategory: "C01"},
		Customers:        webshop.CustomerFilter{Groups: []string{"10"}}}
	f := newFixtureOf(t, cat, []webshop.Webshop{all, furniture}, func(e *erpReader) {
		// Every category visible, so that the root category's subtree holds products whatever
		// the seed hid.
		for _, c := range e.All(t, "ProductCategories") {
			e.change(t, http.MethodPatch, "ProductCategories(dataAreaId='usmf',CategoryId='"+c.S("CategoryId")+"')", map[string]string{"IsVisibleInWebshop": "Yes"})
		}
	})
	erpCat := f.erp.catalog(t)

	// What each webshop takes, by the ERP's rows: showable products, and for the furniture
	// shop those of item group FURN in a visible category at or below C01.
	parent := map[string]string{}
	visible := map[string]bool{}
	for _, c := range f.erp.All(t, "ProductCategories") {
		parent[c.S("CategoryId")], visible[c.S("CategoryId")] = c.S("ParentCategoryId"), c.Yes("IsVisibleInWebshop")
	}
	below := func(id, root string) bool {
		for seen := 0; id != "" && seen < 100; seen++ {
			if id == root {
				return true
			}
			id = parent[id]
		}
		return false
	}
	inRoot := map[string]bool{}
	for _, a := range f.erp.All(t, "ProductCategoryAssignments") {
		if visible[a.S("CategoryId")] && below(a.S("CategoryId"), "C01") {
			inRoot[a.S("ItemNumber")] = true
		}
	}
	var wantAll, wantFurniture []string
	for k, p := range erpCat.products {
		if !erpCat.showable[k] {
			continue
		}
		wantAll = append(wantAll, p.S("ItemNumber"))
		if p.S("ProductGroupId") == "FURN" && inRoot[p.S("ItemNumber")] {
			wantFurniture = append(wantFurniture, p.S("ItemNumber"))
		}
	}
	shown := func(shop string) []string {
		var out []string
		for _, h := range f.searchAll(url.Values{"webshop": {shop}}) {
			out = append(out, h.ItemNumber)
		}
		slices.Sort(out)
		return out
	}
	slices.Sort(wantAll)
	slices.Sort(wantFurniture)
	if got := shown("us"); !slices.Equal(got, wantAll) {
		t.Errorf("webshop us shows %d products, the ERP has %d showable", len(got), len(wantAll))
	}
	if got := shown("us-furniture"); !slices.Equal(got, wantFurniture) || len(got) == 0 || len(got) == len(wantAll) {
		t.Errorf("webshop us-furniture shows %v, want %v (item group FURN at or below C01)", got, wantFurniture)
	}
	// A product the furniture shop does not take: its page there is a 404, in the other a 200.
	var other string
	for _, it := range wantAll {
		if !slices.Contains(wantFurniture, it) {
			other = it
			break
		}
	}
	if st, _, body := f.as("us-furniture", "", "", "/api/products/usmf/"+other, url.Values{"webshop": {"us-furniture"}}, nil); st != http.StatusNotFound {
		t.Errorf("product %s in us-furniture: %d %s", other, st, body)
	}
	if st, _, body := f.as("us", "", "", "/api/products/usmf/"+other, nil, nil); st != http.StatusOK {
		t.Errorf("product %s in us: %d %s", other, st, body)
	}

	// Customers: the furniture shop takes group 10 (and its template customer) only; a
	// customer buying in euros sees dollars there, the shop's only currency.
	var in10, outside, euro string
	for _, c := range f.erp.All(t, "CustomersV3") {
		a := c.S("CustomerAccount")
		if c.S("OnHoldStatus") != "No" || generate.IsTemplate(a) {
			continue
		}
		switch {
		case c.S("CustomerGroupId") == "10" && c.S("SalesCurrencyCode") == "EUR" && euro == "":
			euro = a
		case c.S("CustomerGroupId") == "10" && in10 == "":
			in10 = a
		case c.S("CustomerGroupId") != "10" && outside == "":
			outside = a
		}
	}
	if in10 == "" || outside == "" {
		t.Fatalf("the catalog lacks a customer in group 10 (%q) or outside it (%q)", in10, outside)
	}
	if euro == "" {
		// Make one: a customer of group 10 buying in euros.
		euro = in10
		f.erp.change(t, http.MethodPatch, "CustomersV3(dataAreaId='usmf',CustomerAccount='"+euro+"')", map[string]string{"SalesCurrencyCode": "EUR"})
		time.Sleep(1500 * time.Millisecond) // past the safety lag by the ERP's clock (whole seconds of its Date header)
		f.sync(erp.Customers, activities.Update)
	}
	if st, code, body := f.as("us-furniture", shopper.Customer, outside, "/api/search", nil, nil); st != http.StatusForbidden || code != storefront.RefusedNotInWebshop {
		t.Errorf("customer %s (group outside the filter) in us-furniture: %d %s", outside, st, body)
	}
	if st, _, body := f.as("us", shopper.Customer, outside, "/api/search", nil, nil); st != http.StatusOK {
		t.Errorf("customer %s in us: %d %s", outside, st, body)
	}
	var me storefront.Me
	if st, _, body := f.as("us-furniture", shopper.Customer, euro, "/api/me", nil, &me); st != http.StatusOK || me.Acting.Currency != "USD" {
		t.Errorf("customer %s buying in EUR in us-furniture: %d %s; want USD prices", euro, st, body)
	}
	var res storefront.SearchResult
	f.as("us-furniture", shopper.Customer, euro, "/api/search", nil, &res)
	for _, h := range res.Hits {
		if h.Price.Available && h.Price.Currency != "USD" {
			t.Errorf("customer %s in us-furniture: %s priced in %s", euro, h.ItemNumber, h.Price.Currency)
		}
	}
	if st, _, body := f.as("us", shopper.Customer, euro, "/api/me", nil, &me); st != http.StatusOK || me.Acting.Currency != "EUR" {
		t.Errorf("customer %s in us: %d %s; want EUR", euro, st, body)
	}
	// A guest reads the webshop's default language; asking for one it does not show changes
	// nothing.
	for shop, want := range map[string]string{"us": "en", "us-furniture": "de"} {
		for _, lang := range []string{"", "nl"} {
			res = storefront.SearchResult{}
			f.as(shop, "", "", "/api/search", url.Values{"webshop": {shop}, "lang": {lang}}, &res)
			if res.Language != want {
				t.Errorf("a guest of %s asking for %q reads %q, want %s", shop, lang, res.Language, want)
			}
		}
	}
}
