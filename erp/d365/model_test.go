package d365

import (
	"slices"
	"testing"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/store"
)

// TestModelAgreesWithTheSimulator: the connector's ERP model (erp/model.go) and the simulator's
// schema (erpsim/store/model.go) describe the same collections: every collection of the model
// is served with the same key, the fields the model links, selects and conditions on exist,
// numeric keys are numbers, and every collection the simulator serves is in the model or
// listed here with the reason it is not.
func TestModelAgreesWithTheSimulator(t *testing.T) {
	schema := store.NewSchema()
	used := map[string]bool{erp.LegalEntities: true, erp.DeletedRecords: true}
	notInModel := map[string]string{
		store.CommissionSalesGroups: "a group's name is not on any document; its members are (CommissionSalesRepresentatives)",
	}
	table := func(name string) *store.Table {
		t.Helper()
		tb, ok := schema.Table(name)
		if !ok {
			t.Fatalf("the simulator has no collection %s", name)
		}
		used[name] = true
		return tb
	}
	has := func(tb *store.Table, field, why string) {
		t.Helper()
		if _, ok := tb.Field(field); !ok {
			t.Errorf("%s has no field %s (%s)", tb.Name, field, why)
		}
	}
	for _, r := range erp.Roots() {
		tb := table(r.Collection)
		if !tb.Root || !slices.Equal(tb.Key, []string{erp.FieldCompany, r.Key}) {
			t.Errorf("root %s: simulator root=%v key %v, model key %s", r.Collection, tb.Root, tb.Key, r.Key)
		}
		if fd, ok := tb.Field(r.Key); ok && (fd.Type == store.Int) != r.NumericKey {
			t.Errorf("root %s: key %s is numeric %v in the simulator, %v in the model", r.Collection, r.Key, fd.Type == store.Int, r.NumericKey)
		}
		checkCond(t, tb, "root "+r.Collection, r.When)
		if _, ok := kinds[r.Entity]; !ok {
			t.Errorf("no reader for %s", r.Entity)
		}
		for _, c := range r.Children {
			tb := table(c.Collection)
			key := append([]string{erp.FieldCompany}, c.Key...)
			if c.Shared {
				key = c.Key
			}
			if !slices.Equal(tb.Key, key) || tb.Shared != c.Shared {
				t.Errorf("child %s: simulator key %v (shared %v), model key %v (shared %v)", c.Name, tb.Key, tb.Shared, c.Key, c.Shared)
			}
			if _, ok := tb.Field(erp.FieldCompany); ok == c.Shared {
				t.Errorf("child %s: shared %v, but the simulator's collection has a company field: %v", c.Name, c.Shared, ok)
			}
			for _, f := range c.Numeric {
				if fd, ok := tb.Field(f); !ok || fd.Type != store.Int {
					t.Errorf("child %s: numeric key %s is not an integer in the simulator", c.Name, f)
				}
			}
			n := 0
			switch {
			case c.Link != nil:
				n++
				has(tb, c.Link.From, "link of "+c.Name)
				has(table(r.Collection), c.Link.RootField(&r), "linked to by "+c.Name)
			case c.Via != nil:
				n++
				has(tb, c.Via.From, "link of "+c.Name)
				via, ok := r.Child(c.Via.Child)
				if !ok || via.Link == nil {
					t.Errorf("child %s goes through %s, which is not a linked child of %s", c.Name, c.Via.Child, r.Entity)
				} else {
					has(table(via.Collection), c.Via.To, c.Name+" goes through it")
				}
			}
			if c.CompanyWide {
				n++
			}
			if n != 1 {
				t.Errorf("child %s: want exactly one of Link, Via and CompanyWide", c.Name)
			}
			if c.Shared && (c.Link == nil || c.Moves) {
				t.Errorf("child %s: a shared child links (Link) and does not move", c.Name)
			}
			for _, o := range r.Children {
				if o.Collection == c.Collection && o.Shared != c.Shared {
					t.Errorf("children %s and %s read %s, one shared and one not", c.Name, o.Name, c.Collection)
				}
			}
			checkCond(t, tb, "child "+c.Name, c.When)
			for _, f := range c.Select {
				has(tb, f, "selected for "+c.Name)
			}
			if c.Moves && len(c.Key) != 1 {
				t.Errorf("child %s moves between roots but has a key of %d fields: the index is asked for one value", c.Name, len(c.Key))
			}
			if kd, ok := kinds[r.Entity]; ok && !kd.reads(c.Name) {
				t.Errorf("no reader for child %s of %s", c.Name, r.Entity)
			}
		}
	}
	for _, tb := range schema.Tables {
		if !used[tb.Name] {
			if why, ok := notInModel[tb.Name]; ok {
				t.Logf("%s: not in the model: %s", tb.Name, why)
				continue
			}
			t.Errorf("the simulator serves %s, which the model does not declare", tb.Name)
		}
	}
}

// checkCond checks that a condition of the model names a field of tb and, for an enum, values it
// can take.
func checkCond(t *testing.T, tb *store.Table, what string, c *erp.Cond) {
	t.Helper()
	if c == nil {
		return
	}
	f, ok := tb.Field(c.Field)
	if !ok || len(c.Values) == 0 {
		t.Errorf("%s: condition on %s: no such field in the simulator, or no values", what, c.Field)
		return
	}
	for _, v := range c.Values {
		if len(f.Enum) > 0 && !slices.Contains(f.Enum, v) {
			t.Errorf("%s: condition %s = %s does not fit the simulator's field", what, c.Field, v)
		}
	}
}

// TestActivationFieldsAreTheSimulators: the activation fields the connector reads are the
// simulator's PriceParameters fields.
func TestActivationFieldsAreTheSimulators(t *testing.T) {
	if !slices.Equal(erp.ActivationFields, store.ActivationFields) {
		t.Errorf("erp.ActivationFields %v, the simulator's %v", erp.ActivationFields, store.ActivationFields)
	}
}
