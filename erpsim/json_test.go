package erpsim

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/erpsync/erpsync/erpsim/odata"
	"github.com/erpsync/erpsync/erpsim/store"
)

// referenceAppendString is appendString as it was before its table of plain bytes: each byte
// compared in turn. TestAppendString holds the two to the same output.
func referenceAppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
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

func TestAppendString(t *testing.T) {
	cases := []string{"", "plain", `quote " and backslash \`, "tab\tnew line\nreturn\r", "\x00\x01\x1f\x7f ~",
		"Fahrrad – für den täglichen Gebrauch", "line\u2028and paragraph\u2029separators", "bad \xff\xfe utf-8 \xe2\x82",
		"<html> & 'quotes'", "emoji 🚲 at the end 🚲"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			// Mostly the bytes that need care: controls, quotes, backslashes and UTF-8 leads.
			b[i] = "\x00\x1f\"\\a \x7f\x80\xc3\xa9\xe2\x80\xa8\xf0\x9f"[rng.IntN(15)]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		got, want := string(appendString(nil, s)), string(referenceAppendString(nil, s))
		if got != want {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
		if !json.Valid([]byte(got)) {
			t.Fatalf("appendString(%q) = %s: not valid JSON", s, got)
		}
	}
}

func TestAppendDateTime(t *testing.T) {
	instants := []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), // D365's no-date
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 5, 6, 7, 8, 9, 10000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 29, 2, 30, 0, 123456789, time.FixedZone("CEST", 2*3600)),
		time.UnixMicro(0),
		time.UnixMicro(-1),
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		instants = append(instants, time.UnixMicro(rng.Int64N(400*365*24*3600*1e6)-200*365*24*3600*1e6))
	}
	for _, in := range instants {
		got := string(appendDateTime(nil, in))
		want := `"` + in.UTC().Format(odata.DateTimeLayout) + `"`
		if got != want {
			t.Fatalf("appendDateTime(%v) = %s, want %s", in, got, want)
		}
	}
}

// TestAppendRow: a row as a store.Page holds it with Query.Stored is written as appendRecord
// writes the record it stands for (store.RecordValue), for every field type and for values at
// the edges.
func TestAppendRow(t *testing.T) {
	fields := []store.Field{{Name: "S", Type: store.String}, {Name: "N", Type: store.Int}, {Name: "D", Type: store.Decimal},
		{Name: "Day", Type: store.Date}, {Name: "At", Type: store.DateTime}, {Name: "Quote\"d", Type: store.String}}
	rows := [][]any{
		{"usmf", int64(0), "0", "1900-01-01", int64(0), ""},
		{"it's \"x\"\n", int64(-9223372036854775808), "-12.50", "2154-12-31", int64(-2208988800000000), "ü\u2028"},
		{"", int64(9223372036854775807), "1e3", "", int64(1767225600000006), "\xff"},
		{"a", int64(42), "0.000001", "2026-01-02", int64(-62135596800000000), "b"},
		{"a", int64(42), "3", "2026-01-02", int64(253402300800000000), "b"}, // the year 10000
	}
	names := rowNames(fields)
	for i, row := range rows {
		rec := make([]any, len(fields))
		for j, f := range fields {
			rec[j] = store.RecordValue(f, row[j])
		}
		got := string(appendRow(nil, names, fields, row))
		want := string(appendRecord(nil, fields, rec))
		if got != want {
			t.Errorf("row %d: appendRow wrote\n%s\nwant\n%s", i, got, want)
		}
		if !strings.Contains(got, `"Quote\"d":`) {
			t.Errorf("row %d: the field name is not escaped: %s", i, got)
		}
	}
}
