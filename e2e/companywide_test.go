package e2e

import (
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/storefront"
	"github.com/erpsync/erpsync/workflows"
)

// TestCompanyWideEditsWriteAHandfulOfDocuments: a category's visibility flip and a change of the
// line discount for all items are written as one document each, not into the products they
// concern, in both change detection modes (with an ERP add-on that stamps every product of the
// category and of the company, the update re-reads them and writes none); one update run later,
// the shop no longer shows the category's products and prices with the new discount.
func TestCompanyWideEditsWriteAHandfulOfDocuments(t *testing.T) {
	t.Parallel()
	inEachMode(t, companyWideEdits)
}

func companyWideEdits(t *testing.T, mode activities.Detection, behaviour store.Behaviour) {
	cat := simtest.Catalog(31)
	s := newStack(t, cat, erpsim.Config{Behaviour: behaviour}, withWebshops(activities.Settings{PageSize: 50, SafetyLag: time.Second, Detection: mode}, webshopsOf(cat)))
	s.run(workflows.ProductImportName, activities.Rebuild)
	s.run(workflows.CustomerImportName, activities.Rebuild)
	shop := s.storefrontOver(t, storefront.Config{CompanyDataTTL: 100 * time.Millisecond})
	get := func(path string, q url.Values, out any) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, shop.URL+path+"?"+q.Encode(), nil)
		req.Header.Set("X-Api-Key", "k")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode == http.StatusOK && out != nil {
			if err := json.Unmarshal(body, out); err != nil {
				t.Fatal(err)
			}
		}
		return res.StatusCode
	}
	shown := func() []string {
		t.Helper()
		var ids []string
		for q := (url.Values{"company": {"usmf"}, "per_page": {"100"}}); ; {
			var res storefront.SearchResult
			if st := get("/api/search", q, &res); st != http.StatusOK {
				t.Fatalf("search: %d", st)
			}
			for _, h := range res.Hits {
				ids = append(ids, h.ItemNumber)
			}
			if res.Next == "" {
				return ids
			}
			q.Set("after", res.Next)
		}
	}
	e := s.erp

	// A visible category of usmf whose products (in no other visible category) the shop shows.
	visible := map[string]bool{}
	for _, c := range e.All(t, "ProductCategories") {
		if c.S("dataAreaId") == "usmf" {
			visible[c.S("CategoryId")] = c.Yes("IsVisibleInWebshop")
		}
	}
	inCategory := map[string][]string{} // category -> items only it shows
	cats := map[string][]string{}       // item -> visible categories
	for _, a := range e.All(t, "ProductCategoryAssignments") {
		if a.S("dataAreaId") == "usmf" && visible[a.S("CategoryId")] {
			cats[a.S("ItemNumber")] = append(cats[a.S("ItemNumber")], a.S("CategoryId"))
		}
	}
	for item, cs := range cats {
		if len(cs) == 1 {
			inCategory[cs[0]] = append(inCategory[cs[0]], item)
		}
	}
	var category string
	for c, items := range inCategory {
		if len(items) > len(inCategory[category]) {
			category = c
		}
	}
	before := shown()
	for _, item := range inCategory[category] {
		if !slices.Contains(before, item) && !stopped(t, e, item) {
			t.Fatalf("product %s of visible category %s is not shown before the flip", item, category)
		}
	}
	// The line discount for all items and all customers (1 % from 100 pieces in the generated
	// catalog), and a product to price with it.
	all := e.First(t, "SalesLineDiscountAgreements", "dataAreaId eq 'usmf' and ItemCode eq 'All' and AccountCode eq 'All'")
	item := before[0]
	quote := func() storefront.PriceAnswer {
		t.Helper()
		var q storefront.PriceAnswer
		if st := get("/api/price", url.Values{"company": {"usmf"}, "item": {item}, "quantity": {"100"}}, &q); st != http.StatusOK || !q.Available {
			t.Fatalf("price of 100 of %s: %d %+v", item, st, q)
		}
		return q
	}
	withAll := func(q storefront.PriceAnswer) bool {
		return slices.Contains(q.Discounts, storefront.Discount{RecID: recID(t, all.S("RecordId")), Relation: "SalesLineAllAll"})
	}
	old := quote()
	if !withAll(old) {
		t.Fatalf("100 of %s for everybody before the change: %+v, want the line discount for all items among the discounts", item, old)
	}
	products, categories, discounts := s.indexWrites(erp.Products), s.indexWrites(erp.Categories), s.indexWrites(erp.LineDiscounts)

	e.Write(t, "PATCH", "ProductCategories"+key("usmf", "CategoryId", category), map[string]any{"IsVisibleInWebshop": "No"})
	e.Write(t, "PATCH", "SalesLineDiscountAgreements(dataAreaId='usmf',RecordId="+all.S("RecordId")+")", map[string]any{"DiscountPercentage1": 7})
	time.Sleep(s.settings.SafetyLag + time.Second)
	res := s.run(workflows.ProductImportName, activities.Update)
	for _, r := range res.Entities {
		t.Logf("update: %s %+v", r.Entity, r.Counts)
	}
	written := map[erp.Entity]int{erp.Products: s.indexWrites(erp.Products) - products, erp.Categories: s.indexWrites(erp.Categories) - categories,
		erp.LineDiscounts: s.indexWrites(erp.LineDiscounts) - discounts}
	t.Logf("documents written: %v (category %s, the only visible one of %d products; the line discount for all items of usmf)", written, category,
		len(inCategory[category]))
	if written[erp.Products] != 0 || written[erp.Categories] != 1 || written[erp.LineDiscounts] != 1 {
		t.Errorf("documents written %v: want one category, one line discount and no product", written)
	}
	if p := res.Of(erp.Products).Counts; mode == activities.ParentStamps && (p.Read == 0 || p.Unchanged != p.Read) {
		t.Errorf("products %+v: the add-on stamped them, the update should read them and find them unchanged", p)
	}

	// The shop, within Elasticsearch's refresh interval (1 s: the import does not wait for the
	// category's document to be searchable) and its company data's time to live.
	time.Sleep(1200 * time.Millisecond)
	after := shown()
	for _, it := range inCategory[category] {
		if slices.Contains(after, it) {
			t.Errorf("product %s of the hidden category %s is still shown", it, category)
		}
		if st := get("/api/products/usmf/"+it, url.Values{}, nil); st != http.StatusNotFound {
			t.Errorf("detail of %s in the hidden category: %d", it, st)
		}
	}
	if len(after) != len(before)-len(inCategory[category]) {
		t.Errorf("shown %d products after the flip, %d before, %d in the category", len(after), len(before), len(inCategory[category]))
	}
	// Find next accumulates: the discount goes from 1 % to 7 % more than the others'.
	q := quote()
	grew := new(big.Rat).Sub(rat(t, string(q.DiscountPercent)), rat(t, string(old.DiscountPercent)))
	if !withAll(q) || grew.Cmp(big.NewRat(6, 1)) != 0 {
		t.Errorf("100 of %s for everybody: discount %s%% by %v, before %s%% by %v; want the line discount for all items 6 points more", item,
			q.DiscountPercent, q.Discounts, old.DiscountPercent, old.Discounts)
	}
	s.checkProducts()
}

func recID(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func rat(t *testing.T, s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("%q is not a decimal", s)
	}
	return r
}

// stopped reports whether an item's sales are stopped (the shop does not show it anyway).
func stopped(t *testing.T, e *erpReader, item string) bool {
	return e.First(t, "ItemDefaultOrderSettings", "dataAreaId eq 'usmf' and ItemNumber eq '"+item+"'").Yes("IsSalesStopped")
}
