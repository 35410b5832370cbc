package erp

import "testing"

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
