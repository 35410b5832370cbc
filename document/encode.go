package document

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/erpsync/erpsync/erp"
)

// This file writes the JSON of product documents without reflection: encoding/json's reflection
// on product documents took about 15% of the import worker's CPU. The bytes are exactly
// json.Marshal's (Go 1.26's, without GOEXPERIMENT=jsonv2) for the same value, because every
// stored content hash is a hash of them: one byte of difference would make the next import
// rewrite every product. Hence the rules below are encoding/json's, not only JSON's: fields in
// declaration order with the fields of embedded structs in their place, omitempty as each
// field's tag says, strings escaped with HTML escaping on, map keys sorted, floats as its
// floatEncoder writes them, times as time.Time's MarshalJSON. A field added to any of these
// types, or a MarshalJSON method on one, needs the encoder changed too:
// TestProductEncoderCoversTheTypes fails until both agree, and the tests that compare the
// encoder with json.Marshal fail when a Go release changes json.Marshal's bytes.

// marshal appends the JSON of the document d to b, as json.Marshal writes it: by appendProduct for
// a product; the others are json.Marshal's own result, b unused.
func marshal(b []byte, d enveloped) ([]byte, error) {
	if p, ok := d.(*Product); ok {
		return appendProduct(b, p)
	}
	return json.Marshal(d)
}

// bodies keep the buffers Encode writes product documents into before it hashes and copies
// them, up to maxKeptBody bytes each.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

const maxKeptBody = 64 << 10

// appendProduct appends the JSON of p to b, byte for byte what json.Marshal writes for p. It
// fails where json.Marshal fails: on a NaN or infinite float and on a time RFC 3339 cannot write
// (a year outside 0 to 9999).
func appendProduct(b []byte, p *Product) ([]byte, error) {
	var e encoder
	b = e.product(b, p)
	if e.err != nil {
		return nil, e.err
	}
	return b, nil
}

// encoder writes the JSON of a product document. Each method named after a type appends one
// value of that type to b and returns the extended slice, as append does; the functions named
// ...Field append one field of an object, name and value. The slice goes from call to call
// instead of living in the encoder, where each append would store it through a pointer: the GC
// write barriers of that took a quarter of the encoder's time. err keeps the first value JSON
// cannot hold.
type encoder struct{ err error }

func (e *encoder) product(b []byte, p *Product) []byte {
	b = append(b, '{')
	b = e.envelope(b, &p.Envelope)
	b = stringField(b, "item_number", p.ItemNumber)
	if p.SearchName != "" {
		b = stringField(b, "search_name", p.SearchName)
	}
	if p.SubType != "" {
		b = stringField(b, "sub_type", p.SubType)
	}
	if p.DimensionGroup != "" {
		b = stringField(b, "dimension_group", p.DimensionGroup)
	}
	if p.ProductGroup != "" {
		b = stringField(b, "product_group", p.ProductGroup)
	}
	if p.Unit != "" {
		b = stringField(b, "unit", p.Unit)
	}
	b = stringField(b, "language", p.Language)
	if len(p.Languages) > 0 {
		b = stringsField(b, "languages", p.Languages)
	}
	if len(p.Name) > 0 {
		b = stringMapField(b, "name", p.Name)
	}
	if len(p.Description) > 0 {
		b = stringMapField(b, "description", p.Description)
	}
	if p.Currency != "" {
		b = stringField(b, "currency", p.Currency)
	}
	if p.BasePrice != "" {
		b = stringField(b, "base_price", p.BasePrice)
	}
	if p.BasePriceValue != nil {
		b = e.floatField(b, "base_price_value", *p.BasePriceValue)
	}
	if p.DiscountGroup != "" {
		b = stringField(b, "discount_group", p.DiscountGroup)
	}
	if p.FromPrice != nil {
		b = e.floatField(b, "from_price", *p.FromPrice)
	}
	if len(p.FromPrices) > 0 {
		b = arrayField(e, b, "from_prices", p.FromPrices, (*encoder).fromPrice)
	}
	if len(p.Prices) > 0 {
		b = arrayField(e, b, "prices", p.Prices, (*encoder).price)
	}
	if len(p.LineDiscounts) > 0 {
		b = arrayField(e, b, "line_discounts", p.LineDiscounts, (*encoder).lineDiscount)
	}
	b = boolField(b, "sales_stopped", p.SalesStopped)
	if p.OrderSettings != nil {
		b = e.orderSettings(key(b, "order_settings"), p.OrderSettings)
	}
	if len(p.UnitConversions) > 0 {
		b = arrayField(e, b, "unit_conversions", p.UnitConversions, (*encoder).unitConversion)
	}
	if len(p.CategoryIDs) > 0 {
		b = stringsField(b, "category_ids", p.CategoryIDs)
	}
	b = e.dimensions(key(b, "dimensions"), &p.Dimensions)
	if len(p.DimensionValues) > 0 {
		b = arrayField(e, b, "dimension_values", p.DimensionValues, (*encoder).dimensionValue)
	}
	if len(p.Variants) > 0 {
		b = arrayField(e, b, "variants", p.Variants, (*encoder).variant)
	}
	if len(p.Barcodes) > 0 {
		b = stringsField(b, "barcodes", p.Barcodes)
	}
	if len(p.Related) > 0 {
		b = arrayField(e, b, "related", p.Related, (*encoder).related)
	}
	if len(p.Attachments) > 0 {
		b = arrayField(e, b, "attachments", p.Attachments, (*encoder).attachment)
	}
	if p.ImageURL != "" {
		b = stringField(b, "image_url", p.ImageURL)
	}
	return append(b, '}')
}

