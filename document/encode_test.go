package document

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/webshop"
)

// encodeReflect is Encode as it was before product documents had an encoder of their own: every
// document through json.Marshal. The tests hold Encode to its bytes and hashes, which every index
// stores, and the benchmark measures against it.
func encodeReflect(r erp.Record, o Options) (body []byte, hash string, err error) {
	d, err := build(r, o)
	if err != nil {
		return nil, "", err
	}
	env := d.envelope()
	modified := env.ModifiedAt
	env.ModifiedAt, env.SourceDigest, env.ContentHash = time.Time{}, "", ""
	b, err := json.Marshal(d)
	if err != nil {
		return nil, "", fmt.Errorf("encode %s %s: %w", r.Entity, ID(r.Company, r.Key), err)
	}
	sum := sha256.Sum256(b)
	hash = hex.EncodeToString(sum[:16])
	// The envelope comes first and its zero modified_at once: put the volatile fields there.
	zero, err := json.Marshal(time.Time{})
	if err != nil {
		return nil, "", err
	}
	at, err := json.Marshal(modified)
	if err != nil {
		return nil, "", fmt.Errorf("encode %s %s: %w", r.Entity, ID(r.Company, r.Key), err)
	}
	field := `"modified_at":` + string(zero)
	i := bytes.Index(b, []byte(field))
	if i < 0 {
		return nil, "", fmt.Errorf("encode %s %s: no modified_at in the document", r.Entity, ID(r.Company, r.Key))
	}
	out := make([]byte, 0, len(b)+len(at)+len(r.Digest)+len(hash)+48)
	out = append(out, b[:i]...)
	out = append(out, `"modified_at":`...)
	out = append(out, at...)
	if r.Digest != "" {
		d, err := json.Marshal(r.Digest) // JSON's quoting: Go's (strconv) writes escapes JSON has not
		if err != nil {
			return nil, "", err
		}
		out = append(out, `,"source_digest":`...)
		out = append(out, d...)
	}
	out = append(out, `,"content_hash":"`...)
	out = append(out, hash...)
	out = append(out, '"')
	out = append(out, b[i+len(field):]...)
	return out, hash, nil
}

