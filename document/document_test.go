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
		{"product-master", func(t *testing.T, in []byte) any { return build(t, decode[erp.Product](t, in), goldenOptions) }},
		{"product-plain", func(t *testing.T, in []byte) any { return build(t, decode[erp.Product](t, in), goldenOptions) }},
		{"customer", func(t *testing.T, in []byte) any { return FromCustomer(decode[erp.Customer](t, in)) }},
		{"contact", func(t *testing.T, in []byte) any { return FromContact(decode[erp.Contact](t, in)) }},
		{"salesrep", func(t *testing.T, in []byte) any { return FromSalesRep(decode[erp.SalesRep](t, in)) }},
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

// build is FromProduct for records that must build.
func build(t *testing.T, p erp.Product, o Options) Product {
	t.Helper()
	d, err := FromProduct(p, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestVersionOfStampsBeforeTheEpoch: D365's null date (1900-01-01) gives a version
// Elasticsearch accepts (not negative), and versions keep the order of their stamps across the
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

// TestNumbersWithoutADoubleAreRefused: a price the ERP holds exactly but that has no finite
// double (10^100000, as a PATCH of SalesPrice to 1e100000 stores it) fails the build with the
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
		"quantity break": {erp.Product{Company: "usmf", ItemNumber: "1", Prices: []erp.PriceAgreement{{RecID: 8, Price: "1", ToQuantity: huge}}}, "price line 8: ToQuantity"},
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
	d := build(t, erp.Product{Company: "usmf", ItemNumber: "1", SalesPrice: erp.Decimal("1" + strings.Repeat("0", 308))}, Options{})
	if _, err := json.Marshal(d); err != nil {
		t.Fatalf("1e308 does not encode: %v", err)
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
			d := build(t, c.p, c.o)
			if !mapsEqual(d.Name, c.wantName) || !mapsEqual(d.Description, c.wantDesc) || !slices.Equal(d.Languages, c.wantOwn) {
				t.Errorf("name %v description %v languages %v;\nwant %v %v %v", d.Name, d.Description, d.Languages, c.wantName, c.wantDesc, c.wantOwn)
			}
		})
	}
}

func TestVisibility(t *testing.T) {
	visible := erp.ProductCategory{ID: "A", Visible: true}
	hidden := erp.ProductCategory{ID: "B"}
	cases := []struct {
		name          string
		cats          []erp.ProductCategory
		uncategorized bool
		want          bool
		wantIDs       []string
	}{
		{"one visible category", []erp.ProductCategory{visible}, false, true, []string{"A"}},
		{"visible and hidden", []erp.ProductCategory{hidden, visible}, false, true, []string{"A"}},
		{"only hidden", []erp.ProductCategory{hidden}, false, false, nil},
		{"only hidden, uncategorized shown", []erp.ProductCategory{hidden}, true, false, nil},
		{"no category", nil, false, false, nil},
		{"no category, uncategorized shown", nil, true, true, nil},
	}
	for _, c := range cases {
		d := build(t, erp.Product{Company: "usmf", ItemNumber: "1", Categories: c.cats}, Options{ShowUncategorized: c.uncategorized})
		if d.Visible != c.want || !slices.Equal(d.CategoryIDs, c.wantIDs) {
			t.Errorf("%s: visible %v ids %v, want %v %v", c.name, d.Visible, d.CategoryIDs, c.want, c.wantIDs)
		}
	}
}

func TestEmptyChildren(t *testing.T) {
	d := build(t, erp.Product{Company: "USMF", ItemNumber: "1", Modified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))}, Options{})
	if d.ID != "usmf:1" || d.Company != "usmf" || d.Key != "1" || d.Deleted || d.ModifiedAt.Location() != time.UTC {
		t.Errorf("envelope %+v", d.Envelope)
	}
	if d.Variants != nil || d.Prices != nil || d.Barcodes != nil || d.Categories != nil || d.OrderSettings != nil ||
		d.PriceMin != nil || d.BasePriceValue != nil || d.ImageURL != "" || d.SalesStopped {
		t.Errorf("empty product has children: %+v", d)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"usmf:1","company":"usmf","key":"1","modified_at":"2026-01-02T02:04:05Z","deleted":false,"item_number":"1","language":"en","visible":false,"sales_stopped":false,"dimensions":{}}`
	if string(b) != want {
		t.Errorf("empty product JSON\n%s\nwant\n%s", b, want)
	}
}

func TestPriceRange(t *testing.T) {
	p := erp.Product{Company: "usmf", ItemNumber: "1", Currency: "USD", Prices: []erp.PriceAgreement{
		{AccountCode: erp.AccountAll, Currency: "USD", Price: "12.5"},
		{AccountCode: erp.AccountAll, Currency: "EUR", Price: "1"},         // other currency
		{AccountCode: erp.AccountCustomer, Currency: "USD", Price: "0.5"},  // one customer's
		{AccountCode: erp.AccountGroup, Currency: "USD", Price: "99"},      // a group's
		{AccountCode: erp.AccountAll, Currency: "USD", Price: "14.999999"}, // exact text kept
	}}
	d := build(t, p, Options{})
	if d.PriceMin == nil || *d.PriceMin != 12.5 || *d.PriceMax != 14.999999 {
		t.Errorf("no base price: range %v..%v", deref(d.PriceMin), deref(d.PriceMax))
	}
	p.SalesPrice = "20"
	d = build(t, p, Options{})
	if *d.PriceMin != 12.5 || *d.PriceMax != 20 || d.BasePrice != "20" {
		t.Errorf("with base price: range %v..%v", *d.PriceMin, *d.PriceMax)
	}
	if d.Prices[len(d.Prices)-1].Price != "14.999999" && d.Prices[len(d.Prices)-2].Price != "14.999999" {
		t.Errorf("exact price text lost: %+v", d.Prices)
	}
}

func TestDeterministic(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "product-master.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := decode[erp.Product](t, in)
	want, _ := json.Marshal(build(t, p, goldenOptions))
	// Children in reverse order give the same document.
	slices.Reverse(p.Variants)
	slices.Reverse(p.Prices)
	slices.Reverse(p.Barcodes)
	slices.Reverse(p.Categories)
	slices.Reverse(p.Attachments)
	slices.Reverse(p.Translations)
	slices.Reverse(p.DimensionValues)
	slices.Reverse(p.Related)
	got, _ := json.Marshal(build(t, p, goldenOptions))
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

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
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
		d, err := FromProduct(erp.Product{Company: "usmf", ItemNumber: "1", Attachments: []erp.Attachment{
			{ID: "1", DocumentType: "Image", URL: in, DefaultImage: true},
		}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Attachments) != 1 || d.Attachments[0].URL != want || d.ImageURL != want {
			t.Errorf("attachment URL %q: document has %+v, image %q; want %q", in, d.Attachments, d.ImageURL, want)
		}
	}
}