// envelope appends the fields of v to the object being written, as json.Marshal promotes the
// fields of an embedded struct.
func (e *encoder) envelope(b []byte, v *Envelope) []byte {
	b = stringField(b, "id", v.ID)
	b = stringField(b, "company", v.Company)
	b = stringField(b, "key", v.Key)
	b = e.timeField(b, "modified_at", v.ModifiedAt)
	b = boolField(b, "deleted", v.Deleted)
	if v.SourceDigest != "" {
		b = stringField(b, "source_digest", v.SourceDigest)
	}
	if v.ContentHash != "" {
		b = stringField(b, "content_hash", v.ContentHash)
	}
	if len(v.Webshops) > 0 {
		b = stringsField(b, "webshops", v.Webshops)
	}
	return b
}

func (e *encoder) dimensions(b []byte, v *Dimensions) []byte {
	b = append(b, '{')
	if len(v.Color) > 0 {
		b = stringsField(b, "color", v.Color)
	}
	if len(v.Size) > 0 {
		b = stringsField(b, "size", v.Size)
	}
	if len(v.Style) > 0 {
		b = stringsField(b, "style", v.Style)
	}
	if len(v.Configuration) > 0 {
		b = stringsField(b, "configuration", v.Configuration)
	}
	return append(b, '}')
}

func (e *encoder) dimensionValue(b []byte, v *DimensionValue) []byte {
	b = append(b, '{')
	b = stringField(b, "dimension", v.Dimension)
	b = stringField(b, "value", v.Value)
	if v.Description != "" {
		b = stringField(b, "description", v.Description)
	}
	b = intField(b, "display_order", int64(v.DisplayOrder))
	return append(b, '}')
}

func (e *encoder) variant(b []byte, v *Variant) []byte {
	b = append(b, '{')
	b = stringField(b, "variant_number", v.VariantNumber)
	if v.Name != "" {
		b = stringField(b, "name", v.Name)
	}
	if v.Description != "" {
		b = stringField(b, "description", v.Description)
	}
	if v.Color != "" {
		b = stringField(b, "color", v.Color)
	}
	if v.ColorDescription != "" {
		b = stringField(b, "color_description", v.ColorDescription)
	}
	if v.Size != "" {
		b = stringField(b, "size", v.Size)
	}
	if v.SizeDescription != "" {
		b = stringField(b, "size_description", v.SizeDescription)
	}
	if v.Style != "" {
		b = stringField(b, "style", v.Style)
	}
	if v.StyleDescription != "" {
		b = stringField(b, "style_description", v.StyleDescription)
	}
	if v.Configuration != "" {
		b = stringField(b, "configuration", v.Configuration)
	}
	if v.ConfigurationDescription != "" {
		b = stringField(b, "configuration_description", v.ConfigurationDescription)
	}
	if len(v.Barcodes) > 0 {
		b = stringsField(b, "barcodes", v.Barcodes)
	}
	return append(b, '}')
}

