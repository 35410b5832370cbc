package document

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var goldenOptions = Options{CompanyLanguages: map[string]string{"USMF": "en-us", "demf": "de"}}

// TestGolden builds each testdata/<name>.input.json into its document and compares it with
// testdata/<name>.golden.json. Run with -update to rewrite the goldens after a deliberate
// change, and review the diff.
func TestGolden(t *testing.T) {
	cases := []struct {
		name  string
		build func(t *testing.T, in []byte) any
	}{
		{"product-master", func(t *testing.T, in []byte) any { return product(t, decode[erp.Product](t, in), goldenOptions) }},
		{"product-plain", func(t *testing.T, in []byte) any { return product(t, decode[erp.Product](t, in), goldenOptions) }},
		{"customer", func(t *testing.T, in []byte) any { return FromCustomer(decode[erp.Customer](t, in)) }},
		{"contact", func(t *testing.T, in []byte) any { return FromContact(decode[erp.Contact](t, in)) }},
		{"salesrep", func(t *testing.T, in []byte) any { return FromSalesRep(decode[erp.SalesRep](t, in)) }},
		{"category", func(t *testing.T, in []byte) any { return FromCategory(decode[erp.Category](t, in)) }},
		{"linediscount", func(t *testing.T, in []byte) any {
			return FromLineDiscount(decode[erp.LineDiscountAgreement](t, in))
		}},
		{"activation", func(t *testing.T, in []byte) any { return FromActivation(decode[erp.Activation](t, in)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", c.name+".input.json"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(c.build(t, in), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", c.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./document -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file; got:\n%s\nrun go test ./document -update if the change is intended", golden, got)
			}
		})
	}
}

func decode[T any](t *testing.T, in []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode input: %v", err)
	}
	return v
}

func TestIDAndVersion(t *testing.T) {
	if got := ID("USMF", "US-001"); got != "usmf:US-001" {
		t.Errorf("ID = %q", got)
	}
	ts := time.Date(2026, 11, 27, 10, 15, 30, 123456789, time.UTC)
	if got := Version(ts); got != 1795774530123456 {
		t.Errorf("Version = %d", got)
	}
	if Version(ts.Add(time.Microsecond)) <= Version(ts) {
		t.Error("a later modification must have a higher version")
	}
}

