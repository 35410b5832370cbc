package erp

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	for in, want := range map[string]Decimal{
		"12.50": "12.5", "0012": "12", "-0.000": "0", "0.125": "0.125", "-3.10": "-3.1", ".5": "0.5", "7.": "",
		"1e3": "", "": "", "abc": "", "1.2.3": "", "12345678901234.123456": "12345678901234.123456",
	} {
		got, err := ParseDecimal(in)
		if want == "" {
			if err == nil {
				t.Errorf("ParseDecimal(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ParseDecimal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestDecimalScaledAndCmp(t *testing.T) {
	for _, c := range []struct {
		d     Decimal
		scale int
		want  int64
	}{{"12.345", 2, 1235}, {"12.344", 2, 1234}, {"-1.005", 2, -101}, {"", 2, 0}, {"19.99", 2, 1999}, {"3", 4, 30000}} {
		got, err := c.d.Scaled(c.scale)
		if err != nil || got != c.want {
			t.Errorf("%q.Scaled(%d) = %d, %v; want %d", c.d, c.scale, got, err, c.want)
		}
	}
	if Decimal("10").Cmp("9.5") != 1 || Decimal("9.50").Cmp("9.5") != 0 || Decimal("-1").Cmp("0") != -1 {
		t.Error("Cmp orders numerically")
	}
}

// ratOf is the reference reading of decimal text: math/big, which shares nothing with Cmp.
func ratOf(t testing.TB, s string) *big.Rat {
	t.Helper()
	if strings.TrimSpace(s) == "" {
		return new(big.Rat)
	}
	s = strings.TrimSpace(s)
	s = strings.Replace(strings.TrimPrefix(s, "+"), "-+", "-", 1) // ParseDecimal reads "-+5" as -5
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("big.Rat cannot read %q", s)
	}
	return r
}

func TestDecimalCmpIsExact(t *testing.T) {
	for _, c := range []struct {
		a, b Decimal
		want int
	}{
		{"10000000000000", "5", 1}, // 14 digits: beyond what 6 decimals in an int64 hold
		{"5", "10000000000000", -1},
		{"-10000000000000", "5", -1},
		{"-10000000000000", "-5", -1},
		{"123456789012345678901234567890.1", "123456789012345678901234567890.09", 1},
		{"0.0000001", "0", 1}, // below 6 decimals
		{"0.0000001", "0.00000011", -1},
		{"0012.500", "12.5", 0},
		{"-0", "0", 0},
		{"", "0.000", 0},
		{".5", "0.5", 0},
		{"9", "10", -1},
	} {
		if got := c.a.Cmp(c.b); got != c.want {
			t.Errorf("%q.Cmp(%q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestDecimalCmpAgreesWithBigRat compares Cmp with math/big over random decimals of up to 40
// digits on either side of the point, written with and without leading and trailing zeros.
func TestDecimalCmpAgreesWithBigRat(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	digitsOf := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	gen := func() string {
		s := digitsOf(rng.IntN(41))
		if f := rng.IntN(41); f > 0 {
			s += "." + digitsOf(f)
		}
		if s == "" || s[0] == '.' {
			s = "0" + s
		}
		if rng.IntN(2) == 0 {
			s = "-" + s
		}
		return s
	}
	for range 200_000 {
		a, b := gen(), gen()
		if rng.IntN(10) == 0 {
			b = a + "0" // equal values in other spellings
			if !strings.Contains(a, ".") {
				b = a + ".0"
			}
		}
		checkCmp(t, a, b)
	}
}

func checkCmp(t *testing.T, a, b string) {
	t.Helper()
	want := ratOf(t, a).Cmp(ratOf(t, b))
	if got := Decimal(a).Cmp(Decimal(b)); got != want {
		t.Fatalf("Decimal(%q).Cmp(%q) = %d, big.Rat says %d", a, b, got, want)
	}
}

// FuzzDecimalCmp: for any two texts ParseDecimal accepts, Cmp agrees with math/big, on the raw
// and on the canonical text. go test -fuzz FuzzDecimalCmp ./erp/
func FuzzDecimalCmp(f *testing.F) {
	for _, s := range [][2]string{{"10000000000000", "5"}, {"-0.5", "0.50"}, {"007", "7.000"}, {"", "0"}, {"1.2", "-1.2"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ca, errA := ParseDecimal(a)
		cb, errB := ParseDecimal(b)
		if errA != nil || errB != nil {
			if Decimal(a).Cmp(Decimal(b)) != -Decimal(b).Cmp(Decimal(a)) {
				t.Fatalf("Cmp of %q and %q is not antisymmetric", a, b)
			}
			return
		}
		checkCmp(t, a, b)
		checkCmp(t, string(ca), string(cb))
	})
}
