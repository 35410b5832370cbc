package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/simtest"
)

// row is one OData record as the ERP sent it.
type row = simtest.Row

// erpReader reads the ERP with nothing but net/http (simtest.Reader): the independent side of
// the comparisons; this package adds what it expects the index to hold.
type erpReader struct{ *simtest.Reader }

// dec is the canonical text of a decimal field.
func dec(t testing.TB, r row, k string) string {
	d, err := erp.ParseDecimal(r.S(k))
	if err != nil {
		t.Fatalf("%s=%q: %v", k, r.S(k), err)
	}
	return d.String()
}

// expected is what the index must hold for one record: the fields the checker derives from the
// ERP, as flat comparable strings.
type expected map[string]string

// language is the primary subtag of an ERP language id: "en-us" -> "en".
func language(id string) string { return strings.ToLower(strings.SplitN(id, "-", 2)[0]) }

// utc normalises a date-time text so that both sides compare equal when they mean one instant.
func utc(t testing.TB, s string) string {
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("date-time %q: %v", s, err)
	}
	return ts.UTC().Format(time.RFC3339Nano)
}

func idOf(company, key string) string { return strings.ToLower(company) + ":" + key }

func set(xs []string) string {
	sort.Strings(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return strings.Join(out, ",")
}

// expectedProducts derives from the ERP, for every released product, the fields a product
// document carries, names per shop language by D365's rule (docs/erp-model.md).
func (e *erpReader) expectedProducts(t testing.TB) map[string]expected {
	t.Helper()
	out := map[string]expected{}
	group := func(coll string, key func(row) string) map[string][]row {
		m := map[string][]row{}
		for _, r := range e.All(t, coll) {
			k := key(r)
			m[k] = append(m[k], r)
		}
		return m
	}
	byItem := func(r row) string { return idOf(r.S("dataAreaId"), r.S("ItemNumber")) }
	variants := group("ReleasedProductVariantsV2", byItem)
	translations := group("ProductTranslations", byItem)
	attachments := group("ProductAttachments", byItem)
	assignments := group("ProductCategoryAssignments", byItem)
	related := group("RelatedProducts", byItem)
	barcodes := group("ProductBarcodes", byItem)
	settings := group("ItemDefaultOrderSettings", byItem)
	prices := group("SalesPriceAgreements", func(r row) string {
		if r.S("ItemCode") == "All" {
			return "all:" + strings.ToLower(r.S("dataAreaId"))
		}
		return byItem(r)
	})
	visible := map[string]bool{}
	for _, c := range e.All(t, "ProductCategories") {
		visible[idOf(c.S("dataAreaId"), c.S("CategoryId"))] = c.Yes("IsVisibleInWebshop")
	}
	for _, p := range e.All(t, "ReleasedProductsV2") {
		id := byItem(p)
		company := strings.ToLower(p.S("dataAreaId"))
		x := expected{
			"item_number": p.S("ItemNumber"),
			"modified_at": utc(t, p.S("ModifiedDateTime")),
			"base_price":  dec(t, p, "SalesPrice"),
			"currency":    p.S("SalesCurrencyCode"),
		}
		var vs, bs, cs, rs, as, ps, ts []string
		for _, v := range variants[id] {
			vs = append(vs, v.S("ProductVariantNumber"))
		}
		for _, b := range barcodes[id] {
			bs = append(bs, b.S("Barcode"))
		}
		vis := false
		for _, c := range assignments[id] {
			cs = append(cs, c.S("CategoryId"))
			vis = vis || visible[idOf(company, c.S("CategoryId"))]
		}
		for _, r := range related[id] {
			rs = append(rs, r.S("RelationType")+":"+r.S("RelatedItemNumber"))
		}
		for _, a := range attachments[id] {
			as = append(as, a.S("AttachmentId"))
		}
		for _, l := range append(prices[id], prices["all:"+company]...) {
			ps = append(ps, l.S("AgreementRecId")+"="+dec(t, l, "Price")+" "+l.S("PriceCurrencyCode"))
		}
		// D365 shows a product's translation in a language, and its own name (kept in the
		// system language) where it has none; the shop carries its languages only.
		byLang := map[string][]string{}
		for _, tr := range translations[id] {
			if n := tr.S("ProductName"); n != "" {
				byLang[language(tr.S("LanguageId"))] = append(byLang[language(tr.S("LanguageId"))], n)
			}
		}
		for _, l := range document.DefaultLanguages() {
			switch names := byLang[l]; len(names) {
			case 0:
				if p.S("ProductName") != "" {
					ts = append(ts, l+"="+p.S("ProductName"))
				}
			case 1:
				ts = append(ts, l+"="+names[0])
			default:
				// Several ids of one language (en-us and en-gb): which one wins is the document's
				// rule; the catalogs of these tests have one id per language.
				t.Errorf("%s has %d translations into %s: the checker expects one", id, len(names), l)
			}
		}
		x["variants"], x["barcodes"], x["categories"], x["related"] = set(vs), set(bs), set(cs), set(rs)
		x["attachments"], x["prices"], x["translations"] = set(as), set(ps), set(ts)
		x["visible"] = fmt.Sprint(vis)
		x["sales_stopped"] = "false"
		if s := settings[id]; len(s) == 1 {
			x["sales_stopped"] = fmt.Sprint(s[0].Yes("IsSalesStopped"))
			x["minimum_quantity"] = dec(t, s[0], "SalesMinimumQuantity")
		}
		out[id] = x
	}
	return out
}

// actualProduct flattens a product document the way expectedProducts does.
func actualProduct(t testing.TB, src json.RawMessage) expected {
	var d struct {
		ItemNumber   string   `json:"item_number"`
		ModifiedAt   string   `json:"modified_at"`
		BasePrice    string   `json:"base_price"`
		Currency     string   `json:"currency"`
		Visible      bool     `json:"visible"`
		SalesStopped bool     `json:"sales_stopped"`
		Language     string   `json:"language"`
		Languages    []string `json:"languages"`
		Name         map[string]string
		Variants     []struct {
			VariantNumber string `json:"variant_number"`
		}
		Barcodes   []string
		Categories []struct{ ID string }
		Related    []struct {
			ItemNumber   string `json:"item_number"`
			RelationType string `json:"relation_type"`
		}
		Attachments []struct{ ID string }
		Prices      []struct {
			RecID    int64 `json:"rec_id"`
			Price    string
			Currency string
		}
		OrderSettings *struct {
			MinimumQuantity string `json:"minimum_quantity"`
		} `json:"order_settings"`
	}
	if err := json.Unmarshal(src, &d); err != nil {
		t.Fatal(err)
	}
	base := d.BasePrice
	if base == "" {
		base = "0"
	}
	x := expected{"item_number": d.ItemNumber, "modified_at": utc(t, d.ModifiedAt), "base_price": base, "currency": d.Currency,
		"visible": fmt.Sprint(d.Visible), "sales_stopped": fmt.Sprint(d.SalesStopped)}
	var vs, cs, rs, as, ps, ts []string
	for _, v := range d.Variants {
		vs = append(vs, v.VariantNumber)
	}
	for _, c := range d.Categories {
		cs = append(cs, c.ID)
	}
	for _, r := range d.Related {
		rs = append(rs, r.RelationType+":"+r.ItemNumber)
	}
	for _, a := range d.Attachments {
		as = append(as, a.ID)
	}
	for _, p := range d.Prices {
		ps = append(ps, fmt.Sprintf("%d=%s %s", p.RecID, p.Price, p.Currency))
	}
	for _, l := range document.DefaultLanguages() {
		if n, ok := d.Name[l]; ok {
			ts = append(ts, l+"="+n)
		}
	}
	x["variants"], x["barcodes"], x["categories"], x["related"] = set(vs), set(append([]string(nil), d.Barcodes...)), set(cs), set(rs)
	x["attachments"], x["prices"], x["translations"] = set(as), set(ps), set(ts)
	if d.OrderSettings != nil {
		x["minimum_quantity"] = d.OrderSettings.MinimumQuantity
	}
	return x
}

// unindexableProducts returns the ids of the products the ERP holds that no search document can
// be made of, by documented rules rather than by the connector's code (the poison records a test
// plants, or its change driver makes when it edits free text):
//   - a number beyond the range of a double (IEEE 754 binary64, about 1.8e308) in the product's
//     sales price or in a price, from-quantity or to-quantity of its price lines: documents keep
//     a double beside the exact text, and JSON has no infinity;
//   - a currency that is not an ISO 4217 code (three upper-case letters) in the product's sales
//     currency (which may be empty) or in one of its price lines.
//
// A company's ItemCode=All lines are each of its products' lines.
func (e *erpReader) unindexableProducts(t testing.TB) map[string]bool {
	t.Helper()
	infinite := func(r row, k string) bool {
		v, _ := strconv.ParseFloat(r.S(k), 64)
		return math.IsInf(v, 0)
	}
	iso4217 := regexp.MustCompile(`^[A-Z]{3}$`)
	badLine := func(l row) bool {
		return !iso4217.MatchString(l.S("PriceCurrencyCode")) || infinite(l, "Price") || infinite(l, "FromQuantity") || infinite(l, "ToQuantity")
	}
	badItems, badCompanies := map[string]bool{}, map[string]bool{}
	for _, l := range e.All(t, "SalesPriceAgreements") {
		if !badLine(l) {
			continue
		}
		if l.S("ItemCode") == "All" {
			badCompanies[strings.ToLower(l.S("dataAreaId"))] = true
		} else {
			badItems[idOf(l.S("dataAreaId"), l.S("ItemNumber"))] = true
		}
	}
	out := map[string]bool{}
	for _, p := range e.All(t, "ReleasedProductsV2") {
		id := idOf(p.S("dataAreaId"), p.S("ItemNumber"))
		cur := p.S("SalesCurrencyCode")
		if badItems[id] || badCompanies[strings.ToLower(p.S("dataAreaId"))] || infinite(p, "SalesPrice") || cur != "" && !iso4217.MatchString(cur) {
			out[id] = true
		}
	}
	return out
}
