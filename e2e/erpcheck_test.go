package e2e

import (
	"encoding/json"
	"errors"
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
// document carries, names per shop language by D365's rule (docs/erp-model.md): only what is the
// product's own (its categories by id, its own price and line discount lines), and its "from"
// price per customer price group (document.FromPrice's rule). modified_at is not among them:
// see modifiedAt.
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
	prices := group("SalesPriceAgreements", byItem)
	// Unit conversions belong to the shared product (ProductNumber), not to a company: every
	// company's release of the product carries them.
	conversions := group("ProductUnitOfMeasureConversions", func(r row) string { return r.S("ProductNumber") })
	discounts := group("SalesLineDiscountAgreements", func(r row) string {
		if r.S("ItemCode") != "Table" {
			return "" // an item group's or all items': not on a product
		}
		return byItem(r)
	})
	for _, p := range e.All(t, "ReleasedProductsV2") {
		id := byItem(p)
		x := expected{
			"item_number":    p.S("ItemNumber"),
			"base_price":     dec(t, p, "SalesPrice"),
			"currency":       p.S("SalesCurrencyCode"),
			"discount_group": p.S("SalesLineDiscountProductGroupCode"),
		}
		var vs, bs, cs, rs, as, ps, ds, ts, us []string
		for _, u := range conversions[p.S("ProductNumber")] {
			us = append(us, fmt.Sprintf("%s>%s=%s*%s/%s+%s,%s %s", u.S("FromUnitSymbol"), u.S("ToUnitSymbol"), dec(t, u, "Factor"),
				u.S("Numerator"), u.S("Denominator"), dec(t, u, "InnerOffset"), dec(t, u, "OuterOffset"), u.S("Rounding")))
		}
		for _, v := range variants[id] {
			vs = append(vs, v.S("ProductVariantNumber"))
		}
		for _, b := range barcodes[id] {
			bs = append(bs, b.S("Barcode"))
		}
		for _, c := range assignments[id] {
			cs = append(cs, c.S("CategoryId"))
		}
		for _, r := range related[id] {
			rs = append(rs, r.S("RelationType")+":"+r.S("RelatedItemNumber"))
		}
		for _, a := range attachments[id] {
			as = append(as, a.S("AttachmentId"))
		}
		for _, l := range prices[id] {
			ps = append(ps, l.S("RecordId")+"="+dec(t, l, "Price")+" "+l.S("PriceCurrencyCode")+" next="+l.S("WillSearchContinue"))
		}
		for _, l := range discounts[id] {
			ds = append(ds, fmt.Sprintf("%s=%s/%s/%s %s next=%s", l.S("RecordId"), dec(t, l, "DiscountPercentage1"), dec(t, l, "DiscountPercentage2"),
				dec(t, l, "DiscountAmount"), l.S("DiscountCurrencyCode"), l.S("WillSearchContinue")))
		}
		x["from_prices"] = fromPrices(t, p, prices[id])
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
		x["attachments"], x["prices"], x["line_discounts"], x["translations"] = set(as), set(ps), set(ds), set(ts)
		x["unit_conversions"] = set(us)
		x["sales_stopped"] = "false"
		if s := settings[id]; len(s) == 1 {
			x["sales_stopped"] = fmt.Sprint(s[0].Yes("IsSalesStopped"))
			x["minimum_quantity"] = dec(t, s[0], "SalesMinimumQuantity")
		}
		out[id] = x
	}
	return out
}

// fromPrices is the "from" price of each customer price group of a product, as "group=price"
// ("" for everybody): the lowest of the base price and the lines for all customers in the
// product's currency, and for a group with lines of its own the lowest of that and its lines.
func fromPrices(t testing.TB, p row, lines []row) string {
	cur := p.S("SalesCurrencyCode")
	f := func(r row, k string) float64 {
		v, err := strconv.ParseFloat(dec(t, r, k), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) { // beyond a double: an unindexable product's, which callers leave out
			t.Fatal(err)
		}
		return v
	}
	all, hasAll := 0.0, false
	if base := f(p, "SalesPrice"); base != 0 {
		all, hasAll = base, true
	}
	groups := map[string]float64{}
	for _, l := range lines {
		if cur != "" && l.S("PriceCurrencyCode") != cur {
			continue
		}
		v := f(l, "Price")
		switch g := l.S("PriceCustomerGroupCode"); l.S("AccountCode") {
		case "All":
			if !hasAll || v < all {
				all, hasAll = v, true
			}
		case "GroupId":
			if old, ok := groups[g]; g != "" && (!ok || v < old) {
				groups[g] = v
			}
		}
	}
	var out []string
	if hasAll {
		out = append(out, "="+strconv.FormatFloat(all, 'g', -1, 64))
	}
	for g, v := range groups {
		if hasAll && all < v {
			v = all
		}
		out = append(out, g+"="+strconv.FormatFloat(v, 'g', -1, 64))
	}
	return set(out)
}

