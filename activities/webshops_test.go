package activities

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/webshop"
)

func furnitureShop(groups ...string) []webshop.Webshop {
	return []webshop.Webshop{{ID: "us", Company: "usmf", Languages: []string{"en"}, Currencies: []string{"USD"}, TemplateCustomer: "US-WEB",
		Products: webshop.ProductFilter{ItemGroups: groups}}}
}

// TestWebshopFiltersDecideWhatIsIndexed: a product no webshop takes is not written, each written
// document names the webshops that take it, and a product that leaves the filter is deleted
// where the index holds it.
func TestWebshopFiltersDecideWhatIsIndexed(t *testing.T) {
	group := func(i int) string { return map[bool]string{true: "FURN", false: "ELEC"}[i%2 == 0] }
	src, ix := &fakeSource{n: 10}, newFakeIndex()
	src.edit = func(i int, p *erp.Product) { p.ProductGroup = group(i) }
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 100}}
	a.Settings.Document.Webshops = furnitureShop("FURN")
	ctx := context.Background()
	res, err := a.SyncChunk(ctx, ChunkInput{Entity: erp.Products, Target: "erpsync-products"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Read != 10 || res.Counts.Indexed != 5 || res.Counts.Excluded != 5 || res.Counts.Deleted != 0 {
		t.Fatalf("counts %+v, want 10 read, 5 indexed, 5 excluded, nothing deleted", res.Counts)
	}
	for id, body := range ix.bodies["erpsync-products"] {
		var d struct {
			ProductGroup string   `json:"product_group"`
			Webshops     []string `json:"webshops"`
		}
		if err := json.Unmarshal(body.(json.RawMessage), &d); err != nil {
			t.Fatal(err)
		}
		if d.ProductGroup != "FURN" || !slices.Equal(d.Webshops, []string{"us"}) {
			t.Errorf("%s: group %s, webshops %v; want FURN products only, each naming us", id, d.ProductGroup, d.Webshops)
		}
	}
	// Product 0 moves to another item group: the next read deletes its document, and only it.
	src.edit = func(i int, p *erp.Product) {
		p.ProductGroup = group(i)
		if i == 0 {
			p.ProductGroup = "ELEC"
		}
	}
	res, err = a.SyncChunk(ctx, ChunkInput{Entity: erp.Products, Target: "erpsync-products"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Deleted != 1 || res.Counts.Excluded != 6 {
		t.Errorf("counts %+v, want the one product that left the filter deleted, 6 excluded", res.Counts)
	}
	if _, ok := ix.bodies["erpsync-products"]["usmf:0000"]; ok || len(ix.bodies["erpsync-products"]) != 4 {
		t.Errorf("documents %d, usmf:0000 held %v; want 4 without it", len(ix.bodies["erpsync-products"]), ok)
	}
}

// TestARebuildLooksNothingUpInItsGeneration: a rebuild writes the products a webshop takes into
// its new generation and asks it for nothing, neither the content of those it writes nor whether
// it holds those no webshop takes: it holds only what the rebuild wrote. An update asks the
// index for both.
func TestARebuildLooksNothingUpInItsGeneration(t *testing.T) {
	src, ix := &fakeSource{n: 10}, newFakeIndex()
	src.edit = func(i int, p *erp.Product) { p.ProductGroup = map[bool]string{true: "FURN", false: "ELEC"}[i%2 == 0] }
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 4}}
	a.Settings.Document.Webshops = furnitureShop("FURN")
	ctx := context.Background()
	gen := "erpsync-products-20261130-120000.000000"
	res, err := a.SyncChunk(ctx, ChunkInput{Entity: erp.Products, Target: gen})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Indexed != 5 || res.Counts.Excluded != 5 || len(ix.bodies[gen]) != 5 || ix.lookups != 0 {
		t.Fatalf("rebuild: counts %+v, %d documents, %d ids looked up; want 5 indexed, 5 excluded, 5 documents, none looked up",
			res.Counts, len(ix.bodies[gen]), ix.lookups)
	}
	// Nor does it ask the ERP for roots outside the entity (erp.ReadRequest.Matching).
	if src.matching != src.reads || src.reads == 0 {
		t.Fatalf("rebuild: %d of %d reads asked for the matching roots alone, want all", src.matching, src.reads)
	}
	reads := src.reads
	if _, err := a.SyncChunk(ctx, ChunkInput{Entity: erp.Products, Target: "erpsync-products"}); err != nil {
		t.Fatal(err)
	}
	if ix.lookups != 10 {
		t.Fatalf("update: %d ids looked up, want all 10 (5 to compare, 5 to delete where held)", ix.lookups)
	}
	if src.matching != reads || src.reads == reads {
		t.Fatalf("update: %d of %d reads asked for the matching roots alone, want none", src.matching-reads, src.reads-reads)
	}
}

// TestUpdatesRefuseWhenTheWebshopsChanged: the first run records the webshops' fingerprints; an
// update or audit after a changed filter refuses, naming the webshop and the rebuild to run; a
// rebuild records the new ones and updates go on.
func TestUpdatesRefuseWhenTheWebshopsChanged(t *testing.T) {
	ix := newFakeIndex()
	now := t0.Add(time.Hour)
	a := &Import{Source: &fakeSource{}, Index: ix, Now: func() time.Time { return now }}
	a.Settings.Document.Webshops = furnitureShop("FURN")
	ctx := context.Background()
	run := func(e erp.Entity, mode Mode) error {
		b, err := a.Begin(ctx, BeginInput{Entity: e, Mode: mode})
		if err != nil {
			return err
		}
		_, err = a.Finish(ctx, FinishInput{Entity: e, Mode: mode, Target: b.Target, Until: b.Until})
		return err
	}
	if err := run(erp.Products, Update); err != nil {
		t.Fatalf("the first update: %v", err)
	}
	if fp := ix.state[erp.Products].Webshops; len(fp) != 1 || fp["us"] == "" {
		t.Fatalf("the first run recorded %v, want the fingerprint of webshop us", fp)
	}
	if err := run(erp.Products, Update); err != nil {
		t.Fatalf("an update with the same webshops: %v", err)
	}

	a.Settings.Document.Webshops = furnitureShop("FURN", "ELEC")
	for _, mode := range []Mode{Update, Audit} {
		_, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: mode})
		if err == nil || !isNonRetryable(err) {
			t.Fatalf("%s after the item groups changed: %v, want a refusal", mode, err)
		}
		for _, want := range []string{"webshop us's product filter or company changed", "since the last rebuild of the products index",
			"starter run products --mode rebuild"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: the refusal does not say %q: %v", mode, want, err)
			}
		}
	}
	// The customers were built with the same customer filter: their updates go on.
	ix.state[erp.Customers] = search.State{Entity: erp.Customers, Watermark: erp.Cursor{Modified: t0},
		Webshops: webshop.Fingerprints(furnitureShop("FURN"), erp.Customers)}
	if _, err := a.Begin(ctx, BeginInput{Entity: erp.Customers, Mode: Update}); err != nil {
		t.Errorf("a customers update after a product filter changed: %v", err)
	}
	if err := run(erp.Products, Rebuild); err != nil {
		t.Fatalf("the rebuild: %v", err)
	}
	if err := run(erp.Products, Update); err != nil {
		t.Errorf("an update after the rebuild: %v", err)
	}
	// An index built before webshops were configured names none: it needs a rebuild too.
	ix.state[erp.Contacts] = search.State{Entity: erp.Contacts, Watermark: erp.Cursor{Modified: t0}}
	if _, err := a.Begin(ctx, BeginInput{Entity: erp.Contacts, Mode: Update}); err == nil ||
		!strings.Contains(err.Error(), "webshop us is new") || !strings.Contains(err.Error(), "starter run customers --mode rebuild") {
		t.Errorf("an update of an index built without webshops: %v", err)
	}
}