func TestLanguage(t *testing.T) {
	for in, want := range map[string]string{
		"en-us": "en", "EN-GB": "en", "de": "de", "de-CH": "de", "nl": "nl", "fr-be": "fr", "zh_Hans": "zh", " fr ": "fr", "": "",
	} {
		if got := Language(in); got != want {
			t.Errorf("Language(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTexts(t *testing.T) {
	base := erp.Product{Company: "usmf", ItemNumber: "1", Name: "Chair", Description: "A chair."}
	cases := []struct {
		name     string
		p        erp.Product
		o        Options
		wantName map[string]string
		wantDesc map[string]string
		wantOwn  []string
	}{
		{
			name:     "no translations: the product's own text (the system language's) everywhere",
			p:        base,
			wantName: map[string]string{"en": "Chair", "de": "Chair", "nl": "Chair", "fr": "Chair"},
			wantDesc: map[string]string{"en": "A chair.", "de": "A chair.", "nl": "A chair.", "fr": "A chair."},
			wantOwn:  nil,
		},
		{
			name: "a translation wins over the product's own text; exact code wins over a region",
			p: with(base, func(p *erp.Product) {
				p.Translations = []erp.Translation{{Language: "en-us", Name: "Seat"}, {Language: "de-at", Name: "Sessel"}, {Language: "de", Name: "Stuhl"}}
			}),
			wantName: map[string]string{"en": "Seat", "de": "Stuhl", "nl": "Chair", "fr": "Chair"},
			wantDesc: map[string]string{"en": "A chair.", "de": "A chair.", "nl": "A chair.", "fr": "A chair."},
			wantOwn:  []string{"de", "en"},
		},
		{
			// A German company's product renamed in D365: ProductName changes, the German
			// translation does not, and German shoppers keep seeing the translation.
			name: "German company: its language's translation wins over ProductName; unsupported languages dropped",
			p: with(base, func(p *erp.Product) {
				p.Company, p.Name, p.Description = "demf", "Renamed chair", ""
				p.Translations = []erp.Translation{{Language: "de", Name: "Stuhl"}, {Language: "en-us", Name: "Chair", Description: "A chair."}, {Language: "es", Name: "Silla"}}
			}),
			o:        Options{CompanyLanguages: map[string]string{"DEMF": "de"}, Languages: []string{"de", "en"}},
			wantName: map[string]string{"de": "Stuhl", "en": "Chair"},
			wantDesc: map[string]string{"en": "A chair."},
			wantOwn:  []string{"de", "en"},
		},
		{
			name:    "no text at all",
			p:       erp.Product{Company: "usmf", ItemNumber: "2"},
			wantOwn: nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := product(t, c.p, c.o)
			if !mapsEqual(d.Name, c.wantName) || !mapsEqual(d.Description, c.wantDesc) || !slices.Equal(d.Languages, c.wantOwn) {
				t.Errorf("name %v description %v languages %v;\nwant %v %v %v", d.Name, d.Description, d.Languages, c.wantName, c.wantDesc, c.wantOwn)
			}
		})
	}
}

// TestCategoryIDs: a product names every category it is assigned to, once, in its display
// order; whether one is visible is the category's document's business.
func TestCategoryIDs(t *testing.T) {
	cats := []erp.ProductCategory{{ID: "B", DisplayOrder: 2}, {ID: "A", DisplayOrder: 5}, {ID: "C", DisplayOrder: 2}, {ID: "B", DisplayOrder: 9}, {ID: ""}}
	d := product(t, erp.Product{Company: "usmf", ItemNumber: "1", Categories: cats}, Options{})
	if want := []string{"B", "C", "A"}; !slices.Equal(d.CategoryIDs, want) {
		t.Errorf("category ids %v, want %v", d.CategoryIDs, want)
	}
}

func TestEmptyChildren(t *testing.T) {
	d := product(t, erp.Product{Company: "USMF", ItemNumber: "1", Modified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))}, Options{})
	if d.ID != "usmf:1" || d.Company != "usmf" || d.Key != "1" || d.Deleted || d.ModifiedAt.Location() != time.UTC {
		t.Errorf("envelope %+v", d.Envelope)
	}
	if d.Variants != nil || d.Prices != nil || d.LineDiscounts != nil || d.Barcodes != nil || d.CategoryIDs != nil || d.OrderSettings != nil ||
		d.FromPrices != nil || d.BasePriceValue != nil || d.ImageURL != "" || d.SalesStopped {
		t.Errorf("empty product has children: %+v", d)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"usmf:1","company":"usmf","key":"1","modified_at":"2026-01-02T02:04:05Z","deleted":false,"item_number":"1","language":"en","sales_stopped":false,"dimensions":{}}`
	if string(b) != want {
		t.Errorf("empty product JSON\n%s\nwant\n%s", b, want)
	}
}

// TestFromPrices: everybody's "from" price is the lowest of the base price and the lines for all
// customers in the product's currency; a price group's is the lowest of that and its own lines;
// customers' own lines and other currencies do not count.
func TestFromPrices(t *testing.T) {
	p := erp.Product{Company: "usmf", ItemNumber: "1", Currency: "USD", Prices: []erp.PriceAgreement{
		{AccountCode: erp.AccountAll, Currency: "USD", Price: "12.5"},
		{AccountCode: erp.AccountAll, Currency: "EUR", Price: "1"},                                   // other currency
		{AccountCode: erp.AccountCustomer, CustomerAccount: "US-001", Currency: "USD", Price: "0.5"}, // one customer's
		{AccountCode: erp.AccountGroup, PriceGroup: "Wholesale", Currency: "USD", Price: "11"},
		{AccountCode: erp.AccountGroup, PriceGroup: "Wholesale", Currency: "USD", Price: "10.25", FromQuantity: "50"},
		{AccountCode: erp.AccountGroup, PriceGroup: "Retail", Currency: "USD", Price: "99"}, // dearer than everybody's
		{AccountCode: erp.AccountGroup, PriceGroup: "Export", Currency: "EUR", Price: "2"},  // other currency
		{AccountCode: erp.AccountAll, Currency: "USD", Price: "14.999999"},
	}}
	d := product(t, p, Options{})
	want := []FromPrice{{"", 12.5}, {"Retail", 12.5}, {"Wholesale", 10.25}}
	if !slices.Equal(d.FromPrices, want) {
		t.Errorf("no base price: from prices %v, want %v", d.FromPrices, want)
	}
	p.SalesPrice = "9.99"
	d = product(t, p, Options{})
	want = []FromPrice{{"", 9.99}, {"Retail", 9.99}, {"Wholesale", 9.99}}
	if !slices.Equal(d.FromPrices, want) || d.BasePrice != "9.99" {
		t.Errorf("with a base price: from prices %v, want %v", d.FromPrices, want)
	}
	if d.Prices[len(d.Prices)-1].Price != "14.999999" && d.Prices[len(d.Prices)-2].Price != "14.999999" {
		t.Errorf("exact price text lost: %+v", d.Prices)
	}
	if d := product(t, erp.Product{Company: "usmf", ItemNumber: "2", Currency: "USD", Prices: []erp.PriceAgreement{
		{AccountCode: erp.AccountGroup, PriceGroup: "VIP", Currency: "USD", Price: "5"}}}, Options{}); !slices.Equal(d.FromPrices, []FromPrice{{"VIP", 5}}) {
		t.Errorf("only a group's line: %v", d.FromPrices)
	}
}

// TestEncode: the encoded document is Build's with its content hash; the hash does not depend
// on the stamps and digest of the rows read, and changes with the content.
func TestEncode(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "product-master.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := decode[erp.Product](t, in)
	rec := erp.Record{Ref: erp.Ref{Entity: erp.Products, Company: p.Company, Key: p.ItemNumber}, Digest: "0123abcd", Value: p}
	body, hash, err := Encode(rec, goldenOptions)
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	built, _ := Build(rec, goldenOptions)
	b, _ := json.Marshal(built)
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	want["content_hash"] = hash
	if gj, wj := mustJSON(t, got), mustJSON(t, want); gj != wj || len(hash) != 32 {
		t.Errorf("encoded document\n%s\nwant Build's with the hash %q\n%s", gj, hash, wj)
	}
	// Whatever the source's digest, the body is one line of valid JSON that carries it.
	odd := "0\"1<\x01\u2028\\"
	if b, _, err := Encode(erp.Record{Ref: rec.Ref, Digest: odd, Value: p}, goldenOptions); err != nil || !json.Valid(b) || bytes.ContainsAny(b, "\n\r") {
		t.Errorf("digest %q: %v, body %s", odd, err, b)
	} else if d := decode[map[string]any](t, b); d["source_digest"] != odd {
		t.Errorf("digest %q came back as %q", odd, d["source_digest"])
	}
	// Other stamps and digest: the same hash, and only the envelope's stamp and digest differ.
	q := p
	q.Modified = p.Modified.Add(time.Hour)
	_, hash2, err := Encode(erp.Record{Ref: rec.Ref, Digest: "ffff", Value: q}, goldenOptions)
	if err != nil || hash2 != hash {
		t.Errorf("another stamp and digest: hash %q, want %q (%v)", hash2, hash, err)
	}
	// Another price: another hash.
	q.Prices = slices.Clone(p.Prices)
	q.Prices[0].Price = "1.01"
	if _, hash3, _ := Encode(erp.Record{Ref: rec.Ref, Digest: "0123abcd", Value: q}, goldenOptions); hash3 == hash {
		t.Error("another price, the same hash")
	}
	// Every kind of record encodes.
	for _, v := range []any{erp.Customer{Company: "usmf", Account: "A"}, erp.Contact{Company: "usmf", ID: "C"}, erp.SalesRep{Company: "usmf", PersonnelNumber: "1"},
		erp.Category{Company: "usmf", ID: "C1"}, erp.LineDiscountAgreement{Company: "usmf", LineDiscount: erp.LineDiscount{RecID: 5}}, erp.Activation{Company: "usmf"}} {
		if b, h, err := Encode(erp.Record{Value: v}, Options{}); err != nil || h == "" || !json.Valid(b) {
			t.Errorf("%T: %v %q %s", v, err, h, b)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeterministic(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "product-master.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := decode[erp.Product](t, in)
	want, _ := json.Marshal(product(t, p, goldenOptions))
	// Children in reverse order give the same document.
	slices.Reverse(p.Variants)
	slices.Reverse(p.Prices)
	slices.Reverse(p.LineDiscounts)
	slices.Reverse(p.Barcodes)
	slices.Reverse(p.Categories)
	slices.Reverse(p.Attachments)
	slices.Reverse(p.Translations)
	slices.Reverse(p.DimensionValues)
	slices.Reverse(p.Related)
	got, _ := json.Marshal(product(t, p, goldenOptions))
	if !bytes.Equal(got, want) {
		t.Errorf("child order changes the document:\n%s\n%s", got, want)
	}
}

func with(p erp.Product, f func(*erp.Product)) erp.Product {
	f(&p)
	return p
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestAttachmentURLs: only absolute http(s) URLs reach a document; any other keeps the attachment
// without its URL, and is never the image of the product.
func TestAttachmentURLs(t *testing.T) {
	for in, want := range map[string]string{
		"https://media.contoso.example/usmf/1000-1.jpg": "https://media.contoso.example/usmf/1000-1.jpg",
		"HTTP://media.contoso.example/a.pdf":            "HTTP://media.contoso.example/a.pdf",
		" https://media.contoso.example/a.jpg ":         "https://media.contoso.example/a.jpg",
		"javascript:alert(document.cookie)":             "",
		"JavaScript:alert(1)":                           "",
		" javascript:alert(1)":                          "",
		"java\tscript:alert(1)":                         "",
		"\x01javascript:alert(1)":                       "",
		"data:text/html,<script>alert(1)</script>":      "",
		"vbscript:msgbox(1)":                            "",
		"file:///etc/passwd":                            "",
		"//evil.example/x.jpg":                          "",
		"/media/a.jpg":                                  "",
		"https:///a.jpg":                                "",
		"":                                              "",
	} {
		d := product(t, erp.Product{Company: "usmf", ItemNumber: "1", Attachments: []erp.Attachment{
			{ID: "1", DocumentType: "Image", URL: in, DefaultImage: true},
		}}, Options{})
		if len(d.Attachments) != 1 || d.Attachments[0].URL != want || d.ImageURL != want {
			t.Errorf("attachment URL %q: document has %+v, image %q; want %q", in, d.Attachments, d.ImageURL, want)
		}
	}
}

// floor: earlier stamp, lower version.
func TestVersionOfStampsBeforeTheEpoch(t *testing.T) {
	stamps := []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), // D365's "no date"
		time.Date(1900, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 23, 59, 59, 0, time.UTC),
		time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 2, 0, 0, 0, 1000, time.UTC),
		time.Date(2026, 11, 27, 10, 15, 30, 123456000, time.UTC),
	}
	for i, ts := range stamps {
		v := Version(ts)
		if v < 0 {
			t.Errorf("Version(%s) = %d: Elasticsearch refuses a negative external version", ts, v)
		}
		if i > 0 && v <= Version(stamps[i-1]) {
			t.Errorf("Version(%s) = %d is not above Version(%s) = %d", ts, v, stamps[i-1], Version(stamps[i-1]))
		}
	}
	// Stamps from the floor on keep the version every index already holds: microseconds.
	if got := Version(stamps[len(stamps)-1]); got != stamps[len(stamps)-1].UnixMicro() {
		t.Errorf("a stamp of 2026 changed its version: %d", got)
	}
	if got := Version(time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)); got != 0 {
		t.Errorf("a stamp before year 1: version %d, want 0", got)
	}
}

// field named, instead of a document holding +Inf that no encoder takes.
func TestNumbersWithoutADoubleAreRefused(t *testing.T) {
	huge := erp.Decimal("1" + strings.Repeat("0", 100000))
	for name, c := range map[string]struct {
		p    erp.Product
		want string
	}{
		"base price":     {erp.Product{Company: "usmf", ItemNumber: "1", SalesPrice: huge}, "SalesPrice 10000000000000000000... (100001 characters)"},
		"negative price": {erp.Product{Company: "usmf", ItemNumber: "1", SalesPrice: "-" + huge}, "SalesPrice -1000000000000000000..."},
		"price line":     {erp.Product{Company: "usmf", ItemNumber: "1", Prices: []erp.PriceAgreement{{RecID: 7, AccountCode: erp.AccountAll, Price: huge}}}, "price line 7: Price"},
		"unit conversion": {erp.Product{Company: "usmf", ItemNumber: "1", UnitConversions: []erp.UnitConversion{{From: "box", To: "ea", Factor: huge}}},
			"unit conversion box to ea: Factor"},
	} {
		d, err := FromProduct(c.p, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "usmf:1") {
			t.Errorf("%s: error %v, want one naming usmf:1 and %q", name, err, c.want)
			continue
		}
		if d.ID != "" {
			t.Errorf("%s: a document came with the error: %+v", name, d.Envelope)
		}
	}
	// The largest double still builds, and encodes.
	d := product(t, erp.Product{Company: "usmf", ItemNumber: "1", SalesPrice: erp.Decimal("1" + strings.Repeat("0", 308))}, Options{})
	if _, err := json.Marshal(d); err != nil {
		t.Fatalf("1e308 does not encode: %v", err)
	}
}

// product builds p's document, failing t on an error.
func product(t *testing.T, p erp.Product, o Options) Product {
	t.Helper()
	d, err := FromProduct(p, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
