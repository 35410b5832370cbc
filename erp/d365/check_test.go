package d365

import (
	"strings"
	"testing"

	"github.com/erpsync/erpsync/erp"
)

// TestCheckAgainstTheSimulatorsMetadata: every collection the client reads is an entity set of
// the simulator's $metadata with the fields the client reads by, and answers; a wrong collection
// or field name is named with the closest names $metadata has.
func TestCheckAgainstTheSimulatorsMetadata(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	ctx := t.Context()
	c := s.client(t, nil)
	if err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	meta, err := c.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	colls := c.Collections()
	modelled := map[string]bool{}
	for _, r := range erp.Roots() {
		for _, coll := range r.Collections() {
			modelled[coll] = true
		}
	}
	if len(colls) != len(modelled)+2 || colls[0].D365 != erp.Roots()[0].Collection || colls[len(colls)-1].D365 != erp.DeletedRecords {
		t.Errorf("%d collections, first %v last %v; want the model's %d, LegalEntities and DeletedRecords", len(colls), colls[0], colls[len(colls)-1], len(modelled))
	}
	for _, coll := range colls {
		if err := c.CheckCollection(ctx, meta, coll); err != nil {
			t.Errorf("%s: %v", coll.Name, err)
		}
	}

	c = s.client(t, func(cfg *Config) {
		cfg.Names.Collections = map[string]string{erp.CustomersV3: "CustomersV9"}
		cfg.Names.Fields = map[string]map[string]string{erp.ProductTranslations: {"LanguageId": "Language"}}
	})
	for _, coll := range c.Collections() {
		err := c.CheckCollection(ctx, meta, coll)
		switch coll.D365 {
		case erp.CustomersV3:
			for _, want := range []string{"CustomersV9 (D365's CustomersV3) is not an entity set of $metadata", "closest are CustomersV3"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("a wrong collection name: %v; want %q", err, want)
				}
			}
		case erp.ProductTranslations:
			if err == nil || !strings.Contains(err.Error(), "lacks fields erpsync reads by: Language (closest: LanguageId") {
				t.Errorf("a wrong field name: %v", err)
			}
		default:
			if err != nil {
				t.Errorf("%s: %v", coll.Name, err)
			}
		}
	}
	// Without $metadata the request for one row still finds the wrong name.
	if err := c.CheckCollection(ctx, nil, Collection{D365: erp.CustomersV3, Name: "CustomersV9"}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("one row of a collection that is not there: %v", err)
	}
}

func TestClosest(t *testing.T) {
	got := Closest("CustomerV3", []string{"Vendors", "CustomersV3", "CustomersV2", "Customers", "Workers"}, 3)
	if strings.Join(got, ",") != "CustomersV3,Customers,CustomersV2" { // a tie goes by name
		t.Errorf("closest: %v", got)
	}
}
