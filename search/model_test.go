package search

import (
	"strings"
	"testing"

	"github.com/erpsync/erpsync/erp"
)

// TestModelFieldsAreMapped: every field of a document that change detection asks the index
// about (erp.Child.Indexed) is in that entity's mapping, and every root of the model has one.
func TestModelFieldsAreMapped(t *testing.T) {
	x := New(nil, "erpsync")
	for _, r := range erp.Roots() {
		m := x.Mapping(r.Entity)
		if m == nil {
			t.Errorf("no mapping for %s", r.Entity)
			continue
		}
		for _, c := range r.Children {
			if c.Indexed == "" {
				continue
			}
			props := m["properties"].(map[string]any)
			var f map[string]any
			for _, part := range strings.Split(c.Indexed, ".") {
				p, ok := props[part].(map[string]any)
				if !ok {
					f = nil
					break
				}
				f = p
				props, _ = p["properties"].(map[string]any)
			}
			if f == nil {
				t.Errorf("%s: child %s is looked up by %s, which the mapping lacks", r.Entity, c.Name, c.Indexed)
			}
		}
	}
}
