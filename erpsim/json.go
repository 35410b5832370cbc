package erpsim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/erpsync/erpsync/erpsim/odata"
	"github.com/erpsync/erpsync/erpsim/store"
)

// errorBody is D365's OData error shape.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers with a D365-style OData error.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(b)
}

// appendRecord writes one record as a JSON object, fields in order. Decimals are written as
// JSON numbers with their exact stored text; date-times in UTC with microseconds.
func appendRecord(b []byte, fields []store.Field, vals []any) []byte {
	b = append(b, '{')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, ':')
		b = appendValue(b, vals[i])
	}
	return append(b, '}')
}

// rowNames returns what appendRow writes before each field's value: its name as a JSON string
// and a colon, after a comma from the second field on. A page's rows share them.
func rowNames(fields []store.Field) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		var b []byte
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		names[i] = string(append(b, ':'))
	}
	return names
}

// appendRow writes one row of a store.Page read with Query.Stored as a JSON object, as
// appendRecord writes the record it stands for; its values are as the page holds them (text,
// or integers for integer and date-time fields) and names is rowNames(fields).
func appendRow(b []byte, names []string, fields []store.Field, row []any) []byte {
	b = append(b, '{')
	for i, f := range fields {
		b = append(b, names[i]...)
		switch f.Type {
		case store.Int:
			b = strconv.AppendInt(b, row[i].(int64), 10)
		case store.DateTime:
			b = appendDateTime(b, time.UnixMicro(row[i].(int64)))
		case store.Decimal:
			b = append(b, row[i].(string)...)
		default:
			b = appendString(b, row[i].(string))
		}
	}
	return append(b, '}')
}

func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendString(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case json.Number:
		return append(b, v...)
	case time.Time:
		return appendDateTime(b, v)
	case nil:
		return append(b, "null"...)
	}
	out, _ := json.Marshal(v)
	return append(b, out...)
}

// appendDateTime writes t in UTC as a JSON string in odata.DateTimeLayout. Within the years
// 0-9999 it writes the digits itself: every record of a page has a date-time, and AppendFormat,
// which reads the layout each time, took five times as long.
func appendDateTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		b = append(b, '"')
		b = t.AppendFormat(b, odata.DateTimeLayout)
		return append(b, '"')
	}
	hour, minute, sec := t.Clock()
	b = append(b, '"')
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1000, 6)
	return append(b, 'Z', '"')
}

// appendDigits writes n (not negative) in width decimal digits, zero-padded on the left.
func appendDigits(b []byte, n, width int) []byte {
	b = append(b, "000000"[:width]...)
	for i := len(b) - 1; n > 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}

const hexDigits = "0123456789abcdef"

// plain marks the bytes appendString copies as they are: printable ASCII but '"' and '\\'. One
// look-up a byte is what most of the text of a page costs.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
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
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func recordValues(fields []store.Field, r store.Record) []any {
	vals := make([]any, len(fields))
	for i, f := range fields {
		vals[i] = r[f.Name]
	}
	return vals
}
