package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/erpsim/odata"
)

// compiler translates a $filter AST to a parameterised SQL condition. User values only ever
// travel as parameters.
type compiler struct {
	t    *Table
	sql  strings.Builder
	args []any
}

func (c *compiler) fieldRef(id *odata.Ident) (Field, error) {
	f, ok := c.t.Field(id.Name)
	if !ok {
		return Field{}, Errorf(Invalid, "unknown field %q in $filter (at position %d): %s has no such field", id.Name, id.Pos, c.t.Name)
	}
	return f, nil
}

// column returns the SQL expression of a field for comparisons.
func column(f Field) string {
	if f.Type == Decimal {
		return "CAST(" + quote(f.Name) + " AS REAL)"
	}
	return quote(f.Name)
}

var sqlOps = map[odata.Op]string{
	odata.OpEq: "=", odata.OpNe: "<>", odata.OpGt: ">", odata.OpGe: ">=", odata.OpLt: "<", odata.OpLe: "<=",
}

// mirror turns "lit op field" into "field mirror(op) lit".
var mirror = map[odata.Op]odata.Op{
	odata.OpEq: odata.OpEq, odata.OpNe: odata.OpNe, odata.OpGt: odata.OpLt, odata.OpGe: odata.OpLe,
	odata.OpLt: odata.OpGt, odata.OpLe: odata.OpGe,
}

func (c *compiler) cond(e odata.Expr) error {
	switch e := e.(type) {
	case *odata.Binary:
		if !e.Op.IsComparison() {
			c.sql.WriteString("(")
			if err := c.cond(e.L); err != nil {
				return err
			}
			c.sql.WriteString(map[odata.Op]string{odata.OpAnd: " AND ", odata.OpOr: " OR "}[e.Op])
			if err := c.cond(e.R); err != nil {
				return err
			}
			c.sql.WriteString(")")
			return nil
		}
		return c.comparison(e)
	case *odata.Not:
		c.sql.WriteString("(NOT ")
		if err := c.cond(e.X); err != nil {
			return err
		}
		c.sql.WriteString(")")
		return nil
	case *odata.In:
		id, ok := e.X.(*odata.Ident)
		if !ok {
			return Errorf(Invalid, "the left side of in (at position %d) must be a field", e.Pos)
		}
		f, err := c.fieldRef(id)
		if err != nil {
			return err
		}
		var ph []string
		for _, lit := range e.List {
			if lit.Kind == odata.LitNull {
				continue
			}
			v, err := literalValue(f, lit)
			if err != nil {
				return err
			}
			ph = append(ph, "?")
			c.args = append(c.args, v)
		}
		if len(ph) == 0 {
			c.sql.WriteString("0")
			return nil
		}
		fmt.Fprintf(&c.sql, "%s IN (%s)", column(f), strings.Join(ph, ","))
		return nil
	case *odata.Call:
		return c.call(e)
	case *odata.Literal:
		if e.Kind == odata.LitBool {
			c.sql.WriteString(map[string]string{"true": "1", "false": "0"}[e.Text])
			return nil
		}
		return Errorf(Invalid, "%s literal at position %d is not a condition", e.Kind, e.Pos)
	case *odata.Ident:
		if _, err := c.fieldRef(e); err != nil {
			return err
		}
		return Errorf(Invalid, "field %q at position %d is not a condition: compare it, e.g. %s eq 'x'", e.Name, e.Pos, e.Name)
	}
	return Errorf(Invalid, "unsupported expression at position %d", e.Position())
}

func (c *compiler) comparison(e *odata.Binary) error {
	op := e.Op
	l, r := e.L, e.R
	if _, ok := l.(*odata.Literal); ok {
		if _, ok := r.(*odata.Ident); ok {
			l, r, op = r, l, mirror[op]
		}
	}
	id, ok := l.(*odata.Ident)
	if !ok {
		return Errorf(Invalid, "comparison %s at position %d needs a field on one side", e.Op, e.Pos)
	}
	f, err := c.fieldRef(id)
	if err != nil {
		return err
	}
	switch r := r.(type) {
	case *odata.Ident:
		g, err := c.fieldRef(r)
		if err != nil {
			return err
		}
		if f.Type != g.Type {
			return Errorf(Invalid, "cannot compare %s field %q with %s field %q (at position %d)", f.Type, f.Name, g.Type, g.Name, e.Pos)
		}
		fmt.Fprintf(&c.sql, "%s %s %s", column(f), sqlOps[op], column(g))
		return nil
	case *odata.Literal:
		if r.Kind == odata.LitNull {
			// Every field is NOT NULL (absent values are '' or 0, as in D365).
			switch op {
			case odata.OpEq:
				c.sql.WriteString("0")
			case odata.OpNe:
				c.sql.WriteString("1")
			default:
				return Errorf(Invalid, "null can only be compared with eq or ne (at position %d)", e.Pos)
			}
			return nil
		}
		v, err := literalValue(f, r)
		if err != nil {
			return err
		}
		fmt.Fprintf(&c.sql, "%s %s ?", column(f), sqlOps[op])
		c.args = append(c.args, v)
		return nil
	}
	return Errorf(Invalid, "the right side of %s at position %d must be a field or a value", e.Op, e.Pos)
}

