package odata

import "strings"

// Expr is a node of a parsed $filter expression: *Binary, *Not, *In, *Call, *Ident or *Literal.
type Expr interface {
	// Position is the byte offset of the node in the filter text.
	Position() int
}

// Op is a binary operator.
type Op string

// The binary operators of $filter.
const (
	OpAnd Op = "and"
	OpOr  Op = "or"
	OpEq  Op = "eq"
	OpNe  Op = "ne"
	OpGt  Op = "gt"
	OpGe  Op = "ge"
	OpLt  Op = "lt"
	OpLe  Op = "le"
)

// IsComparison reports whether op compares two values (as opposed to combining conditions).
func (op Op) IsComparison() bool { return op != OpAnd && op != OpOr }

// Binary is L Op R.
type Binary struct {
	Op   Op
	L, R Expr
	Pos  int
}

// Not is "not X".
type Not struct {
	X   Expr
	Pos int
}

// In is "X in (List...)".
type In struct {
	X    Expr
	List []*Literal
	Pos  int
}

// Call is a function call: contains, startswith or endswith, with two arguments.
type Call struct {
	Name string
	Args []Expr
	Pos  int
}

// Ident names a field.
type Ident struct {
	Name string
	Pos  int
}

// LitKind is the kind of a literal.
type LitKind int

// Literal kinds.
const (
	LitString   LitKind = iota // Text is the unescaped string
	LitNumber                  // Text is the number as written (integer, decimal or exponent form)
	LitBool                    // Text is "true" or "false"
	LitNull                    // Text is "null"
	LitDateTime                // Text is the instant in DateTimeLayout (UTC, microseconds)
	LitDate                    // Text is YYYY-MM-DD
)

func (k LitKind) String() string {
	return [...]string{"string", "number", "boolean", "null", "date-time", "date"}[k]
}

// Literal is a constant.
type Literal struct {
	Kind LitKind
	Text string
	Pos  int
}

// Position implements Expr.
func (e *Binary) Position() int { return e.Pos }

// Position implements Expr.
func (e *Not) Position() int { return e.Pos }

// Position implements Expr.
func (e *In) Position() int { return e.Pos }

// Position implements Expr.
func (e *Call) Position() int { return e.Pos }

// Position implements Expr.
func (e *Ident) Position() int { return e.Pos }

// Position implements Expr.
func (e *Literal) Position() int { return e.Pos }

// MaxDepth bounds the nesting of a filter expression, so a hostile query cannot exhaust the stack.
const MaxDepth = 100

// MaxInList bounds the number of values in an "in (...)" list.
const MaxInList = 10000

// ParseFilter parses a $filter expression. An error is a *SyntaxError naming the problem.
func ParseFilter(s string) (Expr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errorf(0, "empty $filter")
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.orExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, errorf(t.pos, "unexpected %s after the end of the expression", t.describe())
	}
	return e, nil
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == tokIdent && t.text == word
}

func (p *parser) orExpr(depth int) (Expr, error) {
	if depth > MaxDepth {
		return nil, errorf(p.peek().pos, "expression nested deeper than %d levels", MaxDepth)
	}
	l, err := p.andExpr(depth)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		t := p.next()
		r, err := p.andExpr(depth)
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: OpOr, L: l, R: r, Pos: t.pos}
	}
	return l, nil
}

func (p *parser) andExpr(depth int) (Expr, error) {
	l, err := p.notExpr(depth)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		t := p.next()
		r, err := p.notExpr(depth)
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: OpAnd, L: l, R: r, Pos: t.pos}
	}
	return l, nil
}