// actualProduct flattens a product document the way expectedProducts does.
func actualProduct(t testing.TB, src json.RawMessage) expected {
	var d struct {
		ItemNumber    string   `json:"item_number"`
		BasePrice     string   `json:"base_price"`
		Currency      string   `json:"currency"`
		DiscountGroup string   `json:"discount_group"`
		SalesStopped  bool     `json:"sales_stopped"`
		Language      string   `json:"language"`
		Languages     []string `json:"languages"`
		Name          map[string]string
		Variants      []struct {
			VariantNumber string `json:"variant_number"`
		}
		Barcodes    []string
		CategoryIDs []string `json:"category_ids"`
		Related     []struct {
			ItemNumber   string `json:"item_number"`
			RelationType string `json:"relation_type"`
		}
		Attachments []struct{ ID string }
		Prices      []struct {
			RecID    int64 `json:"rec_id"`
			Price    string
			Currency string
			FindNext bool `json:"find_next"`
		}
		LineDiscounts []struct {
			RecID                      int64 `json:"rec_id"`
			Percent1, Percent2, Amount string
			Currency                   string
			FindNext                   bool `json:"find_next"`
		} `json:"line_discounts"`
		FromPrices []struct {
			Group string
			Price float64
		} `json:"from_prices"`
		OrderSettings *struct {
			MinimumQuantity string `json:"minimum_quantity"`
		} `json:"order_settings"`
		UnitConversions []struct {
			From, To, Factor, Rounding string
			Numerator, Denominator     int64
			InnerOffset                string `json:"inner_offset"`
			OuterOffset                string `json:"outer_offset"`
		} `json:"unit_conversions"`
	}
	if err := json.Unmarshal(src, &d); err != nil {
		t.Fatal(err)
	}
	base := d.BasePrice
	if base == "" {
		base = "0"
	}
	x := expected{"item_number": d.ItemNumber, "base_price": base, "currency": d.Currency, "discount_group": d.DiscountGroup,
		"sales_stopped": fmt.Sprint(d.SalesStopped)}
	var vs, rs, as, ps, ds, fs, ts, us []string
	for _, u := range d.UnitConversions {
		us = append(us, fmt.Sprintf("%s>%s=%s*%d/%d+%s,%s %s", u.From, u.To, u.Factor, u.Numerator, u.Denominator, u.InnerOffset, u.OuterOffset, u.Rounding))
	}
	for _, v := range d.Variants {
		vs = append(vs, v.VariantNumber)
	}
	for _, r := range d.Related {
		rs = append(rs, r.RelationType+":"+r.ItemNumber)
	}
	for _, a := range d.Attachments {
		as = append(as, a.ID)
	}
	yes := map[bool]string{true: "Yes", false: "No"}
	for _, p := range d.Prices {
		ps = append(ps, fmt.Sprintf("%d=%s %s next=%s", p.RecID, p.Price, p.Currency, yes[p.FindNext]))
	}
	for _, l := range d.LineDiscounts {
		ds = append(ds, fmt.Sprintf("%d=%s/%s/%s %s next=%s", l.RecID, l.Percent1, l.Percent2, l.Amount, l.Currency, yes[l.FindNext]))
	}
	for _, f := range d.FromPrices {
		fs = append(fs, f.Group+"="+strconv.FormatFloat(f.Price, 'g', -1, 64))
	}
	for _, l := range document.DefaultLanguages() {
		if n, ok := d.Name[l]; ok {
			ts = append(ts, l+"="+n)
		}
	}
	x["variants"], x["barcodes"], x["categories"], x["related"] = set(vs), set(append([]string(nil), d.Barcodes...)), set(append([]string(nil), d.CategoryIDs...)), set(rs)
	x["attachments"], x["prices"], x["line_discounts"], x["from_prices"], x["translations"] = set(as), set(ps), set(ds), set(fs), set(ts)
	x["unit_conversions"] = set(us)
	if d.OrderSettings != nil {
		x["minimum_quantity"] = d.OrderSettings.MinimumQuantity
	}
	return x
}

// modifiedAt returns the ERP's ModifiedDateTime of each product and each document's modified_at.
// A document's modified_at is the stamp of the read that last changed its content: an update
// does not rewrite a product an ERP add-on stamped for a change its document does not hold (a
// category, a group's line discount), so it may be before the ERP's stamp, never after.
func modifiedAt(t testing.TB, p row, src json.RawMessage) (erpStamp, doc time.Time) {
	var d struct {
		ModifiedAt time.Time `json:"modified_at"`
	}
	if err := json.Unmarshal(src, &d); err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse(time.RFC3339Nano, p.S("ModifiedDateTime"))
	if err != nil {
		t.Fatal(err)
	}
	return ts, d.ModifiedAt
}

