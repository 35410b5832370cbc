package d365

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads OData collection answers in one pass, without encoding/json: decoding pages
// into maps was half of the worker's CPU. The scanner is as strict as encoding/json (the fuzz
// test FuzzScan holds it to that): a syntax error, a truncated body or data after the object is
// an error, never fewer rows. Rows are lists of fields whose names, strings without escapes and
// number literals are substrings of the body, so that a row costs no allocation of its own.

// Kinds of a value.
const (
	kindAbsent  uint8 = iota // the row has no such field
	kindNull                 // null
	kindString               // text holds the decoded string
	kindNumber               // text holds the literal, as sent
	kindTrue                 // true
	kindFalse                // false
	kindComplex              // an object or array: text holds its JSON, as sent
)

// value is one field's value.
type value struct {
	kind uint8
	text string
}

// String returns the value as error messages show it (like fmt's %v of what encoding/json
// decodes): strings unquoted, numbers and nested values as sent, <nil> when null or absent.
func (v value) String() string {
	switch v.kind {
	case kindAbsent, kindNull:
		return "<nil>"
	case kindTrue:
		return "true"
	case kindFalse:
		return "false"
	}
	return v.text
}

// field is one member of a row.
type field struct {
	name string
	v    value
}

// row is one record of an answer, its fields under D365's names (see collection.rename), and
// its JSON text as the ERP sent it.
type row struct {
	coll   string
	fields []field
	raw    string
}

// get returns a field's value; the zero value (kindAbsent) when the row has none. A name sent
// twice has its last value, as encoding/json decodes it into a map.
func (r row) get(name string) value {
	for i := len(r.fields) - 1; i >= 0; i-- {
		if r.fields[i].name == name {
			return r.fields[i].v
		}
	}
	return value{}
}

// text returns a string field as sent (even when it is not valid text); "" when it is absent,
// null or not a string.
func (r row) text(name string) string {
	if v := r.get(name); v.kind == kindString {
		return v.text
	}
	return ""
}

// envelope is an OData collection answer: its rows and the next page's link.
type envelope struct {
	Rows     []row
	NextLink string
	// Count is @odata.count, when the query asked for it ($count=true); -1 otherwise.
	Count int64
}

// maxDepth is encoding/json's limit of nested objects and arrays, the answer's object included.
const maxDepth = 10000

// parseEnvelope reads an OData collection answer strictly: one JSON object with a "value" array
// of objects and nothing after it but white space. A truncated or malformed body is an error,
// never fewer rows. Member names match exactly (encoding/json also accepts "Value"); a name
// sent twice counts with its last value. "@odata.nextLink" must be a string (or null),
// "@odata.count" an integer (or null); other members are checked and skipped.
func parseEnvelope(body string) (*envelope, error) {
	p := scanner{s: body}
	env, err := p.answer()
	if err != nil {
		return nil, fmt.Errorf("malformed answer (%d bytes): %w", len(body), err)
	}
	return env, nil
}

// scanner reads one answer; s[i:] is what is left of it.
type scanner struct {
	s     string
	i     int
	depth int
	buf   []byte // for strings with escapes
}

// span is where a row is: its text in s and its fields in the slab.
type span struct{ start, end, f0, f1 int }

func (p *scanner) answer() (*envelope, error) {
	env := &envelope{Count: -1}
	var (
		slab     []field
		spans    []span
		hasValue bool
	)
	p.ws()
	if err := p.open('{', "looking for beginning of the answer object"); err != nil {
		return nil, err
	}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
	} else {
		for {
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return nil, p.unexpected("looking for beginning of object key string")
			}
			name, err := p.str()
			if err != nil {
				return nil, err
			}
			if err := p.colon(); err != nil {
				return nil, err
			}
			switch name {
			case "value":
				if p.i >= len(p.s) || p.s[p.i] != '[' {
					if err := p.skip(); err != nil {
						return nil, err
					}
					return nil, fmt.Errorf(`"value" is not an array`)
				}
				// A second "value" replaces the first.
				slab, spans = slab[:0], spans[:0]
				if slab, spans, err = p.rows(slab, spans); err != nil {
					return nil, err
				}
				hasValue = true
			case "@odata.nextLink":
				switch {
				case p.i < len(p.s) && p.s[p.i] == '"':
					if env.NextLink, err = p.str(); err != nil {
						return nil, err
					}
				case p.i < len(p.s) && p.s[p.i] == 'n':
					if err := p.literal("null"); err != nil {
						return nil, err
					}
					env.NextLink = ""
				default:
					if err := p.skip(); err != nil {
						return nil, err
					}
					return nil, fmt.Errorf(`"@odata.nextLink" is not a string`)
				}
			case "@odata.count":
				switch {
				case p.i < len(p.s) && p.s[p.i] == 'n':
					if err := p.literal("null"); err != nil {
						return nil, err
					}
					env.Count = -1
				case p.i < len(p.s) && (p.s[p.i] == '-' || isDigit(p.s[p.i])):
					lit, err := p.number()
					if err != nil {
						return nil, err
					}
					if env.Count, err = strconv.ParseInt(lit, 10, 64); err != nil {
						return nil, fmt.Errorf(`"@odata.count" %s is not an integer`, lit)
					}
				default:
					if err := p.skip(); err != nil {
						return nil, err
					}
					return nil, fmt.Errorf(`"@odata.count" is not a number`)
				}
			default:
				if err := p.skip(); err != nil {
					return nil, err
				}
			}
			if done, err := p.next('}', "object key:value pair"); err != nil {
				return nil, err
			} else if done {
				break
			}
		}
	}
	p.depth--
	p.ws()
	if p.i < len(p.s) {
		return nil, fmt.Errorf("data after the JSON object at offset %d", p.i)
	}
	if !hasValue {
		return nil, fmt.Errorf(`no "value" array`)
	}
	env.Rows = make([]row, len(spans))
	for i, sp := range spans {
		env.Rows[i] = row{fields: slab[sp.f0:sp.f1:sp.f1], raw: p.s[sp.start:sp.end]}
	}
	return env, nil
}