// encodedFields are the fields of every struct type in a product document, as the hand encoder
// (encode.go) writes them: "Name Type Tag" in declaration order. A change to any of these types
// must change the encoder and then this list.
var encodedFields = map[reflect.Type][]string{
	reflect.TypeFor[Product](): {
		`Envelope document.Envelope `,
		`ItemNumber string json:"item_number"`,
		`SearchName string json:"search_name,omitempty"`,
		`SubType string json:"sub_type,omitempty"`,
		`DimensionGroup string json:"dimension_group,omitempty"`,
		`ProductGroup string json:"product_group,omitempty"`,
		`Unit string json:"unit,omitempty"`,
		`Language string json:"language"`,
		`Languages []string json:"languages,omitempty"`,
		`Name map[string]string json:"name,omitempty"`,
		`Description map[string]string json:"description,omitempty"`,
		`Currency string json:"currency,omitempty"`,
		`BasePrice string json:"base_price,omitempty"`,
		`BasePriceValue *float64 json:"base_price_value,omitempty"`,
		`DiscountGroup string json:"discount_group,omitempty"`,
		`FromPrice *float64 json:"from_price,omitempty"`,
		`FromPrices []document.FromPrice json:"from_prices,omitempty"`,
		`Prices []document.Price json:"prices,omitempty"`,
		`LineDiscounts []document.LineDiscount json:"line_discounts,omitempty"`,
		`SalesStopped bool json:"sales_stopped"`,
		`OrderSettings *document.OrderSettings json:"order_settings,omitempty"`,
		`UnitConversions []document.UnitConversion json:"unit_conversions,omitempty"`,
		`CategoryIDs []string json:"category_ids,omitempty"`,
		`Dimensions document.Dimensions json:"dimensions"`,
		`DimensionValues []document.DimensionValue json:"dimension_values,omitempty"`,
		`Variants []document.Variant json:"variants,omitempty"`,
		`Barcodes []string json:"barcodes,omitempty"`,
		`Related []document.Related json:"related,omitempty"`,
		`Attachments []document.Attachment json:"attachments,omitempty"`,
		`ImageURL string json:"image_url,omitempty"`,
	},
	reflect.TypeFor[Envelope](): {
		`ID string json:"id"`,
		`Company string json:"company"`,
		`Key string json:"key"`,
		`ModifiedAt time.Time json:"modified_at"`,
		`Deleted bool json:"deleted"`,
		`SourceDigest string json:"source_digest,omitempty"`,
		`ContentHash string json:"content_hash,omitempty"`,
		`Webshops []string json:"webshops,omitempty"`,
	},
	reflect.TypeFor[FromPrice](): {
		`Group string json:"group"`,
		`Price float64 json:"price"`,
	},
	reflect.TypeFor[Price](): {
		`RecID int64 json:"rec_id"`,
		`AccountCode string json:"account_code"`,
		`Customer string json:"customer,omitempty"`,
		`PriceGroup string json:"price_group,omitempty"`,
		`Currency string json:"currency"`,
		`Price string json:"price"`,
		`Unit string json:"unit,omitempty"`,
		`FromQuantity string json:"from_quantity"`,
		`ToQuantity string json:"to_quantity"`,
		`ValidFrom string json:"valid_from,omitempty"`,
		`ValidTo string json:"valid_to,omitempty"`,
		`FindNext bool json:"find_next"`,
		`Dimensions erp.Dimensions `,
	},
	reflect.TypeFor[erp.Dimensions](): {
		`Color string json:"color,omitempty"`,
		`Size string json:"size,omitempty"`,
		`Style string json:"style,omitempty"`,
		`Configuration string json:"configuration,omitempty"`,
	},
	reflect.TypeFor[LineDiscount](): {
		`RecID int64 json:"rec_id"`,
		`ItemCode string json:"item_code"`,
		`ItemNumber string json:"item_number,omitempty"`,
		`ItemGroup string json:"item_group,omitempty"`,
		`AccountCode string json:"account_code"`,
		`Customer string json:"customer,omitempty"`,
		`CustomerGroup string json:"customer_group,omitempty"`,
		`Currency string json:"currency"`,
		`Percent1 string json:"percent1"`,
		`Percent2 string json:"percent2"`,
		`Amount string json:"amount"`,
		`Unit string json:"unit,omitempty"`,
		`FromQuantity string json:"from_quantity"`,
		`ToQuantity string json:"to_quantity"`,
		`ValidFrom string json:"valid_from,omitempty"`,
		`ValidTo string json:"valid_to,omitempty"`,
		`FindNext bool json:"find_next"`,
		`Dimensions erp.Dimensions `,
	},
	reflect.TypeFor[OrderSettings](): {
		`MinimumQuantity string json:"minimum_quantity"`,
		`MaximumQuantity string json:"maximum_quantity"`,
		`MultipleQuantity string json:"multiple_quantity"`,
		`StandardQuantity string json:"standard_quantity"`,
	},
	reflect.TypeFor[UnitConversion](): {
		`From string json:"from"`,
		`To string json:"to"`,
		`Factor string json:"factor"`,
		`FactorValue float64 json:"factor_value"`,
		`Numerator int64 json:"numerator"`,
		`Denominator int64 json:"denominator"`,
		`InnerOffset string json:"inner_offset"`,
		`OuterOffset string json:"outer_offset"`,
		`Rounding string json:"rounding,omitempty"`,
	},
	reflect.TypeFor[Dimensions](): {
		`Color []string json:"color,omitempty"`,
		`Size []string json:"size,omitempty"`,
		`Style []string json:"style,omitempty"`,
		`Configuration []string json:"configuration,omitempty"`,
	},
	reflect.TypeFor[DimensionValue](): {
		`Dimension string json:"dimension"`,
		`Value string json:"value"`,
		`Description string json:"description,omitempty"`,
		`DisplayOrder int json:"display_order"`,
	},
	reflect.TypeFor[Variant](): {
		`VariantNumber string json:"variant_number"`,
		`Name string json:"name,omitempty"`,
		`Description string json:"description,omitempty"`,
		`Color string json:"color,omitempty"`,
		`ColorDescription string json:"color_description,omitempty"`,
		`Size string json:"size,omitempty"`,
		`SizeDescription string json:"size_description,omitempty"`,
		`Style string json:"style,omitempty"`,
		`StyleDescription string json:"style_description,omitempty"`,
		`Configuration string json:"configuration,omitempty"`,
		`ConfigurationDescription string json:"configuration_description,omitempty"`,
		`Barcodes []string json:"barcodes,omitempty"`,
	},
	reflect.TypeFor[Related](): {
		`ItemNumber string json:"item_number"`,
		`RelationType string json:"relation_type"`,
		`DisplayOrder int json:"display_order"`,
	},
	reflect.TypeFor[Attachment](): {
		`ID string json:"id"`,
		`DocumentType string json:"document_type"`,
		`FileName string json:"file_name,omitempty"`,
		`Title string json:"title,omitempty"`,
		`URL string json:"url,omitempty"`,
		`DefaultImage bool json:"default_image"`,
		`DisplayOrder int json:"display_order"`,
	},
}

