package erp

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Cursor is a position in one entity's change order (ModifiedDateTime, dataAreaId, key): a
// read after a Cursor returns the records strictly after it. The zero Cursor means "from the
// beginning". Cursors are JSON values so that they can be heartbeated and carried across
// continue-as-new; Cursor is their only owner.
type Cursor struct {
	// Modified is the last record's ModifiedDateTime (UTC).
	Modified time.Time `json:"modified"`
	// Company is the last record's dataAreaId; "" in a collection of no company (a shared
	// product's rows, ordered by ModifiedDateTime and key).
	Company string `json:"company,omitempty"`
	// Key is the last record's key as the ERP spells it (ItemNumber, CustomerAccount, ...).
	Key string `json:"key,omitempty"`
}

// IsZero reports whether c is the beginning.
func (c Cursor) IsZero() bool { return c.Modified.IsZero() && c.Company == "" && c.Key == "" }

// Less reports whether c comes before d in change order.
func (c Cursor) Less(d Cursor) bool {
	if !c.Modified.Equal(d.Modified) {
		return c.Modified.Before(d.Modified)
	}
	if c.Company != d.Company {
		return c.Company < d.Company
	}
	return c.Key < d.Key
}

// String formats c for logs and the UI: "2026-11-27T10:15:30.123456Z usmf/1000".
func (c Cursor) String() string {
	if c.IsZero() {
		return "beginning"
	}
	if c.Company == "" && c.Key == "" {
		return c.Modified.UTC().Format(TimeLayout)
	}
	return fmt.Sprintf("%s %s/%s", c.Modified.UTC().Format(TimeLayout), c.Company, c.Key)
}

// ParseCursor reads what String wrote, or a JSON cursor.
func ParseCursor(s string) (Cursor, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "beginning" {
		return Cursor{}, nil
	}
	if strings.HasPrefix(s, "{") {
		var c Cursor
		err := json.Unmarshal([]byte(s), &c)
		return c, err
	}
	ts, rest, _ := strings.Cut(s, " ")
	t, err := time.Parse(TimeLayout, ts)
	if err != nil {
		return Cursor{}, fmt.Errorf("parse cursor %q: %w", s, err)
	}
	company, key, ok := strings.Cut(rest, "/")
	if !ok && rest != "" {
		return Cursor{}, fmt.Errorf("parse cursor %q: want \"<time> <company>/<key>\"", s)
	}
	return Cursor{Modified: t.UTC(), Company: company, Key: key}, nil
}

// TimeLayout is how ModifiedDateTime is written on the wire: UTC, microseconds.
const TimeLayout = "2006-01-02T15:04:05.999999Z"

// JoinKey writes the key of a row as one Cursor.Key: a one-field key is its value; a key of
// several fields (after dataAreaId) is a JSON array of their values, so that no value can be
// mistaken for a separator.
func JoinKey(values []string) string {
	if len(values) == 1 {
		return values[0]
	}
	n := 2
	for _, v := range values {
		if !plainJSON(v) {
			b, _ := json.Marshal(values) // strings always marshal
			return string(b)
		}
		n += len(v) + 3
	}
	// What json.Marshal writes for values that need no escaping, without its reflection: the
	// connector joins the key of every row it reads.
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, v...)
		b = append(b, '"')
	}
	return string(append(b, ']'))
}

// plainJSON reports whether json.Marshal writes s between quotes as it is: printable ASCII
// without the quote, the backslash and the characters it escapes for HTML.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// SplitKey reads what JoinKey wrote for a key of n fields.
func SplitKey(key string, n int) ([]string, error) {
	if n == 1 {
		return []string{key}, nil
	}
	var values []string
	if err := json.Unmarshal([]byte(key), &values); err != nil || len(values) != n {
		return nil, fmt.Errorf("cursor key %q is not a key of %d fields", key, n)
	}
	return values, nil
}
