package erp

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestCursorRoundTripAndOrder(t *testing.T) {
	ts := time.Date(2026, 11, 27, 10, 15, 30, 123456000, time.UTC)
	c := Cursor{Modified: ts, Company: "usmf", Key: "1000"}
	got, err := ParseCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("ParseCursor(%q) = %+v, %v", c.String(), got, err)
	}
	if z, err := ParseCursor("beginning"); err != nil || !z.IsZero() {
		t.Fatalf("beginning parses to %+v, %v", z, err)
	}
	later := Cursor{Modified: ts, Company: "usmf", Key: "1001"}
	if !c.Less(later) || later.Less(c) || c.Less(c) {
		t.Fatal("same timestamp: the key breaks the tie")
	}
	if !(Cursor{}).Less(c) {
		t.Fatal("the zero cursor comes first")
	}
	if _, err := ParseCursor("yesterday usmf/1"); err == nil {
		t.Fatal("a bad time must not parse")
	}
}

func TestCursorAtAnInstant(t *testing.T) {
	c := Cursor{Modified: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	if c.String() != "2026-11-27T10:00:00Z" {
		t.Fatalf("String() = %q", c.String())
	}
	if got, err := ParseCursor(c.String()); err != nil || got != c {
		t.Fatalf("ParseCursor = %+v, %v", got, err)
	}
}

// TestCursorOfNoCompany: the cursor of a collection of no company (a shared product's rows) has
// no company and a key of several fields; it reads back from its text.
func TestCursorOfNoCompany(t *testing.T) {
	c := Cursor{Modified: time.Date(2026, 5, 1, 12, 0, 0, 1000, time.UTC), Key: JoinKey([]string{"box", "ea/pcs", "1000"})}
	got, err := ParseCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("ParseCursor(%q) = %+v, %v; want %+v", c.String(), got, err, c)
	}
}

// TestJoinKeyWritesWhatJSONWrites: a key of several fields is exactly json.Marshal's array of
// them (keys already stored in indexes and digests keep their bytes), for plain values and for
// values JSON escapes, and it splits back into the values.
func TestJoinKeyWritesWhatJSONWrites(t *testing.T) {
	alphabet := []string{"a", "Z", "0", " ", "-", "/", "~", "\"", "\\", "<", ">", "&", "\x00", "\x1f", "\x7f", "é", "\u2028", "\xff", ""}
	rnd := rand.New(rand.NewPCG(1, 2))
	cases := [][]string{{"usmf", "1000"}, {"", ""}, {"a\"b", "c"}, {"<x>", "&"}, {"é", "\u2028"}, {"\xff", "ok"}, {"1", "2", "3"}}
	for range 2000 {
		values := make([]string, 2+rnd.IntN(3))
		for i := range values {
			var b strings.Builder
			for range rnd.IntN(6) {
				b.WriteString(alphabet[rnd.IntN(len(alphabet))])
			}
			values[i] = b.String()
		}
		cases = append(cases, values)
	}
	for _, values := range cases {
		want, _ := json.Marshal(values)
		if got := JoinKey(values); got != string(want) {
			t.Fatalf("JoinKey(%q) = %s, want %s", values, got, want)
		}
		if utf8.ValidString(strings.Join(values, "")) {
			if back, err := SplitKey(JoinKey(values), len(values)); err != nil || !slices.Equal(back, values) {
				t.Fatalf("SplitKey(JoinKey(%q)) = %q, %v", values, back, err)
			}
		}
	}
}