// rows reads the "value" array, p.s[p.i] being its '['.
func (p *scanner) rows(slab []field, spans []span) ([]field, []span, error) {
	p.i++
	if err := p.deeper(); err != nil {
		return nil, nil, err
	}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		p.depth--
		return slab, spans, nil
	}
	start, room := p.i, 32
	for n := 0; ; n++ {
		p.ws()
		if p.i >= len(p.s) {
			return nil, nil, p.unexpected("")
		}
		if cap(slab)-len(slab) < room {
			// Room for the rest as the rows so far measure it, so that the slab is not copied
			// over and over as it grows.
			read, rest := max(p.i-start, 1), len(p.s)-p.i
			slab = slices.Grow(slab, room+len(slab)*rest/read*9/8)
			spans = slices.Grow(spans, 1+len(spans)*rest/read*9/8)
		}
		if p.s[p.i] != '{' {
			if err := p.skip(); err != nil {
				return nil, nil, err
			}
			return nil, nil, fmt.Errorf("row %d is not an object", n)
		}
		sp := span{start: p.i, f0: len(slab)}
		p.i++
		if err := p.deeper(); err != nil {
			return nil, nil, err
		}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
		} else {
			for {
				p.ws()
				if p.i >= len(p.s) || p.s[p.i] != '"' {
					return nil, nil, p.unexpected("looking for beginning of object key string")
				}
				name, err := p.str()
				if err != nil {
					return nil, nil, err
				}
				if err := p.colon(); err != nil {
					return nil, nil, err
				}
				v, err := p.value()
				if err != nil {
					return nil, nil, err
				}
				slab = append(slab, field{name: name, v: v})
				if done, err := p.next('}', "object key:value pair"); err != nil {
					return nil, nil, err
				} else if done {
					break
				}
			}
		}
		p.depth--
		sp.end, sp.f1 = p.i, len(slab)
		room = max(room, 2*(sp.f1-sp.f0))
		spans = append(spans, sp)
		if done, err := p.next(']', "array element"); err != nil {
			return nil, nil, err
		} else if done {
			break
		}
	}
	p.depth--
	return slab, spans, nil
}

// value reads a member's value.
func (p *scanner) value() (value, error) {
	if p.i >= len(p.s) {
		return value{}, p.unexpected("")
	}
	switch c := p.s[p.i]; c {
	case '"':
		s, err := p.str()
		return value{kind: kindString, text: s}, err
	case 't':
		return value{kind: kindTrue}, p.literal("true")
	case 'f':
		return value{kind: kindFalse}, p.literal("false")
	case 'n':
		return value{kind: kindNull}, p.literal("null")
	case '{', '[':
		start := p.i
		err := p.skip()
		return value{kind: kindComplex, text: p.s[start:p.i]}, err
	default:
		if c == '-' || isDigit(c) {
			n, err := p.number()
			return value{kind: kindNumber, text: n}, err
		}
		return value{}, p.unexpected("looking for beginning of value")
	}
}

// skip checks and passes one value of any kind.
func (p *scanner) skip() error {
	if p.i >= len(p.s) {
		return p.unexpected("")
	}
	switch p.s[p.i] {
	case '{':
		p.i++
		if err := p.deeper(); err != nil {
			return err
		}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			p.depth--
			return nil
		}
		for {
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return p.unexpected("looking for beginning of object key string")
			}
			if _, err := p.str(); err != nil {
				return err
			}
			if err := p.colon(); err != nil {
				return err
			}
			if err := p.skip(); err != nil {
				return err
			}
			if done, err := p.next('}', "object key:value pair"); err != nil || done {
				p.depth--
				return err
			}
		}
	case '[':
		p.i++
		if err := p.deeper(); err != nil {
			return err
		}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			p.depth--
			return nil
		}
		for {
			p.ws()
			if err := p.skip(); err != nil {
				return err
			}
			if done, err := p.next(']', "array element"); err != nil || done {
				p.depth--
				return err
			}
		}
	}
	_, err := p.value() // a scalar
	return err
}