// TestProductEncoderCoversTheTypes: every struct type a product document holds has exactly the
// fields the hand encoder writes, and none encodes itself (MarshalJSON, MarshalText), which
// json.Marshal would call and the encoder would not. A field added, removed, renamed, retyped or
// retagged fails here until the encoder and encodedFields follow.
func TestProductEncoderCoversTheTypes(t *testing.T) {
	marshalers := []reflect.Type{reflect.TypeFor[json.Marshaler](), reflect.TypeFor[encoding.TextMarshaler]()}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		if seen[ty] {
			return
		}
		seen[ty] = true
		for _, m := range marshalers {
			if ty != reflect.TypeFor[time.Time]() && (ty.Implements(m) || reflect.PointerTo(ty).Implements(m)) {
				t.Errorf("%s implements %s: json.Marshal calls it, the hand encoder in encode.go does not", ty, m)
			}
		}
		switch ty.Kind() {
		case reflect.Pointer, reflect.Slice:
			walk(ty.Elem())
		case reflect.Map:
			if ty.Key().Kind() != reflect.String {
				t.Errorf("%s: the encoder writes maps with string keys only", ty)
			}
			walk(ty.Key())
			walk(ty.Elem())
		case reflect.Struct:
			if ty == reflect.TypeFor[time.Time]() {
				return // written by its MarshalJSON's rules (appendTime)
			}
			want, ok := encodedFields[ty]
			if !ok {
				t.Errorf("%s is in a product document but not in encodedFields: teach the encoder in encode.go to write it", ty)
				return
			}
			var got []string
			for f := range ty.Fields() {
				got = append(got, fmt.Sprintf("%s %s %s", f.Name, f.Type, f.Tag))
				walk(f.Type)
			}
			if !slices.Equal(got, want) {
				t.Errorf("the fields of %s changed: change the encoder in encode.go, then encodedFields;\nhave %q\nlist %q", ty, got, want)
			}
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		default:
			t.Errorf("%s: the encoder writes no %s", ty, ty.Kind())
		}
	}
	walk(reflect.TypeFor[Product]())
	for ty := range encodedFields {
		if !seen[ty] {
			t.Errorf("encodedFields lists %s, which no product document holds any more", ty)
		}
	}
}

// gen makes random values from a stream of bytes: a seeded generator's in the property test, the
// fuzzer's in FuzzProductJSON. A stream that runs out reads as zeros, which choose empty strings,
// nil slices and maps, nil pointers.
type gen struct{ next func() byte }

func randGen(seed uint64) *gen {
	r := rand.New(rand.NewPCG(seed, 0))
	return &gen{next: func() byte { return byte(r.Uint32()) }}
}

func bytesGen(data []byte) *gen {
	return &gen{next: func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}}
}

func (g *gen) uint64() uint64 {
	var v uint64
	for range 8 {
		v = v<<8 | uint64(g.next())
	}
	return v
}

// intn returns a number in [0, n), n at most 256.
func (g *gen) intn(n int) int { return int(g.next()) % n }

