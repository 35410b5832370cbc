package storefront_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/storefront"
)

// TestPerUnit: how many of the to unit one from unit is, by D365's documented rule, (1 + inner
// offset) * factor * numerator / denominator + outer offset, exact up to 6 decimals and rounded
// beyond them as the conversion says. The expected values are worked out by hand from the rule.
func TestPerUnit(t *testing.T) {
	conv := func(factor string, num, den int64, inner, outer, rounding string) document.UnitConversion {
		return document.UnitConversion{From: "a", To: "b", Factor: factor, Numerator: num, Denominator: den, InnerOffset: inner, OuterOffset: outer, Rounding: rounding}
	}
	for _, tc := range []struct {
		name string
		c    document.UnitConversion
		want string
	}{
		{"box of 12", conv("12", 1, 1, "0", "0", "Nearest"), "12"},
		{"pallet of 480", conv("480", 1, 1, "", "", ""), "480"},
		{"half a box of 12.5", conv("12.5", 1, 2, "0", "0", "Up"), "6.25"},
		{"a third, up", conv("1", 1, 3, "0", "0", "Up"), "0.333334"},
		{"a third, down", conv("1", 1, 3, "0", "0", "Down"), "0.333333"},
		{"a third, nearest", conv("1", 1, 3, "0", "0", "Nearest"), "0.333333"},
		{"two thirds, nearest", conv("1", 2, 3, "0", "0", "Nearest"), "0.666667"},
		{"Celsius to Fahrenheit (outer offset)", conv("1.8", 1, 1, "0", "32", "Nearest"), "33.8"},
		{"Fahrenheit to Celsius (inner offset), nearest", conv("5", 1, 9, "-32", "0", "Nearest"), "-17.222222"},
		{"Fahrenheit to Celsius, up", conv("5", 1, 9, "-32", "0", "Up"), "-17.222222"},
		{"Fahrenheit to Celsius, down", conv("5", 1, 9, "-32", "0", "Down"), "-17.222223"},
	} {
		got, ok := storefront.PerUnit(tc.c)
		if !ok || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
	if got, ok := storefront.PerUnit(conv("12", 1, 0, "0", "0", "")); ok {
		t.Errorf("a zero denominator converts to %q", got)
	}
	if got, ok := storefront.PerUnit(conv("1e", 1, 1, "0", "0", "")); ok {
		t.Errorf("factor 1e converts to %q", got)
	}
}

// testUnitConversions: a product page shows the product's unit conversions as the ERP has them
// ("1 box = 12 ea"), and one the shop adds in the ERP, with a fraction and a rounding, after an
// update.
func testUnitConversions(t *testing.T, f *fixture, cat *erpCatalog) {
	// The conversions of every showable product of the company, from the ERP: a conversion is the
	// shared product's, reaching the release whose ProductNumber is its own.
	number := map[string]string{}
	for _, p := range f.erp.All(t, "ReleasedProductsV2") {
		if p.S("dataAreaId") == apiTestCompany && cat.showable[key(apiTestCompany, p.S("ItemNumber"))] {
			number[p.S("ProductNumber")] = p.S("ItemNumber")
		}
	}
	want := map[string][]storefront.UnitConversion{}
	for _, c := range f.erp.All(t, "ProductUnitOfMeasureConversions") {
		item, ok := number[c.S("ProductNumber")]
		if !ok {
			continue
		}
		// The generated conversions are whole: factor times 1/1, no offsets.
		if c.S("Numerator") != "1" || c.S("Denominator") != "1" || c.S("InnerOffset") != "0" || c.S("OuterOffset") != "0" {
			t.Fatalf("conversion %v is not one this test can work out", c)
		}
		want[item] = append(want[item], storefront.UnitConversion{From: c.S("FromUnitSymbol"), To: c.S("ToUnitSymbol"), Quantity: c.S("Factor")})
	}
	if len(want) < 3 {
		t.Fatalf("%d showable products with unit conversions", len(want))
	}
	checked := 0
	for item, convs := range want {
		if checked++; checked > 5 {
			break
		}
		var d storefront.Product
		if st, body := f.get("/api/products/"+apiTestCompany+"/"+item, nil, &d); st != http.StatusOK {
			t.Fatalf("detail %s: %d %s", item, st, body)
		}
		if !sameConversions(d.UnitConversions, convs) {
			t.Errorf("detail %s shows conversions %+v, the ERP has %+v", item, d.UnitConversions, convs)
		}
	}
	// A conversion the shop adds in the ERP, with a fraction and a rounding, after the next
	// update: 1 case is (1 + 0) * 12.5 * 1 / 3 + 0 = 4.1666... ea, rounded up at 6 decimals.
	var item string
	for it := range want {
		item = it
		break
	}
	var p storefront.Product
	f.get("/api/products/"+apiTestCompany+"/"+item, nil, &p)
	f.erp.Write(t, http.MethodPost, "ProductUnitOfMeasureConversions", map[string]any{"FromUnitSymbol": "case", "ToUnitSymbol": p.Unit,
		"ProductNumber": releasedAs(t, f, item), "Factor": 12.5, "Numerator": 1, "Denominator": 3, "Rounding": "Up"})
	time.Sleep(1500 * time.Millisecond) // past the import's safety lag by the ERP's clock (whole seconds)
	f.sync(erp.Products, activities.Update)
	var d storefront.Product
	if st, body := f.get("/api/products/"+apiTestCompany+"/"+item, nil, &d); st != http.StatusOK {
		t.Fatalf("detail %s: %d %s", item, st, body)
	}
	if added := (storefront.UnitConversion{From: "case", To: p.Unit, Quantity: "4.166667"}); !sameConversions(d.UnitConversions, append(want[item], added)) {
		t.Errorf("detail %s after adding a case: %+v, want %+v and %+v", item, d.UnitConversions, want[item], added)
	}
}

// releasedAs returns the ProductNumber of usmf's item.
func releasedAs(t *testing.T, f *fixture, item string) string {
	for _, p := range f.erp.All(t, "ReleasedProductsV2") {
		if p.S("dataAreaId") == apiTestCompany && p.S("ItemNumber") == item {
			return p.S("ProductNumber")
		}
	}
	t.Fatalf("no product %s", item)
	return ""
}

func sameConversions(got, want []storefront.UnitConversion) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			return false
		}
	}
	return true
}