func (e *encoder) related(b []byte, v *Related) []byte {
	b = append(b, '{')
	b = stringField(b, "item_number", v.ItemNumber)
	b = stringField(b, "relation_type", v.RelationType)
	b = intField(b, "display_order", int64(v.DisplayOrder))
	return append(b, '}')
}

func (e *encoder) attachment(b []byte, v *Attachment) []byte {
	b = append(b, '{')
	b = stringField(b, "id", v.ID)
	b = stringField(b, "document_type", v.DocumentType)
	if v.FileName != "" {
		b = stringField(b, "file_name", v.FileName)
	}
	if v.Title != "" {
		b = stringField(b, "title", v.Title)
	}
	if v.URL != "" {
		b = stringField(b, "url", v.URL)
	}
	b = boolField(b, "default_image", v.DefaultImage)
	b = intField(b, "display_order", int64(v.DisplayOrder))
	return append(b, '}')
}

func (e *encoder) orderSettings(b []byte, v *OrderSettings) []byte {
	b = append(b, '{')
	b = stringField(b, "minimum_quantity", v.MinimumQuantity)
	b = stringField(b, "maximum_quantity", v.MaximumQuantity)
	b = stringField(b, "multiple_quantity", v.MultipleQuantity)
	b = stringField(b, "standard_quantity", v.StandardQuantity)
	return append(b, '}')
}

func (e *encoder) unitConversion(b []byte, v *UnitConversion) []byte {
	b = append(b, '{')
	b = stringField(b, "from", v.From)
	b = stringField(b, "to", v.To)
	b = stringField(b, "factor", v.Factor)
	b = e.floatField(b, "factor_value", v.FactorValue)
	b = intField(b, "numerator", v.Numerator)
	b = intField(b, "denominator", v.Denominator)
	b = stringField(b, "inner_offset", v.InnerOffset)
	b = stringField(b, "outer_offset", v.OuterOffset)
	if v.Rounding != "" {
		b = stringField(b, "rounding", v.Rounding)
	}
	return append(b, '}')
}

func (e *encoder) price(b []byte, v *Price) []byte {
	b = append(b, '{')
	b = intField(b, "rec_id", v.RecID)
	b = stringField(b, "account_code", v.AccountCode)
	if v.Customer != "" {
		b = stringField(b, "customer", v.Customer)
	}
	if v.PriceGroup != "" {
		b = stringField(b, "price_group", v.PriceGroup)
	}
	b = stringField(b, "currency", v.Currency)
	b = stringField(b, "price", v.Price)
	if v.Unit != "" {
		b = stringField(b, "unit", v.Unit)
	}
	b = stringField(b, "from_quantity", v.FromQuantity)
	b = stringField(b, "to_quantity", v.ToQuantity)
	if v.ValidFrom != "" {
		b = stringField(b, "valid_from", v.ValidFrom)
	}
	if v.ValidTo != "" {
		b = stringField(b, "valid_to", v.ValidTo)
	}
	b = boolField(b, "find_next", v.FindNext)
	b = e.variantDimensions(b, &v.Dimensions)
	return append(b, '}')
}

func (e *encoder) lineDiscount(b []byte, v *LineDiscount) []byte {
	b = append(b, '{')
	b = intField(b, "rec_id", v.RecID)
	b = stringField(b, "item_code", v.ItemCode)
	if v.ItemNumber != "" {
		b = stringField(b, "item_number", v.ItemNumber)
	}
	if v.ItemGroup != "" {
		b = stringField(b, "item_group", v.ItemGroup)
	}
	b = stringField(b, "account_code", v.AccountCode)
	if v.Customer != "" {
		b = stringField(b, "customer", v.Customer)
	}
	if v.CustomerGroup != "" {
		b = stringField(b, "customer_group", v.CustomerGroup)
	}
	b = stringField(b, "currency", v.Currency)
	b = stringField(b, "percent1", v.Percent1)
	b = stringField(b, "percent2", v.Percent2)
	b = stringField(b, "amount", v.Amount)
	if v.Unit != "" {
		b = stringField(b, "unit", v.Unit)
	}
	b = stringField(b, "from_quantity", v.FromQuantity)
	b = stringField(b, "to_quantity", v.ToQuantity)
	if v.ValidFrom != "" {
		b = stringField(b, "valid_from", v.ValidFrom)
	}
	if v.ValidTo != "" {
		b = stringField(b, "valid_to", v.ValidTo)
	}
	b = boolField(b, "find_next", v.FindNext)
	b = e.variantDimensions(b, &v.Dimensions)
	return append(b, '}')
}