// pieces are what strings are made of: text, every character JSON or HTML escapes, the line and
// paragraph separators, non-ASCII text, and bytes that are not UTF-8 (a lone continuation byte,
// truncated sequences, an encoded surrogate, a code point beyond U+10FFFF).
var pieces = []string{
	"a", "Chair", "T-0100", " ", "0", "/", "{}", ",", "'",
	"<", ">", "&", "</script>", "&amp;", `"`, `\`, `\u003c`,
	"\n", "\r", "\t", "\b", "\f", "\x00", "\x01", "\x1f", "\x7f",
	"\u2028", "\u2029", "\u0080", "\u00a0", "\ufeff", "\ufffd", "é", "Größe", "日本", "😀",
	"\xff", "\x80", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf",
	`"modified_at":"0001-01-01T00:00:00Z"`,
}

// string returns "" one time in three, else one to eight pieces or random bytes.
func (g *gen) string() string {
	n := g.intn(12) - 3
	var b strings.Builder
	for range n {
		if i := g.intn(len(pieces) + 4); i < len(pieces) {
			b.WriteString(pieces[i])
		} else {
			b.WriteByte(g.next())
		}
	}
	return b.String()
}

// floats are the doubles where encoding/json's format changes (1e-6 and 1e21, each side), the
// extremes, and ordinary prices.
var floats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.1, 12.5, 39.95, -2.5, 1.0 / 3, 123456789.123,
	1e20, 1e21, -1e21, math.Nextafter(1e21, 0), math.Nextafter(1e21, 2e21), 999999999999999999999.0,
	1e-6, -1e-6, math.Nextafter(1e-6, 0), math.Nextafter(1e-6, 1), 1e-7, 9.999999e-7, 1e-9, 1e-10, 1.5e-300,
	1e100, 1e308, -1e308, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
	-math.SmallestNonzeroFloat64, 2.2250738585072014e-308, 1 << 53, 1<<53 + 2, 123456789012345678,
}

func (g *gen) float() float64 {
	switch g.intn(4) {
	case 0:
		return floats[g.intn(len(floats))]
	case 1: // any finite double
		if f := math.Float64frombits(g.uint64()); !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
		return 0
	case 2: // a few digits at any magnitude
		return float64(g.intn(256)-128) * math.Pow10(g.intn(256)*650/256-330)
	}
	return float64(g.intn(256)*256+g.intn(256)) / 100
}

func (g *gen) int() int64 {
	switch g.intn(6) {
	case 0:
		return 0
	case 1:
		return math.MaxInt64
	case 2:
		return math.MinInt64
	case 3:
		return int64(g.intn(256) - 128)
	}
	return int64(g.uint64())
}

// zones are UTC and fixed offsets: whole hours, half hours, an offset with seconds (RFC 3339
// drops them) and the extremes.
var zones = []*time.Location{
	time.UTC, time.FixedZone("CET", 3600), time.FixedZone("", -(3*3600 + 30*60)), time.FixedZone("IST", 5*3600+30*60),
	time.FixedZone("LMT", 5*3600+30*60+15), time.FixedZone("", 14*3600), time.FixedZone("", -12*3600), time.FixedZone("UTC", 0),
}

// badZone is an offset RFC 3339 cannot write.
var badZone = time.FixedZone("bad", 24*3600)

// time returns the zero time, or an instant from year 1 to 9999 with or without nanoseconds in
// one of zones; now and then one json.Marshal refuses (a year outside 0 to 9999, badZone).
func (g *gen) time() time.Time {
	const yearOne, year10000 = -62135596800, 253402300800
	sec := yearOne + int64(g.uint64()%(year10000-yearOne))
	loc := zones[g.intn(len(zones))]
	switch g.intn(32) {
	case 0:
		return time.Time{}
	case 1:
		sec = year10000 + int64(g.intn(256))*86400*30
	case 2:
		sec = yearOne - 1 - int64(g.intn(256))*86400*30
	case 3:
		loc = badZone
	}
	var nsec int64
	switch g.intn(4) {
	case 1:
		nsec = int64(g.uint64() % 1e9)
	case 2:
		nsec = int64(g.uint64()%1e6) * 1000
	case 3:
		nsec = int64(g.intn(256)) * 1e6
	}
	return time.Unix(sec, nsec).In(loc)
}

// decimal returns decimal text as erp.Decimal holds it, now and then one beyond a double (a
// builder's error) or not a number at all.
func (g *gen) decimal() string {
	ds := []string{"", "0", "1", "39.95", "-2.5", "0.0000001", "100", "123456789012345678901234", "1" + strings.Repeat("0", 400)}
	if i := g.intn(len(ds) + 1); i < len(ds) {
		return ds[i]
	}
	return g.string()
}

// fill sets v, and everything in it, to random values.
func (g *gen) fill(v reflect.Value) {
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(g.time()))
		return
	case reflect.TypeFor[erp.Decimal]():
		v.SetString(g.decimal())
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(g.string())
	case reflect.Bool:
		v.SetBool(g.intn(2) == 1)
	case reflect.Int, reflect.Int64:
		v.SetInt(g.int())
	case reflect.Float64:
		v.SetFloat(g.float())
	case reflect.Pointer:
		if g.intn(3) > 0 {
			p := reflect.New(v.Type().Elem())
			g.fill(p.Elem())
			v.Set(p)
		}
	case reflect.Slice:
		if n := g.intn(7); n > 0 { // 0: nil; 1: empty
			s := reflect.MakeSlice(v.Type(), n-1, n-1)
			for i := range n - 1 {
				g.fill(s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Map:
		if n := g.intn(8); n > 0 { // 0: nil; 1: empty
			m := reflect.MakeMap(v.Type())
			for range n - 1 {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				g.fill(k)
				g.fill(e)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			g.fill(v.Field(i))
		}
	default:
		panic(fmt.Sprintf("gen.fill makes no %s", v.Type()))
	}
}

// checkProduct fails t unless appendProduct appends what json.Marshal writes for p, or fails with
// its error. It returns json.Marshal's bytes, nil when it fails.
func checkProduct(t *testing.T, p *Product) (want []byte) {
	t.Helper()
	want, wantErr := json.Marshal(p)
	got, err := appendProduct([]byte("prefix"), p)
	switch {
	case wantErr != nil || err != nil:
		if wantErr == nil || err == nil || err.Error() != wantErr.Error() {
			t.Fatalf("error %v, json.Marshal's %v; product %+v", err, wantErr, p)
		}
	case !bytes.HasPrefix(got, []byte("prefix")):
		t.Fatalf("appendProduct did not append: %q", got)
	case !bytes.Equal(got[len("prefix"):], want):
		got = got[len("prefix"):]
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		from := max(0, i-80)
		t.Fatalf("differs from json.Marshal at byte %d:\ngot  ...%q\nwant ...%q", i, got[from:min(len(got), i+80)], want[from:min(len(want), i+80)])
	}
	return want
}

// TestAppendProductIsJSONMarshal: random documents, with every kind of string, number, time, and
// nil, empty and filled slices, maps and pointers, encode to json.Marshal's bytes.
func TestAppendProductIsJSONMarshal(t *testing.T) {
	g := randGen(20260527)
	var out [][]byte
	errs := 0
	for range 3000 {
		var p Product
		g.fill(reflect.ValueOf(&p).Elem())
		if b := checkProduct(t, &p); b != nil {
			out = append(out, b)
		} else {
			errs++
		}
	}
	// The documents hold what the test is about.
	all := bytes.Join(out, nil)
	for _, s := range []string{`\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`, `\ufffd`, `\u0000`, `\u001f`, "\x7f", `\b`, `\f`, `\n`, `\"`, `\\`,
		`e+21`, `e-7`, `e-300`, `:-0,`, `"name":{`, `"order_settings":{`, `"dimensions":{}`, `"dimensions":{"color"`, `"base_price_value":0,`,
		`"from_prices":[{`, `"unit_conversions":[{`, `"webshops":[`, `"display_order":-9223372036854775808`, `+05:30"`} {
		if !bytes.Contains(all, []byte(s)) {
			t.Errorf("no document has %s", s)
		}
	}
	if errs == 0 || errs > 500 {
		t.Errorf("%d of 3000 documents have a time json.Marshal refuses; want some, not most", errs)
	}
}