func (p *parser) notExpr(depth int) (Expr, error) {
	if p.isKeyword("not") {
		if depth > MaxDepth {
			return nil, errorf(p.peek().pos, "expression nested deeper than %d levels", MaxDepth)
		}
		t := p.next()
		x, err := p.notExpr(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{X: x, Pos: t.pos}, nil
	}
	return p.comparison(depth)
}

var comparisonOps = map[string]Op{"eq": OpEq, "ne": OpNe, "gt": OpGt, "ge": OpGe, "lt": OpLt, "le": OpLe}

func (p *parser) comparison(depth int) (Expr, error) {
	l, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != tokIdent {
		return l, nil
	}
	if op, ok := comparisonOps[t.text]; ok {
		p.next()
		r, err := p.primary(depth)
		if err != nil {
			return nil, err
		}
		return &Binary{Op: op, L: l, R: r, Pos: t.pos}, nil
	}
	if t.text == "in" {
		p.next()
		list, err := p.literalList()
		if err != nil {
			return nil, err
		}
		return &In{X: l, List: list, Pos: t.pos}, nil
	}
	if t.text == "and" || t.text == "or" {
		return l, nil
	}
	return nil, errorf(t.pos, "unknown operator %q: use eq, ne, gt, ge, lt, le, in, and, or, not", t.text)
}

func (p *parser) literalList() ([]*Literal, error) {
	open := p.next()
	if open.kind != tokLParen {
		return nil, errorf(open.pos, "expected '(' after in, found %s", open.describe())
	}
	var list []*Literal
	for {
		t := p.next()
		lit, ok := literal(t)
		if !ok {
			return nil, errorf(t.pos, "expected a literal in the in list, found %s", t.describe())
		}
		list = append(list, lit)
		if len(list) > MaxInList {
			return nil, errorf(t.pos, "in list longer than %d values", MaxInList)
		}
		switch sep := p.next(); sep.kind {
		case tokComma:
		case tokRParen:
			return list, nil
		default:
			return nil, errorf(sep.pos, "expected ',' or ')' in the in list, found %s", sep.describe())
		}
	}
}

// functions are the supported string functions and their arity.
var functions = map[string]int{"contains": 2, "startswith": 2, "endswith": 2}

func (p *parser) primary(depth int) (Expr, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		e, err := p.orExpr(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, errorf(c.pos, "expected ')' to close the '(' at position %d, found %s", t.pos, c.describe())
		}
		return e, nil
	case tokIdent:
		if lit, ok := literal(t); ok {
			return lit, nil
		}
		switch t.text {
		case "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "in":
			return nil, errorf(t.pos, "expected a field or a value, found operator %q", t.text)
		}
		if arity, ok := functions[t.text]; ok && p.peek().kind == tokLParen {
			return p.call(t, arity, depth)
		}
		return &Ident{Name: t.text, Pos: t.pos}, nil
	case tokEOF:
		return nil, errorf(t.pos, "expression ends early: expected a field or a value")
	}
	if lit, ok := literal(t); ok {
		return lit, nil
	}
	return nil, errorf(t.pos, "expected a field or a value, found %s", t.describe())
}

func (p *parser) call(name token, arity, depth int) (Expr, error) {
	p.next() // '('
	c := &Call{Name: name.text, Pos: name.pos}
	for {
		arg, err := p.orExpr(depth + 1)
		if err != nil {
			return nil, err
		}
		c.Args = append(c.Args, arg)
		t := p.next()
		if t.kind == tokRParen {
			break
		}
		if t.kind != tokComma {
			return nil, errorf(t.pos, "expected ',' or ')' in the arguments of %s, found %s", name.text, t.describe())
		}
	}
	if len(c.Args) != arity {
		return nil, errorf(name.pos, "%s takes %d arguments, got %d", name.text, arity, len(c.Args))
	}
	return c, nil
}

// literal converts t to a literal if it is one.
func literal(t token) (*Literal, bool) {
	switch t.kind {
	case tokString:
		return &Literal{Kind: LitString, Text: t.text, Pos: t.pos}, true
	case tokNumber:
		return &Literal{Kind: LitNumber, Text: t.text, Pos: t.pos}, true
	case tokDateTime:
		return &Literal{Kind: LitDateTime, Text: t.text, Pos: t.pos}, true
	case tokDate:
		return &Literal{Kind: LitDate, Text: t.text, Pos: t.pos}, true
	case tokIdent:
		switch t.text {
		case "true", "false":
			return &Literal{Kind: LitBool, Text: t.text, Pos: t.pos}, true
		case "null":
			return &Literal{Kind: LitNull, Text: t.text, Pos: t.pos}, true
		}
	}
	return nil, false
}