// open passes the '{' or '[' that must come next.
func (p *scanner) open(c byte, context string) error {
	if p.i >= len(p.s) || p.s[p.i] != c {
		return p.unexpected(context)
	}
	p.i++
	return p.deeper()
}

func (p *scanner) deeper() error {
	p.depth++
	if p.depth > maxDepth {
		return fmt.Errorf("exceeded max depth at offset %d", p.i-1)
	}
	return nil
}

// colon passes the ':' after a member name and the white space around it.
func (p *scanner) colon() error {
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != ':' {
		return p.unexpected("after object key")
	}
	p.i++
	p.ws()
	return nil
}

// next passes the ',' or the closing byte after an element; done tells which.
func (p *scanner) next(closing byte, context string) (done bool, err error) {
	p.ws()
	if p.i < len(p.s) {
		switch p.s[p.i] {
		case ',':
			p.i++
			return false, nil
		case closing:
			p.i++
			return true, nil
		}
	}
	return false, p.unexpected("after " + context)
}

func (p *scanner) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\n', '\r', '\t':
			p.i++
		default:
			return
		}
	}
}

// literal passes true, false or null.
func (p *scanner) literal(lit string) error {
	for j := 0; j < len(lit); j++ {
		if p.i >= len(p.s) || p.s[p.i] != lit[j] {
			return p.unexpected("in literal " + lit)
		}
		p.i++
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number passes a number and returns its text: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *scanner) number() (string, error) {
	s, i := p.s, p.i
	start := i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	default:
		p.i = i
		return "", p.unexpected("in numeric literal")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			p.i = i
			return "", p.unexpected("after decimal point in numeric literal")
		}
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			p.i = i
			return "", p.unexpected("in exponent of numeric literal")
		}
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	}
	p.i = i
	return s[start:i], nil
}

// plain marks the bytes a string holds as they are: printable ASCII but '"' and '\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// notPlain flags the high bit of each byte of x (8 bytes of a string, the first lowest) that
// may not be plain: a quote, a backslash, a control character or a byte of UTF-8. A borrow
// flags only bytes after one that is not plain, so the lowest flag is exact.
func notPlain(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, b := x^(ones*'"'), x^(ones*'\\')
	return (x | (x-ones*0x20)&^x | (q-ones)&^q | (b-ones)&^b) & highs
}

// str reads a string, p.s[p.i] being its opening quote. Without escapes and invalid UTF-8 it
// is a substring of the answer. Escapes are decoded and invalid UTF-8 bytes and lone surrogates
// become U+FFFD, as encoding/json does.
func (p *scanner) str() (string, error) {
	s := p.s
	i := p.i + 1
	start := i
	for i < len(s) {
		if i+8 <= len(s) {
			// Eight bytes at a time: the lowest flagged one is the first that is not plain.
			m := notPlain(uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56)
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c == '"' {
			p.i = i + 1
			return s[start:i], nil
		}
		if c < utf8.RuneSelf {
			break // an escape or a control character
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	return p.strSlow(start, i)
}

// strSlow goes on reading a string at i after its plain beginning s[start:i].
func (p *scanner) strSlow(start, i int) (string, error) {
	s := p.s
	b := append(p.buf[:0], s[start:i]...)
	defer func() { p.buf = b[:0] }()
	for {
		if i >= len(s) {
			p.i = i
			return "", p.unexpected("")
		}
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			return string(b), nil
		case c == '\\':
			if i+1 >= len(s) {
				p.i = i + 1
				return "", p.unexpected("")
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					p.i = i + 2
					for p.i < len(s) && p.i < i+6 && isHex(s[p.i]) {
						p.i++
					}
					return "", p.unexpected("in \\u hexadecimal character escape")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// A pair, or U+FFFD as encoding/json has it.
					r2 := rune(-1)
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if v, ok := hex4(s, i+2); ok {
							r2 = v
						}
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				p.i = i + 1
				return "", p.unexpected("in string escape code")
			}
			i += 2
		case c < 0x20:
			p.i = i
			return "", p.unexpected("in string literal")
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// hex4 reads the 4 hexadecimal digits of a \u escape at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case isDigit(c):
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unexpected is the error at p.i: the end of the answer or an invalid character.
func (p *scanner) unexpected(context string) error {
	if p.i >= len(p.s) {
		return fmt.Errorf("unexpected end of JSON input")
	}
	c := p.s[p.i]
	if context == "" {
		context = "looking for beginning of value"
	}
	return fmt.Errorf("invalid character %s %s at offset %d", quoteChar(c), context, p.i)
}

// quoteChar formats c as encoding/json's errors do.
func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}