// FuzzProductJSON is TestAppendProductIsJSONMarshal with the fuzzer choosing the documents; its
// seed corpus runs in every go test.
func FuzzProductJSON(f *testing.F) {
	for seed := range uint64(8) {
		g := randGen(seed)
		b := make([]byte, 2048)
		for i := range b {
			b[i] = g.next()
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 4096))
	f.Add([]byte("<>&\"\\\x00\xff\u2028 the fuzzer's own bytes"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Product
		bytesGen(data).fill(reflect.ValueOf(&p).Elem())
		checkProduct(t, &p)
	})
}

// TestAppendProductEdgeCases: each of the values where encoding/json's output changes form, in
// every place of a product document that holds one.
func TestAppendProductEdgeCases(t *testing.T) {
	doc := func(f func(p *Product)) *Product {
		p := &Product{Envelope: Envelope{ID: "usmf:1", Company: "usmf", Key: "1"}, ItemNumber: "1"}
		f(p)
		return p
	}
	for _, f := range append(slices.Clone(floats), math.NaN(), math.Inf(1), math.Inf(-1)) {
		checkProduct(t, doc(func(p *Product) { p.BasePriceValue = &f }))
		checkProduct(t, doc(func(p *Product) { p.FromPrice = &f }))
		checkProduct(t, doc(func(p *Product) { p.FromPrices = []FromPrice{{Group: "", Price: 1}, {Group: "VIP", Price: f}} }))
		checkProduct(t, doc(func(p *Product) { p.UnitConversions = []UnitConversion{{From: "box", To: "ea", FactorValue: f}} }))
	}
	for _, s := range append(slices.Clone(pieces), "", strings.Repeat("<&>", 100)) {
		checkProduct(t, doc(func(p *Product) { p.ItemNumber, p.Key, p.Webshops = s, s, []string{s, s} }))
		checkProduct(t, doc(func(p *Product) { p.Name = map[string]string{s: s, "en": s, "\xff": s, "\ufffd": s, "<": s, "=": s} }))
		checkProduct(t, doc(func(p *Product) {
			p.Variants = []Variant{{VariantNumber: s, ColorDescription: s, Barcodes: []string{s}}}
		}))
		checkProduct(t, doc(func(p *Product) { p.Prices = []Price{{Price: s, Dimensions: erp.Dimensions{Configuration: s}}} }))
	}
	for _, ts := range []time.Time{{}, time.Date(2026, 11, 27, 10, 15, 30, 123456000, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 600, zones[4]),
		time.Date(2026, 1, 2, 3, 4, 5, 0, badZone), time.Now()} {
		checkProduct(t, doc(func(p *Product) { p.ModifiedAt = ts }))
	}
	zero := 0.0
	for _, f := range []func(p *Product){
		func(p *Product) {
			p.Languages, p.CategoryIDs, p.Barcodes, p.Webshops = []string{}, []string{}, []string{}, []string{}
		},
		func(p *Product) { p.Name, p.Description = map[string]string{}, map[string]string{"": ""} },
		func(p *Product) { p.OrderSettings, p.BasePriceValue, p.FromPrice = &OrderSettings{}, &zero, &zero },
		func(p *Product) {
			p.FromPrices, p.Prices, p.LineDiscounts, p.UnitConversions = []FromPrice{}, []Price{{}}, []LineDiscount{{}}, []UnitConversion{{}}
		},
		func(p *Product) {
			p.Dimensions = Dimensions{Color: []string{}, Size: []string{""}, Configuration: []string{"a", "b"}}
		},
		func(p *Product) {
			p.DimensionValues, p.Variants, p.Related, p.Attachments = []DimensionValue{{}}, []Variant{{}}, []Related{{}}, []Attachment{{}}
		},
		func(p *Product) { *p = Product{} },
	} {
		checkProduct(t, doc(f))
	}
}

