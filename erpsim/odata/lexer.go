// Package odata parses the OData v4 query syntax the ERP simulator understands: $filter
// expressions, $orderby, $select and key predicates such as (dataAreaId='usmf',ItemNumber='1000').
//
// The package only parses; giving the names a meaning (fields, types, SQL) is the store's job.
package odata

import (
	"fmt"
	"strings"
	"time"
)

// SyntaxError is a query the parser cannot read. Pos is the byte offset in the input where the
// problem was found; Msg names the problem.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s (at position %d)", e.Msg, e.Pos) }

func errorf(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokNumber
	tokDateTime
	tokDate
	tokLParen
	tokRParen
	tokComma
	tokEquals // '=' in key predicates
)

func (k tokKind) String() string {
	switch k {
	case tokEOF:
		return "end of input"
	case tokIdent:
		return "name"
	case tokString:
		return "string"
	case tokNumber:
		return "number"
	case tokDateTime:
		return "date-time"
	case tokDate:
		return "date"
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	case tokComma:
		return "','"
	case tokEquals:
		return "'='"
	}
	return "token"
}

type token struct {
	kind tokKind
	text string // identifier or number text, unescaped string, canonical date/date-time
	pos  int
}

func (t token) describe() string {
	switch t.kind {
	case tokIdent, tokNumber, tokDateTime, tokDate:
		return fmt.Sprintf("%s %q", t.kind, t.text)
	case tokString:
		return fmt.Sprintf("string '%s'", t.text)
	}
	return t.kind.String()
}

// lexString reads the string literal s starts with (at its opening quote): its text, in which
// a doubled quote stands for one, and the literal's length; ok is false when it is not closed.
// The text is a part of s unless it holds a doubled quote: the values of a long in list are not
// copied one by one.
func lexString(s string) (text string, n int, ok bool) {
	var b strings.Builder // the text up to the last doubled quote, if any
	from := 1             // where the text not yet in b starts
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteString(s[from : i+1])
			i++
			from = i + 1
			continue
		}
		if from == 1 {
			return s[1:i], i + 1, true
		}
		b.WriteString(s[from:i])
		return b.String(), i + 1, true
	}
	return "", 0, false
}

// lex splits s into tokens. Whitespace separates tokens and is otherwise ignored.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{kind: tokLParen, pos: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tokRParen, pos: i})
			i++
		case c == ',':
			toks = append(toks, token{kind: tokComma, pos: i})
			i++
		case c == '=':
			toks = append(toks, token{kind: tokEquals, pos: i})
			i++
		case c == '\'':
			text, n, ok := lexString(s[i:])
			if !ok {
				return nil, errorf(i, "unterminated string literal")
			}
			toks = append(toks, token{kind: tokString, text: text, pos: i})
			i += n
		case isDigit(c) || c == '-' || c == '+':
			t, n, err := lexNumeric(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += n
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdentPart(s[i]) {
				i++
			}
			toks = append(toks, token{kind: tokIdent, text: s[start:i], pos: start})
		default:
			return nil, errorf(i, "unexpected character %q", rune(c))
		}
	}
	toks = append(toks, token{kind: tokEOF, pos: len(s)})
	return toks, nil
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) || c == '.' || c == '/' }

// lexNumeric reads a date-time, a date or a number starting at s[i].
func lexNumeric(s string, i int) (token, int, error) {
	// Date and date-time literals: YYYY-MM-DD[THH:MM[:SS[.frac]](Z|±HH:MM)].
	if isDate(s[i:]) {
		j := i + 10
		if j < len(s) && s[j] == 'T' {
			k := j + 1
			for k < len(s) && (isDigit(s[k]) || strings.IndexByte(":.+-Z", s[k]) >= 0) {
				k++
			}
			text := s[i:k]
			t, err := ParseDateTime(text)
			if err != nil {
				return token{}, 0, errorf(i, "invalid date-time literal %q: use 2026-01-02T03:04:05.123456Z", text)
			}
			return token{kind: tokDateTime, text: t.Format(DateTimeLayout), pos: i}, k - i, nil
		}
		text := s[i:j]
		if _, err := time.Parse(time.DateOnly, text); err != nil {
			return token{}, 0, errorf(i, "invalid date literal %q", text)
		}
		if j < len(s) && (isIdentPart(s[j])) {
			return token{}, 0, errorf(j, "unexpected character %q after date literal", rune(s[j]))
		}
		return token{kind: tokDate, text: text, pos: i}, j - i, nil
	}
	j := i
	if s[j] == '-' || s[j] == '+' {
		j++
	}
	digits := j
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j == digits {
		return token{}, 0, errorf(i, "unexpected character %q", rune(s[i]))
	}
	if j < len(s) && s[j] == '.' {
		j++
		frac := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == frac {
			return token{}, 0, errorf(i, "number %q has no digits after the decimal point", s[i:j])
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		exp := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == exp {
			return token{}, 0, errorf(i, "number %q has an empty exponent", s[i:j])
		}
	}
	// OData type suffixes (1.5M, 2L) are accepted and dropped.
	if j < len(s) && strings.IndexByte("mMlLdDfF", s[j]) >= 0 && (j+1 == len(s) || !isIdentPart(s[j+1])) {
		return token{kind: tokNumber, text: strings.TrimPrefix(s[i:j], "+"), pos: i}, j + 1 - i, nil
	}
	if j < len(s) && isIdentPart(s[j]) {
		return token{}, 0, errorf(j, "unexpected character %q after number %q", rune(s[j]), s[i:j])
	}
	return token{kind: tokNumber, text: strings.TrimPrefix(s[i:j], "+"), pos: i}, j - i, nil
}

func isDate(s string) bool {
	if len(s) < 10 {
		return false
	}
	for i := range 10 {
		if i == 4 || i == 7 {
			if s[i] != '-' {
				return false
			}
		} else if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// DateTimeLayout is how the simulator writes Edm.DateTimeOffset values: UTC, microseconds.
const DateTimeLayout = "2006-01-02T15:04:05.000000Z"

// ParseDateTime reads an Edm.DateTimeOffset literal (RFC 3339 with optional fraction, or
// without seconds) and returns it in UTC.
func ParseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date-time %q", s)
}