func (c *compiler) call(e *odata.Call) error {
	id, ok := e.Args[0].(*odata.Ident)
	lit, ok2 := e.Args[1].(*odata.Literal)
	if !ok || !ok2 || lit.Kind != odata.LitString {
		return Errorf(Invalid, "%s at position %d takes a string field and a string literal", e.Name, e.Pos)
	}
	f, err := c.fieldRef(id)
	if err != nil {
		return err
	}
	if f.Type != String {
		return Errorf(Invalid, "%s at position %d needs a string field; %q is a %s", e.Name, e.Pos, f.Name, f.Type)
	}
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(lit.Text)
	pattern := map[string]string{"contains": "%" + esc + "%", "startswith": esc + "%", "endswith": "%" + esc}[e.Name]
	fmt.Fprintf(&c.sql, "(%s LIKE ? ESCAPE '\\')", quote(f.Name))
	c.args = append(c.args, pattern)
	return nil
}

var decimalRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// literalValue converts a filter literal to the SQL parameter for comparing with field f.
func literalValue(f Field, lit *odata.Literal) (any, error) {
	bad := func(want string) error {
		return Errorf(Invalid, "field %q is a %s: cannot compare it with the %s literal at position %d (%s)", f.Name, f.Type, lit.Kind, lit.Pos, want)
	}
	switch f.Type {
	case String:
		if lit.Kind != odata.LitString {
			return nil, bad("write strings as 'text'")
		}
		return lit.Text, nil
	case Int:
		if lit.Kind != odata.LitNumber {
			return nil, bad("use a number")
		}
		if n, err := strconv.ParseInt(lit.Text, 10, 64); err == nil {
			return n, nil
		}
		x, err := strconv.ParseFloat(lit.Text, 64)
		if err != nil {
			return nil, bad("use a number")
		}
		return x, nil
	case Decimal:
		if lit.Kind != odata.LitNumber {
			return nil, bad("use a number such as 12.50")
		}
		x, err := strconv.ParseFloat(lit.Text, 64)
		if err != nil {
			return nil, bad("use a number such as 12.50")
		}
		return x, nil
	case Date:
		if lit.Kind != odata.LitDate {
			return nil, bad("use a date such as 2026-01-31")
		}
		return lit.Text, nil
	case DateTime:
		switch lit.Kind {
		case odata.LitDateTime:
			t, err := odata.ParseDateTime(lit.Text)
			if err != nil {
				return nil, bad("use a date-time such as 2026-01-02T03:04:05.123456Z")
			}
			return t.UnixMicro(), nil
		case odata.LitDate:
			t, _ := time.Parse(time.DateOnly, lit.Text)
			return t.UnixMicro(), nil
		}
		return nil, bad("use a date-time such as 2026-01-02T03:04:05.123456Z")
	}
	return nil, bad("unsupported type")
}

// lowerBound returns the tightest lower bound that e implies for field (ascending order), as
// an SQL parameter. It lets SQLite seek the paging index for a keyset filter written as
// "F gt T or (F eq T and K gt 'k')", which it cannot do from the OR alone.
func lowerBound(e odata.Expr, f Field) (any, bool) {
	switch e := e.(type) {
	case *odata.Binary:
		switch e.Op {
		case odata.OpAnd:
			l, lok := lowerBound(e.L, f)
			r, rok := lowerBound(e.R, f)
			switch {
			case lok && rok:
				if compareValues(l, r) >= 0 {
					return l, true
				}
				return r, true
			case lok:
				return l, true
			case rok:
				return r, true
			}
		case odata.OpOr:
			l, lok := lowerBound(e.L, f)
			r, rok := lowerBound(e.R, f)
			if lok && rok {
				if compareValues(l, r) <= 0 {
					return l, true
				}
				return r, true
			}
		default:
			op, l, r := e.Op, e.L, e.R
			if _, ok := l.(*odata.Literal); ok {
				l, r, op = r, l, mirror[op]
			}
			id, ok := l.(*odata.Ident)
			lit, ok2 := r.(*odata.Literal)
			if !ok || !ok2 || id.Name != f.Name || lit.Kind == odata.LitNull {
				return nil, false
			}
			if op != odata.OpGt && op != odata.OpGe && op != odata.OpEq {
				return nil, false
			}
			v, err := literalValue(f, lit)
			if err != nil {
				return nil, false
			}
			return v, true
		}
	}
	return nil, false
}

// compareValues orders two SQL parameters of the same field.
func compareValues(a, b any) int {
	switch a := a.(type) {
	case int64:
		if b, ok := b.(int64); ok {
			return cmpOrdered(a, b)
		}
	case float64:
		if b, ok := b.(float64); ok {
			return cmpOrdered(a, b)
		}
	case string:
		if b, ok := b.(string); ok {
			return strings.Compare(a, b)
		}
	}
	return 0
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxDecimals is the precision of money in D365.
const maxDecimals = 6

// ParseDecimal validates an exact decimal given as a JSON number or a string and returns its
// canonical text: plain notation (no exponent), at most six decimals, trailing zeros kept as
// written ("12.50" stays "12.50").
func ParseDecimal(v any) (json.Number, error) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = string(v)
	case string:
		s = v
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), nil
	case int:
		return json.Number(strconv.Itoa(v)), nil
	default:
		return "", errors.New("not a number")
	}
	if !decimalRE.MatchString(s) {
		// Accept exponent notation and rewrite it exactly.
		r, ok := new(big.Rat).SetString(s)
		if !ok || strings.ContainsAny(s, "/") {
			return "", fmt.Errorf("%q is not a decimal number", s)
		}
		n, exact := r.FloatPrec()
		if !exact || n > maxDecimals {
			return "", fmt.Errorf("%q has more than %d decimals", s, maxDecimals)
		}
		return json.Number(r.FloatString(n)), nil
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > maxDecimals {
		return "", fmt.Errorf("%q has more than %d decimals", s, maxDecimals)
	}
	return json.Number(s), nil
}