// TestEncodeIsTheReflectEncode: Encode gives the bytes and content hash the reflection encoder
// gave, for the test products, for random ERP records of every kind, with and without webshops,
// digests of every kind, and stamps RFC 3339 cannot write (the same error).
func TestEncodeIsTheReflectEncode(t *testing.T) {
	shops := []webshop.Webshop{{ID: "us", Company: "usmf"}, {ID: "b2b", Company: "usmf", Products: webshop.ProductFilter{ItemGroups: []string{"APPA"}}}}
	options := []Options{goldenOptions, {}, {Webshops: shops, Languages: []string{"de", "en"}}}
	encoded := map[string]int{} // by type, the records that encode (not a builder's or a stamp's error)
	check := func(r erp.Record, o Options) {
		t.Helper()
		want, wantHash, wantErr := encodeReflect(r, o)
		got, hash, err := Encode(r, o)
		if wantErr != nil || err != nil {
			if wantErr == nil || err == nil || err.Error() != wantErr.Error() {
				t.Fatalf("%T %s: error %v, want %v", r.Value, r.Key, err, wantErr)
			}
			return
		}
		encoded[fmt.Sprintf("%T", r.Value)]++
		if !bytes.Equal(got, want) || hash != wantHash {
			t.Fatalf("%T %s: Encode\n%s %s\nwant\n%s %s", r.Value, r.Key, got, hash, want, wantHash)
		}
	}
	digests := []string{"", "0123abcd", "0\"1<\x01\u2028\\\xff", `"modified_at":"0001-01-01T00:00:00Z"`}
	stamps := []func(time.Time) time.Time{
		func(t time.Time) time.Time { return t },
		func(time.Time) time.Time { return time.Time{} },
		func(t time.Time) time.Time { return t.Add(1234567 * time.Nanosecond).In(zones[3]) },
		func(time.Time) time.Time { return time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	for _, name := range []string{"product-master", "product-plain"} {
		in, err := os.ReadFile(filepath.Join("testdata", name+".input.json"))
		if err != nil {
			t.Fatal(err)
		}
		p := decode[erp.Product](t, in)
		for _, o := range options {
			for _, digest := range digests {
				for _, stamp := range stamps {
					q := p
					q.Modified = stamp(p.Modified)
					check(erp.Record{Ref: erp.Ref{Entity: erp.Products, Company: p.Company, Key: p.ItemNumber}, Digest: digest, Value: q}, o)
				}
			}
		}
	}
	g := randGen(7)
	for i := range 1200 {
		var r erp.Record
		var v reflect.Value
		switch i % 12 {
		case 0:
			r.Entity, v = erp.Customers, reflect.ValueOf(&erp.Customer{})
		case 1:
			r.Entity, v = erp.Contacts, reflect.ValueOf(&erp.Contact{})
		case 2:
			r.Entity, v = erp.SalesReps, reflect.ValueOf(&erp.SalesRep{})
		case 3:
			r.Entity, v = erp.Categories, reflect.ValueOf(&erp.Category{})
		case 4:
			r.Entity, v = erp.LineDiscounts, reflect.ValueOf(&erp.LineDiscountAgreement{})
		case 5:
			r.Entity, v = erp.Activations, reflect.ValueOf(&erp.Activation{})
		default:
			r.Entity, v = erp.Products, reflect.ValueOf(&erp.Product{})
		}
		g.fill(v.Elem())
		if p, ok := v.Interface().(*erp.Product); ok {
			// Some in the webshops' company and group, some translated into the languages kept.
			if g.intn(2) == 0 {
				p.Company, p.ProductGroup = "USMF", "APPA"
			}
			for i := range p.Translations {
				p.Translations[i].Language = []string{"en", "en-us", "DE", "de-at", "nl", "fr-be", p.Translations[i].Language}[g.intn(7)]
			}
		}
		r.Value = v.Elem().Interface()
		r.Company, r.Key, r.Digest = g.string(), g.string(), g.string()
		check(r, options[i%len(options)])
	}
	t.Logf("records encoded (not refused): %v", encoded)
	for _, typ := range []string{"erp.Product", "erp.Customer", "erp.Contact", "erp.SalesRep", "erp.Category", "erp.LineDiscountAgreement", "erp.Activation"} {
		if encoded[typ] < 50 {
			t.Errorf("only %d %s records encoded", encoded[typ], typ)
		}
	}
}

// benchmarkRecord is the product-master test product: a master with four variants, seven price
// lines, two line discounts, translations, attachments and related products.
func benchmarkRecord(b *testing.B) erp.Record {
	in, err := os.ReadFile(filepath.Join("testdata", "product-master.input.json"))
	if err != nil {
		b.Fatal(err)
	}
	var p erp.Product
	if err := json.Unmarshal(in, &p); err != nil {
		b.Fatal(err)
	}
	return erp.Record{Ref: erp.Ref{Entity: erp.Products, Company: p.Company, Key: p.ItemNumber}, Digest: "0123456789abcdef0123456789abcdef", Value: p}
}

// BenchmarkEncodeProduct measures Encode of one product, building its document included, through
// reflection (as before) and through the hand encoder.
func BenchmarkEncodeProduct(b *testing.B) {
	r := benchmarkRecord(b)
	for _, c := range []struct {
		name   string
		encode func(erp.Record, Options) ([]byte, string, error)
	}{{"reflect", encodeReflect}, {"hand", Encode}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.encode(r, goldenOptions); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeProductBody measures the JSON of a built product document alone: json.Marshal
// against appendProduct into a reused buffer, as Encode writes it.
func BenchmarkEncodeProductBody(b *testing.B) {
	d, err := FromProduct(benchmarkRecord(b).Value.(erp.Product), goldenOptions)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			if buf, err = appendProduct(buf[:0], &d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