// variantDimensions appends the fields of v to the object being written, as json.Marshal
// promotes the fields of an embedded struct.
func (e *encoder) variantDimensions(b []byte, v *erp.Dimensions) []byte {
	if v.Color != "" {
		b = stringField(b, "color", v.Color)
	}
	if v.Size != "" {
		b = stringField(b, "size", v.Size)
	}
	if v.Style != "" {
		b = stringField(b, "style", v.Style)
	}
	if v.Configuration != "" {
		b = stringField(b, "configuration", v.Configuration)
	}
	return b
}

func (e *encoder) fromPrice(b []byte, v *FromPrice) []byte {
	b = append(b, '{')
	b = stringField(b, "group", v.Group)
	b = e.floatField(b, "price", v.Price)
	return append(b, '}')
}

// arrayField appends the field name with the elements of s as an array, each written by elem.
func arrayField[T any](e *encoder, b []byte, name string, s []T, elem func(*encoder, []byte, *T) []byte) []byte {
	b = append(key(b, name), '[')
	for i := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(e, b, &s[i])
	}
	return append(b, ']')
}

func (e *encoder) floatField(b []byte, name string, v float64) []byte {
	b, err := appendFloat(key(b, name), v)
	e.fail(err)
	return b
}

func (e *encoder) timeField(b []byte, name string, t time.Time) []byte {
	b, err := appendTime(key(b, name), t)
	e.fail(err)
	return b
}

// fail keeps err when it is the first.
func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// key appends the name of a field: a comma unless the field is the first of its object (the
// last byte written is the object's '{'), the name quoted, and a colon. Field names are plain
// ASCII that JSON quotes as they are.
func key(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func stringField(b []byte, name, s string) []byte {
	return appendString(key(b, name), s)
}

func boolField(b []byte, name string, v bool) []byte {
	return strconv.AppendBool(key(b, name), v)
}

func intField(b []byte, name string, v int64) []byte {
	return strconv.AppendInt(key(b, name), v, 10)
}

func stringsField(b []byte, name string, ss []string) []byte {
	b = append(key(b, name), '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// stringMapField appends the field name with m as an object, its keys sorted as json.Marshal
// sorts a map's.
func stringMapField(b []byte, name string, m map[string]string) []byte {
	var buf [8]string // a product's languages; more spill to the heap
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(key(b, name), '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendTime appends t as json.Marshal writes a time.Time (its MarshalJSON): RFC 3339 with the
// nanoseconds that are not zero, quoted. Where t has no such form (a year outside 0 to 9999) it
// returns json.Marshal's error.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	out, err := t.AppendText(append(b, '"'))
	if err != nil {
		_, err = t.MarshalJSON() // its error, as json.Marshal reports it
		return b, &json.MarshalerError{Type: reflect.TypeFor[time.Time](), Err: err}
	}
	return append(out, '"'), nil
}

// appendFloat appends f as encoding/json writes a float64: like strconv's shortest 'f' format,
// but 'e' for magnitudes below 1e-6 and from 1e21 on, with a one-digit exponent where the
// exponent is below 10 ("1e-7", not "1e-07"). JSON has no NaN or infinity: for those it returns
// json.Marshal's error.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-07 becomes e-7
		if n := len(b); b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendString appends s as a JSON string as json.Marshal writes one: '"' and '\\' escaped with a
// backslash, \b \f \n \r \t by their names and the other control characters as \u00XX; '<',
// '>' and '&' as \u003c \u003e \u0026 (json.Marshal escapes HTML); U+2028 and U+2029 as \u2028
// and \u2029; each byte that is not part of valid UTF-8 as \ufffd. Everything else is copied.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonSafe tells the ASCII characters appendString copies as they are: all but the control
// characters, '"', '\\', '<', '>' and '&'.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for c := range safe {
		switch c {
		case '"', '\\', '<', '>', '&':
		default:
			safe[c] = c >= ' '
		}
	}
	return safe
}()
