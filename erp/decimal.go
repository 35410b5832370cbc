package erp

import (
	"cmp"
	"fmt"
	"strings"
)

// Decimal is an exact decimal number as the ERP wrote it (Edm.Decimal), kept as canonical text:
// optional minus sign, digits, optional fraction without trailing zeros ("12.5", "-0.125",
// "100"). The zero value is zero. Money never passes through a float.
type Decimal string

// ParseDecimal checks s and returns it in canonical form. It accepts JSON number text
// ("1.50", "2E+1" is rejected: the ERP never writes exponents).
func ParseDecimal(s string) (Decimal, error) {
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "-"), "+")
	whole, frac, hasFrac := strings.Cut(t, ".")
	if whole == "" && frac == "" || !digits(whole) || !digits(frac) || hasFrac && frac == "" {
		return "", fmt.Errorf("%q is not a decimal number", s)
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	frac = strings.TrimRight(frac, "0")
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return Decimal(out), nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// IsZero reports whether d is zero (or empty).
func (d Decimal) IsZero() bool { return d == "" || d == "0" }

// String returns the canonical text, "0" for the zero value.
func (d Decimal) String() string {
	if d == "" {
		return "0"
	}
	return string(d)
}

// Scaled returns d in units of 10^-scale, rounded half away from zero:
// Decimal("12.345").Scaled(2) == 1235. It fails when the result does not fit an int64.
func (d Decimal) Scaled(scale int) (int64, error) {
	s := d.String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var round bool
	if len(frac) > scale {
		round = frac[scale] >= '5'
		frac = frac[:scale]
	}
	frac += strings.Repeat("0", scale-len(frac))
	digitsText := strings.TrimLeft(whole+frac, "0")
	if len(digitsText) > 18 {
		return 0, fmt.Errorf("decimal %s at scale %d does not fit in 64 bits", d, scale)
	}
	var n int64
	for _, r := range digitsText {
		n = n*10 + int64(r-'0')
	}
	if round {
		n++
	}
	if neg {
		n = -n
	}
	return n, nil
}

// Cmp compares d and e numerically: -1, 0 or +1. It is exact for any number of digits and
// accepts every text ParseDecimal accepts, canonical or not ("0012.50" equals "12.5"); "" is
// zero. Text that is not a decimal number orders as a string, after every number, so that Cmp
// stays a total order.
func (d Decimal) Cmp(e Decimal) int {
	a, okA := splitDecimal(string(d))
	b, okB := splitDecimal(string(e))
	switch {
	case !okA && !okB:
		return strings.Compare(string(d), string(e))
	case !okA:
		return 1
	case !okB:
		return -1
	}
	if a.neg != b.neg {
		if a.neg {
			return -1
		}
		return 1
	}
	c := cmp.Or(cmp.Compare(len(a.whole), len(b.whole)), strings.Compare(a.whole, b.whole), strings.Compare(a.frac, b.frac))
	if a.neg {
		return -c
	}
	return c
}

// decimalParts is a decimal number split without allocating: whole without leading zeros ("" for
// zero), frac without trailing zeros, neg only when the number is not zero.
type decimalParts struct {
	neg         bool
	whole, frac string
}

// splitDecimal splits s as ParseDecimal reads it; ok is false when s is not a decimal number.
func splitDecimal(s string) (p decimalParts, ok bool) {
	t := strings.TrimSpace(s)
	if t == "" {
		return p, true
	}
	p.neg = strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "-"), "+")
	whole, frac, hasFrac := strings.Cut(t, ".")
	if whole == "" && frac == "" || !digits(whole) || !digits(frac) || hasFrac && frac == "" {
		return p, false
	}
	p.whole, p.frac = strings.TrimLeft(whole, "0"), strings.TrimRight(frac, "0")
	p.neg = p.neg && (p.whole != "" || p.frac != "")
	return p, true
}
