package odata

import (
	"strings"
)

// OrderKey is one key of $orderby.
type OrderKey struct {
	Field string
	Desc  bool
}

// ParseOrderBy parses "$orderby=A,B desc,C asc". An empty string gives no keys.
func ParseOrderBy(s string) ([]OrderKey, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var keys []OrderKey
	pos := 0
	for part := range strings.SplitSeq(s, ",") {
		fields := strings.Fields(part)
		switch {
		case len(fields) == 0:
			return nil, errorf(pos, "empty key in $orderby")
		case len(fields) > 2:
			return nil, errorf(pos, "bad $orderby key %q: expected a field optionally followed by asc or desc", strings.TrimSpace(part))
		}
		if !validName(fields[0]) {
			return nil, errorf(pos, "bad field name %q in $orderby", fields[0])
		}
		k := OrderKey{Field: fields[0]}
		if len(fields) == 2 {
			switch fields[1] {
			case "asc":
			case "desc":
				k.Desc = true
			default:
				return nil, errorf(pos, "bad direction %q in $orderby: use asc or desc", fields[1])
			}
		}
		keys = append(keys, k)
		pos += len(part) + 1
	}
	return keys, nil
}

// ParseSelect parses "$select=A,B". An empty string or "*" selects every field (nil).
func ParseSelect(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" {
		return nil, nil
	}
	var fields []string
	pos := 0
	for part := range strings.SplitSeq(s, ",") {
		f := strings.TrimSpace(part)
		if !validName(f) {
			return nil, errorf(pos, "bad field name %q in $select", f)
		}
		fields = append(fields, f)
		pos += len(part) + 1
	}
	return fields, nil
}

func validName(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentPart(s[i]) {
			return false
		}
	}
	return true
}

// KeyPart is one name=value pair of a key predicate. Name is empty for the short form ('1000').
type KeyPart struct {
	Name  string
	Value *Literal
}

// ParseKey parses a key predicate without its parentheses, such as
// "dataAreaId='usmf',ItemNumber='1000'" or "RecId=42".
func ParseKey(s string) ([]KeyPart, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	var parts []KeyPart
	i := 0
	next := func() token {
		t := toks[i]
		if t.kind != tokEOF {
			i++
		}
		return t
	}
	for {
		t := next()
		var part KeyPart
		if lit, ok := literal(t); ok && len(toks) == 2 {
			return []KeyPart{{Value: lit}}, nil
		}
		if t.kind != tokIdent {
			return nil, errorf(t.pos, "expected a key field name, found %s", t.describe())
		}
		part.Name = t.text
		if eq := next(); eq.kind != tokEquals {
			return nil, errorf(eq.pos, "expected '=' after key field %q, found %s", part.Name, eq.describe())
		}
		v := next()
		lit, ok := literal(v)
		if !ok {
			return nil, errorf(v.pos, "expected a value for key field %q, found %s", part.Name, v.describe())
		}
		part.Value = lit
		parts = append(parts, part)
		switch sep := next(); sep.kind {
		case tokComma:
		case tokEOF:
			return parts, nil
		default:
			return nil, errorf(sep.pos, "expected ',' between key fields, found %s", sep.describe())
		}
	}
}

// QuoteString writes s as an OData string literal, doubling single quotes.
func QuoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
