package odata

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// show prints an AST in a compact prefix form for comparisons.
func show(e Expr) string {
	switch e := e.(type) {
	case *Binary:
		return fmt.Sprintf("(%s %s %s)", e.Op, show(e.L), show(e.R))
	case *Not:
		return "(not " + show(e.X) + ")"
	case *In:
		var vs []string
		for _, l := range e.List {
			vs = append(vs, show(l))
		}
		return fmt.Sprintf("(in %s [%s])", show(e.X), strings.Join(vs, " "))
	case *Call:
		var as []string
		for _, a := range e.Args {
			as = append(as, show(a))
		}
		return fmt.Sprintf("(%s %s)", e.Name, strings.Join(as, " "))
	case *Ident:
		return e.Name
	case *Literal:
		return fmt.Sprintf("%s:%s", e.Kind, e.Text)
	}
	return "?"
}

func TestParseFilter(t *testing.T) {
	tests := []struct{ in, want string }{
		{"A eq 'x'", "(eq A string:x)"},
		{"A eq 'it''s'", "(eq A string:it's)"},
		{"A eq ''", "(eq A string:)"},
		{"A eq ''''", "(eq A string:')"},
		{"A eq 'a''b''''c'''", "(eq A string:a'b''c')"},
		{"A in ('','x''','y') and B eq 'z'", "(and (in A [string: string:x' string:y]) (eq B string:z))"},
		{"A ne 1 and B gt -2.50", "(and (ne A number:1) (gt B number:-2.50))"},
		{"A eq 1 or B eq 2 and C eq 3", "(or (eq A number:1) (and (eq B number:2) (eq C number:3)))"},
		{"(A eq 1 or B eq 2) and C eq 3", "(and (or (eq A number:1) (eq B number:2)) (eq C number:3))"},
		{"not A eq 1", "(not (eq A number:1))"},
		{"not not (A le 1)", "(not (not (le A number:1)))"},
		{"A in ('a', 'b','c')", "(in A [string:a string:b string:c])"},
		{"A eq true or B eq false or C eq null", "(or (or (eq A boolean:true) (eq B boolean:false)) (eq C null:null))"},
		{"M gt 2026-01-02T03:04:05.123456Z", "(gt M date-time:2026-01-02T03:04:05.123456Z)"},
		{"M gt 2026-01-02T04:04:05+01:00", "(gt M date-time:2026-01-02T03:04:05.000000Z)"},
		{"M ge 2026-01-02T03:04Z", "(ge M date-time:2026-01-02T03:04:00.000000Z)"},
		{"D lt 2026-12-31", "(lt D date:2026-12-31)"},
		{"X eq 1.5e3 and Y eq 2M", "(and (eq X number:1.5e3) (eq Y number:2))"},
		{"  A   eq\t'x'  ", "(eq A string:x)"},
		{"'x' eq A", "(eq string:x A)"},
		{"contains(Name,'abc')", "(contains Name string:abc)"},
		{"true", "boolean:true"},
		{"M gt 2026-01-02T03:04:05.123456Z or (M eq 2026-01-02T03:04:05.123456Z and K gt 'k')",
			"(or (gt M date-time:2026-01-02T03:04:05.123456Z) (and (eq M date-time:2026-01-02T03:04:05.123456Z) (gt K string:k)))"},
	}
	for _, tc := range tests {
		e, err := ParseFilter(tc.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.in, err)
			continue
		}
		if got := show(e); got != tc.want {
			t.Errorf("ParseFilter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty $filter"},
		{"A eq 'x", "unterminated string"},
		{"A eq 'x''", "unterminated string"},
		{"A eq '", "unterminated string"},
		{"A eq", "ends early"},
		{"A eq 1 and", "ends early"},
		{"A eq 1)", "unexpected ')' after the end"},
		{"(A eq 1", "expected ')' to close"},
		{"A equals 1", `unknown operator "equals"`},
		{"A eq 1 B eq 2", `unexpected name "B" after the end`},
		{"A in 'x'", "expected '(' after in"},
		{"A in ('x' 'y')", "expected ',' or ')' in the in list"},
		{"A in (B)", "expected a literal in the in list"},
		{"A in ()", "expected a literal in the in list"},
		{"A eq 1.", "no digits after the decimal point"},
		{"A eq 1e", "empty exponent"},
		{"A eq 12abc", "after number"},
		{"A eq 2026-13-01", "invalid date literal"},
		{"A eq 2026-01-01T25:00:00Z", "invalid date-time literal"},
		{"A eq #", "unexpected character '#'"},
		{"A eq and", `found operator "and"`},
		{"eq A", `found operator "eq"`},
		{"contains(A)", "contains takes 2 arguments"},
		{"A eq -", "unexpected character '-'"},
		{strings.Repeat("(", 200) + "A eq 1" + strings.Repeat(")", 200), "nested deeper"},
		{strings.Repeat("not ", 200) + "A eq 1", "nested deeper"},
	}
	for _, tc := range tests {
		_, err := ParseFilter(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseFilter(%q) = %v, want a SyntaxError", tc.in, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFilter(%q) error %q, want it to mention %q", tc.in, err, tc.want)
		}
	}
}

func TestParseOrderBySelectKey(t *testing.T) {
	keys, err := ParseOrderBy("ModifiedDateTime, dataAreaId desc,ItemNumber asc")
	if err != nil || fmt.Sprint(keys) != "[{ModifiedDateTime false} {dataAreaId true} {ItemNumber false}]" {
		t.Errorf("ParseOrderBy = %v, %v", keys, err)
	}
	for _, bad := range []string{"A,,B", "A up", "A desc extra", "1A"} {
		if _, err := ParseOrderBy(bad); err == nil {
			t.Errorf("ParseOrderBy(%q) accepted", bad)
		}
	}
	sel, err := ParseSelect("A, B")
	if err != nil || fmt.Sprint(sel) != "[A B]" {
		t.Errorf("ParseSelect = %v, %v", sel, err)
	}
	if _, err := ParseSelect("A,'x'"); err == nil {
		t.Error("ParseSelect accepted a literal")
	}
	parts, err := ParseKey("dataAreaId='usmf',ItemNumber='it''s'")
	if err != nil || len(parts) != 2 || parts[1].Name != "ItemNumber" || parts[1].Value.Text != "it's" {
		t.Errorf("ParseKey = %+v, %v", parts, err)
	}
	if parts, err := ParseKey("42"); err != nil || parts[0].Name != "" || parts[0].Value.Text != "42" {
		t.Errorf("ParseKey(42) = %+v, %v", parts, err)
	}
	for _, bad := range []string{"dataAreaId=", "dataAreaId 'x'", "a='x' b='y'", "='x'"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}