// expectedCompanyData derives from the ERP what the company-wide indexes hold: every category
// (name, parent, visibility), every line discount for an item group or all items, and each
// company's activated relations, by document id.
func (e *erpReader) expectedCompanyData(t testing.TB) map[erp.Entity]map[string]expected {
	out := map[erp.Entity]map[string]expected{erp.Categories: {}, erp.LineDiscounts: {}, erp.Activations: {}}
	for _, c := range e.All(t, "ProductCategories") {
		out[erp.Categories][idOf(c.S("dataAreaId"), c.S("CategoryId"))] = expected{"name": c.S("CategoryName"), "parent": c.S("ParentCategoryId"),
			"visible": fmt.Sprint(c.Yes("IsVisibleInWebshop"))}
	}
	for _, l := range e.All(t, "SalesLineDiscountAgreements") {
		if l.S("ItemCode") == "Table" {
			continue
		}
		rel := map[string]string{"Table": l.S("CustomerAccountNumber"), "GroupId": l.S("LineDiscountCustomerGroupCode")}[l.S("AccountCode")]
		out[erp.LineDiscounts][idOf(l.S("dataAreaId"), l.S("RecordId"))] = expected{
			"item": l.S("ItemCode") + ":" + l.S("LineDiscountProductGroupCode"), "account": l.S("AccountCode") + ":" + rel,
			"discount": dec(t, l, "DiscountPercentage1") + "/" + dec(t, l, "DiscountPercentage2") + "/" + dec(t, l, "DiscountAmount") + " " + l.S("DiscountCurrencyCode"),
			"quantity": dec(t, l, "FromQuantity") + ".." + dec(t, l, "ToQuantity"), "next": l.S("WillSearchContinue"),
		}
	}
	for _, a := range e.All(t, "PriceParameters") {
		var on []string
		for k := range a {
			if strings.HasPrefix(k, "SalesPrice") || strings.HasPrefix(k, "SalesLine") {
				if a.Yes(k) {
					on = append(on, k)
				}
			}
		}
		out[erp.Activations][idOf(a.S("dataAreaId"), a.S("Key"))] = expected{"activated": set(on)}
	}
	return out
}

// actualCompanyData flattens a company-wide document the way expectedCompanyData does.
func actualCompanyData(t testing.TB, e erp.Entity, src json.RawMessage) expected {
	var d struct {
		Name, ParentID                                                 string
		Visible                                                        bool
		ItemCode, ItemGroup, AccountCode, Customer, CustomerGroup      string
		Percent1, Percent2, Amount, Currency, FromQuantity, ToQuantity string
		FindNext                                                       bool
		Activated                                                      []string
	}
	// The document's field names, snake case, into the flat struct.
	var raw map[string]any
	if err := json.Unmarshal(src, &raw); err != nil {
		t.Fatal(err)
	}
	str := func(k string) string { v, _ := raw[k].(string); return v }
	d.Name, d.ParentID, d.Visible = str("name"), str("parent_id"), raw["visible"] == true
	d.ItemCode, d.ItemGroup, d.AccountCode, d.Customer, d.CustomerGroup = str("item_code"), str("item_group"), str("account_code"), str("customer"), str("customer_group")
	d.Percent1, d.Percent2, d.Amount, d.Currency = str("percent1"), str("percent2"), str("amount"), str("currency")
	d.FromQuantity, d.ToQuantity, d.FindNext = str("from_quantity"), str("to_quantity"), raw["find_next"] == true
	if as, ok := raw["activated"].([]any); ok {
		for _, a := range as {
			d.Activated = append(d.Activated, fmt.Sprint(a))
		}
	}
	switch e {
	case erp.Categories:
		return expected{"name": d.Name, "parent": d.ParentID, "visible": fmt.Sprint(d.Visible)}
	case erp.LineDiscounts:
		rel := map[string]string{"Table": d.Customer, "GroupId": d.CustomerGroup}[d.AccountCode]
		return expected{"item": d.ItemCode + ":" + d.ItemGroup, "account": d.AccountCode + ":" + rel,
			"discount": d.Percent1 + "/" + d.Percent2 + "/" + d.Amount + " " + d.Currency, "quantity": d.FromQuantity + ".." + d.ToQuantity,
			"next": map[bool]string{true: "Yes", false: "No"}[d.FindNext]}
	}
	return expected{"activated": set(d.Activated)}
}

// unindexableProducts returns the ids of the products the ERP holds that no search document can
// be made of, by documented rules rather than by the connector's code (the poison records a test
// plants, or its change driver makes when it edits free text):
//   - a number beyond the range of a double (IEEE 754 binary64, about 1.8e308) in the product's
//     sales price or in a price, from-quantity or to-quantity of its price lines: documents keep
//     a double beside the exact text, and JSON has no infinity;
//   - a currency that is not an ISO 4217 code (three upper-case letters) in the product's sales
//     currency (which may be empty) or in one of its price lines.
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
	badItems := map[string]bool{}
	for _, l := range e.All(t, "SalesPriceAgreements") {
		if badLine(l) {
			badItems[idOf(l.S("dataAreaId"), l.S("ItemNumber"))] = true
		}
	}
	out := map[string]bool{}
	for _, p := range e.All(t, "ReleasedProductsV2") {
		id := idOf(p.S("dataAreaId"), p.S("ItemNumber"))
		cur := p.S("SalesCurrencyCode")
		if badItems[id] || infinite(p, "SalesPrice") || cur != "" && !iso4217.MatchString(cur) {
			out[id] = true
		}
	}
	return out
}
