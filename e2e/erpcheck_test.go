package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
)

// row is one OData record as the ERP sent it, numbers kept as their exact text.
type row map[string]any

func (r row) s(k string) string {
	switch v := r[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return ""
	}
	return fmt.Sprint(r[k])
}

// dec is the canonical text of a decimal field.
func (r row) dec(t testing.TB, k string) string {
	d, err := erp.ParseDecimal(r.s(k))
	if err != nil {
		t.Fatalf("%s=%q: %v", k, r.s(k), err)
	}
	return d.String()
}

func (r row) yes(k string) bool { return r.s(k) == "Yes" }

// erpReader reads the ERP's collections over OData with nothing but net/http: the independent
// side of the comparisons.
type erpReader struct {
	base, token string
}

func newERPReader(t testing.TB, base, id, secret string) *erpReader {
	t.Helper()
	res, err := http.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v %s", err, res.Status)
	}
	return &erpReader{base: base, token: tok.AccessToken}
}

// all reads every record of a collection in every company, following @odata.nextLink.
func (e *erpReader) all(t testing.TB, coll string) []row {
	t.Helper()
	var out []row
	next := e.base + "/data/" + coll + "?cross-company=true"
	for next != "" {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Prefer", "odata.maxpagesize=5000")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Value []row  `json:"value"`
			Next  string `json:"@odata.nextLink"`
		}
		dec := json.NewDecoder(res.Body)
		dec.UseNumber()
		err = dec.Decode(&page)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("read %s: %s %v", coll, res.Status, err)
		}
		out = append(out, page.Value...)
		next = page.Next
	}
	return out
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
// document carries.
// Translations in the company's own language are left out on both sides: which text wins there
// is the document's rule, not the ERP's.
func (e *erpReader) expectedProducts(t testing.TB, companyLanguages map[string]string) map[string]expected {
	t.Helper()
	out := map[string]expected{}
	group := func(coll string, key func(row) string) map[string][]row {
		m := map[string][]row{}
		for _, r := range e.all(t, coll) {
			k := key(r)
			m[k] = append(m[k], r)
		}
		return m
	}
	byItem := func(r row) string { return idOf(r.s("dataAreaId"), r.s("ItemNumber")) }
	variants := group("ReleasedProductVariantsV2", byItem)
	translations := group("ProductTranslations", byItem)
	attachments := group("ProductAttachments", byItem)
	assignments := group("ProductCategoryAssignments", byItem)
	related := group("RelatedProducts", byItem)
	barcodes := group("ProductBarcodes", byItem)
	settings := group("ItemDefaultOrderSettings", byItem)
	prices := group("SalesPriceAgreements", func(r row) string {
		if r.s("ItemCode") == "All" {
			return "all:" + strings.ToLower(r.s("dataAreaId"))
		}
		return byItem(r)
	})
	visible := map[string]bool{}
	for _, c := range e.all(t, "ProductCategories") {
		visible[idOf(c.s("dataAreaId"), c.s("CategoryId"))] = c.yes("IsVisibleInWebshop")
	}
	for _, p := range e.all(t, "ReleasedProductsV2") {
		id := byItem(p)
		company := strings.ToLower(p.s("dataAreaId"))
		x := expected{
			"item_number": p.s("ItemNumber"),
			"modified_at": utc(t, p.s("ModifiedDateTime")),
			"base_price":  p.dec(t, "SalesPrice"),
			"currency":    p.s("SalesCurrencyCode"),
		}
		var vs, bs, cs, rs, as, ps, ts []string
		for _, v := range variants[id] {
			vs = append(vs, v.s("ProductVariantNumber"))
		}
		for _, b := range barcodes[id] {
			bs = append(bs, b.s("Barcode"))
		}
		vis := false
		for _, c := range assignments[id] {
			cs = append(cs, c.s("CategoryId"))
			vis = vis || visible[idOf(company, c.s("CategoryId"))]
		}
		for _, r := range related[id] {
			rs = append(rs, r.s("RelationType")+":"+r.s("RelatedItemNumber"))
		}
		for _, a := range attachments[id] {
			as = append(as, a.s("AttachmentId"))
		}
		for _, l := range append(prices[id], prices["all:"+company]...) {
			ps = append(ps, l.s("AgreementRecId")+"="+l.dec(t, "Price")+" "+l.s("PriceCurrencyCode"))
		}
		own := language(companyLanguages[company])
		for _, tr := range translations[id] {
			// The shop carries its languages only; the ERP may have more.
			if lang := language(tr.s("LanguageId")); lang != own && slices.Contains(document.DefaultLanguages(), lang) {
				ts = append(ts, lang+"="+tr.s("ProductName"))
			}
		}
		x["variants"], x["barcodes"], x["categories"], x["related"] = set(vs), set(bs), set(cs), set(rs)
		x["attachments"], x["prices"], x["translations"] = set(as), set(ps), set(ts)
		x["visible"] = fmt.Sprint(vis)
		x["sales_stopped"] = "false"
		if s := settings[id]; len(s) == 1 {
			x["sales_stopped"] = fmt.Sprint(s[0].yes("IsSalesStopped"))
			x["minimum_quantity"] = s[0].dec(t, "SalesMinimumQuantity")
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
	for _, l := range d.Languages {
		if l != d.Language {
			ts = append(ts, l+"="+d.Name[l])
		}
	}
	x["variants"], x["barcodes"], x["categories"], x["related"] = set(vs), set(append([]string(nil), d.Barcodes...)), set(cs), set(rs)
	x["attachments"], x["prices"], x["translations"] = set(as), set(ps), set(ts)
	if d.OrderSettings != nil {
		x["minimum_quantity"] = d.OrderSettings.MinimumQuantity
	}
	return x
}

// write sends a POST, PATCH or DELETE to the ERP, as a person editing in D365 would, and fails t
// unless the ERP accepts it. path is "Collection" or "Collection(key=...)".
func (e *erpReader) write(t testing.TB, method, path string, body map[string]any) {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = strings.NewReader(string(raw))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, e.base+"/data/"+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		var msg json.RawMessage
		_ = json.NewDecoder(res.Body).Decode(&msg)
		t.Fatalf("%s %s: %s %s", method, path, res.Status, msg)
	}
}

// first returns the first record of coll that matches an OData filter.
func (e *erpReader) first(t testing.TB, coll, filter string) row {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet,
		e.base+"/data/"+coll+"?cross-company=true&$top=1&$filter="+url.QueryEscape(filter), nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var page struct{ Value []row }
	dec := json.NewDecoder(res.Body)
	dec.UseNumber()
	if err := dec.Decode(&page); err != nil || len(page.Value) == 0 {
		t.Fatalf("no %s with %s (%s, %v)", coll, filter, res.Status, err)
	}
	return page.Value[0]
}
