package erpsim

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erpsim/odata"
	"github.com/erpsync/erpsync/erpsim/store"
)

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
