package search_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/search"
)

// newIndex returns an Index with a prefix of t's own, set up, and its client.
func newIndex(t *testing.T, opts ...search.Option) (*search.Index, *elasticsearch.Client) {
	t.Helper()
	es := testenv.Elasticsearch(t)
	x := search.New(es, testenv.Prefix(t, es), opts...)
	if err := x.Setup(ctx(t)); err != nil {
		t.Fatalf("setup: %v", err)
	}
	return x, es
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// golden reads a golden document of package document.
func golden(t *testing.T, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "document", "testdata", name+".golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// source returns the stored document id of target, or nil when there is none.
func source(t *testing.T, es *elasticsearch.Client, target, id string) map[string]any {
	t.Helper()
	res, err := esapi.GetRequest{Index: target, DocumentID: id}.Do(ctx(t), es)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == 404 {
		return nil
	}
	var out struct {
		Source map[string]any `json:"_source"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Source
}

func search_(t *testing.T, es *elasticsearch.Client, target string, query string) (total int, ids []string) {
	t.Helper()
	res, err := esapi.SearchRequest{Index: []string{target}, Body: strings.NewReader(query)}.Do(ctx(t), es)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.IsError() {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("search %s: %s %s", target, res.Status(), b)
	}
	var out struct {
		Hits struct {
			Total struct{ Value int } `json:"total"`
			Hits  []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, h := range out.Hits.Hits {
		ids = append(ids, h.ID)
	}
	return out.Hits.Total.Value, ids
}

// TestMappingsAcceptGoldenDocuments creates every entity's mapping on the real node and indexes
// the golden documents into it: the documents and the mappings agree. It then runs the kinds of
// queries the storefront will: per-language text, facets, nested prices.
func TestMappingsAcceptGoldenDocuments(t *testing.T) {
	t.Parallel()
	x, es := newIndex(t)
	docs := map[erp.Entity][]string{
		erp.Products:  {"product-master", "product-plain"},
		erp.Customers: {"customer"},
		erp.Contacts:  {"contact"},
		erp.SalesReps: {"salesrep"},
		// Company-wide and group-wide data, each in an index of its own.
		erp.Categories:    {"category"},
		erp.LineDiscounts: {"linediscount"},
		erp.Activations:   {"activation"},
	}
	for _, e := range erp.Entities {
		gen, err := x.CreateGeneration(ctx(t), e)
		if err != nil {
			t.Fatal(err)
		}
		var ops []search.Op
		for _, name := range docs[e] {
			g := golden(t, name)
			var env document.Envelope
			if err := json.Unmarshal(g, &env); err != nil {
				t.Fatal(err)
			}
			ops = append(ops, search.IndexOp(env.ID, document.Version(env.ModifiedAt), g))
		}
		c, err := x.Write(ctx(t), gen, ops)
		if err != nil {
			t.Fatalf("write %s: %v", e, err)
		}
		if c.Indexed != len(ops) || c.DeadLettered != 0 {
			dls, _ := x.DeadLetters(ctx(t), 10)
			t.Fatalf("%s: counts %+v; dead letters %+v", e, c, dls)
		}
		if err := x.FinishGeneration(ctx(t), gen); err != nil {
			t.Fatal(err)
		}
		if _, err := x.SwapAlias(ctx(t), e, gen); err != nil {
			t.Fatal(err)
		}
		// The stored source is the golden document.
		for _, name := range docs[e] {
			var want map[string]any
			_ = json.Unmarshal(golden(t, name), &want)
			got := source(t, es, x.Alias(e), want["id"].(string))
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if string(gb) != string(wb) {
				t.Errorf("%s: stored\n%s\nwant\n%s", name, gb, wb)
			}
		}
	}

	products := x.Alias(erp.Products)
	for _, q := range []struct {
		name, query string
		want        []string
	}{
		{"German text", `{"query":{"match":{"name.de":"laufshirt"}}}`, []string{"usmf:T-0100"}},
		{"autocomplete prefix", `{"query":{"match_phrase_prefix":{"name.en":"contoso trail ru"}}}`, []string{"usmf:T-0100"}},
		{"bar code of a variant", `{"query":{"term":{"barcodes":"012345678905"}}}`, []string{"usmf:T-0100"}},
		{"item number as text", `{"query":{"match":{"item_number.text":"1042"}}}`, []string{"demf:1042"}},
		{"in a visible category and not stopped", `{"query":{"bool":{"filter":[{"terms":{"category_ids":["SPORT-RUN","HOME-LIGHT"]}},{"term":{"sales_stopped":false}},{"term":{"deleted":false}}]}}}`, []string{"usmf:T-0100"}},
		{"colour facet", `{"query":{"term":{"dimensions.color":"BLU"}}}`, []string{"usmf:T-0100"}},
		{"everybody's from price", `{"query":{"nested":{"path":"from_prices","query":{"bool":{"filter":[{"term":{"from_prices.group":""}},
			{"range":{"from_prices.price":{"gte":40,"lt":50}}}]}}}}}`, []string{"demf:1042"}},
		{"a group's from price", `{"query":{"nested":{"path":"from_prices","query":{"bool":{"filter":[{"term":{"from_prices.group":"RETAIL"}},
			{"range":{"from_prices.price":{"lt":35}}}]}}}}}`, []string{"usmf:T-0100"}},
		{"a price line held by its RecordId", `{"query":{"nested":{"path":"prices","query":{"term":{"prices.rec_id":5637144576}}}}}`, []string{"usmf:T-0100"}},
		{"a line discount held by its RecordId", `{"query":{"nested":{"path":"line_discounts","query":{"term":{"line_discounts.rec_id":22}}}}}`, []string{"usmf:T-0100"}},
		{"the products of an item discount group", `{"query":{"term":{"discount_group":"SPORT"}}}`, []string{"usmf:T-0100"}},
	} {
		_, ids := search_(t, es, products, q.query)
		if !slices.Equal(ids, q.want) {
			t.Errorf("%s: got %v, want %v", q.name, ids, q.want)
		}
	}
	// What the storefront asks of the company-wide indexes.
	for _, q := range []struct {
		e           erp.Entity
		name, query string
		want        []string
	}{
		{erp.Categories, "a company's visible categories", `{"query":{"bool":{"filter":[{"term":{"company":"usmf"}},{"term":{"visible":true}}]}}}`, []string{"usmf:SPORT-RUN"}},
		{erp.LineDiscounts, "a group's discounts for a customer group", `{"query":{"bool":{"filter":[{"term":{"company":"demf"}},{"terms":{"item_group":["FURN"]}},
			{"term":{"customer_group":"Reseller"}}]}}}`, []string{"demf:5637150001"}},
		{erp.Activations, "a company's activation", `{"query":{"term":{"activated":"SalesLineGroupGroup"}}}`, []string{"gbsi:0"}},
	} {
		_, ids := search_(t, es, x.Alias(q.e), q.query)
		if !slices.Equal(ids, q.want) {
			t.Errorf("%s: got %v, want %v", q.name, ids, q.want)
		}
	}
}

func TestMappingAnalyzers(t *testing.T) {
	x := search.New(nil, "", search.WithAnalyzers(map[string]string{"de": "german"}), search.WithLanguages("en", "de"))
	props := x.Mapping(erp.Products)["properties"].(map[string]any)
	name := props["name"].(map[string]any)["properties"].(map[string]any)
	if len(name) != 2 || name["de"].(map[string]any)["analyzer"] != "german" || name["en"].(map[string]any)["analyzer"] != "standard" {
		t.Errorf("name fields %v", name)
	}
	if x.Alias(erp.SalesReps) != "erpsync-salesreps" {
		t.Errorf("alias %s", x.Alias(erp.SalesReps))
	}
	for _, e := range erp.Entities {
		if m := x.Mapping(e); m["dynamic"] != "strict" {
			t.Errorf("%s mapping is not strict", e)
		}
	}
}

func product(id string, modified time.Time, name string) search.Op {
	company, key, _ := strings.Cut(id, ":")
	d, err := document.FromProduct(erp.Product{Company: company, ItemNumber: key, Modified: modified, Name: name,
		Categories: []erp.ProductCategory{{ID: "C"}}}, document.Options{})
	if err != nil {
		panic(err) // the record has no number
	}
	return search.IndexOp(d.ID, document.Version(modified), d)
}

// TestVersions: indexing the same document twice, or an older version after a newer one,
// leaves the newer.
func TestVersions(t *testing.T) {
	t.Parallel()
	x, es := newIndex(t)
	alias := x.Alias(erp.Products)
	t1 := time.Date(2026, 11, 27, 10, 0, 0, 123456000, time.UTC)
	t2 := t1.Add(time.Microsecond)

	c, err := x.Write(ctx(t), alias, []search.Op{product("usmf:1", t2, "new"), product("usmf:2", t1, "two")})
	if err != nil || c.Indexed != 2 {
		t.Fatalf("first write: %+v %v", c, err)
	}
	c, err = x.Write(ctx(t), alias, []search.Op{product("usmf:1", t1, "old"), product("usmf:1", t2, "new again"), product("usmf:2", t1, "two")})
	if err != nil {
		t.Fatal(err)
	}
	if c != (search.Counts{Stale: 3}) {
		t.Errorf("replay counts %+v, want 3 stale", c)
	}
	got := source(t, es, alias, "usmf:1")
	if got["modified_at"] != "2026-11-27T10:00:00.123457Z" || got["name"].(map[string]any)["en"] != "new" {
		t.Errorf("stored %v %v, want the newer", got["modified_at"], got["name"])
	}
}

// TestDeletes: deletes carry an external version too, so a delete older than the document is
// stale and an index older than the delete cannot bring the document back.
func TestDeletes(t *testing.T) {
	t.Parallel()
	x, es := newIndex(t)
	alias := x.Alias(erp.Products)
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := x.Write(ctx(t), alias, []search.Op{product("usmf:1", t1, "one"), product("usmf:2", t1, "two")}); err != nil {
		t.Fatal(err)
	}
	c, err := x.Write(ctx(t), alias, []search.Op{
		search.DeleteOp("usmf:1", document.Version(t1.Add(-time.Second))), // older than the document
		search.DeleteOp("usmf:2", document.Version(t1.Add(time.Second))),
		search.DeleteOp("usmf:3", document.Version(t1)), // never existed
	})
	if err != nil {
		t.Fatal(err)
	}
	if c != (search.Counts{Deleted: 2, AlreadyGone: 1, Stale: 1}) {
		t.Errorf("counts %+v", c)
	}
	if source(t, es, alias, "usmf:1") == nil || source(t, es, alias, "usmf:2") != nil {
		t.Error("usmf:1 must stay, usmf:2 must be gone")
	}
	c, err = x.Write(ctx(t), alias, []search.Op{product("usmf:2", t1, "resurrected")})
	if err != nil || c.Stale != 1 {
		t.Errorf("an index older than the delete: %+v %v, want stale", c, err)
	}
	if source(t, es, alias, "usmf:2") != nil {
		t.Error("an older write brought a deleted document back")
	}
}

// TestDeadLetters: a document Elasticsearch rejects lands in the dead-letter index with the
// reason and the document; the rest of the batch is indexed.
func TestDeadLetters(t *testing.T) {
	t.Parallel()
	x, es := newIndex(t)
	alias := x.Alias(erp.Products)
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bad := search.IndexOp("usmf:bad", document.Version(t1), json.RawMessage(`{"id":"usmf:bad","company":"usmf","key":"bad","price_min":"cheap"}`))
	unknown := search.IndexOp("usmf:odd", document.Version(t1), map[string]any{"id": "usmf:odd", "colour": "red"})
	// IndexJSON sends its body unchecked: one that is not JSON after all is refused alone.
	broken := search.IndexJSON("usmf:broken", document.Version(t1), []byte(`{"id":"usmf:broken","company":`))
	c, err := x.Write(ctx(t), alias, []search.Op{product("usmf:1", t1, "one"), bad, product("usmf:2", t1, "two"), unknown, broken})
	if err != nil {
		t.Fatal(err)
	}
	if c.Indexed != 2 || c.DeadLettered != 3 {
		t.Fatalf("counts %+v", c)
	}
	if err := x.Refresh(ctx(t), alias); err != nil {
		t.Fatal(err)
	}
	if n, _ := x.Count(ctx(t), alias); n != 2 {
		t.Errorf("%d documents indexed, want 2", n)
	}
	if err := x.DeadLetterRejections(ctx(t), []erp.Rejection{{Entity: erp.Customers, Company: "USMF", Key: "US-9", Reason: "customer without name", Raw: []byte(`{"CustomerAccount":"US-9"}`)}}); err != nil {
		t.Fatal(err)
	}
	dls, err := x.DeadLetters(ctx(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]search.DeadLetter{}
	for _, d := range dls {
		byID[d.ID] = d
	}
	if len(dls) != 4 {
		t.Fatalf("dead letters %+v", dls)
	}
	if b := byID["usmf:broken"]; b.Status != 400 || b.Source != `{"id":"usmf:broken","company":` {
		t.Errorf("dead letter of the body that is not JSON: %+v", b)
	}
	b := byID["usmf:bad"]
	if b.Entity != erp.Products || b.Status != 400 || b.Index != alias || b.Origin != search.OriginElasticsearch ||
		!strings.Contains(b.Reason, "price_min") || b.Source != string(bad.Body.(json.RawMessage)) || b.At.IsZero() || b.Key != "bad" {
		t.Errorf("dead letter of the bad document: %+v", b)
	}
	if o := byID["usmf:odd"]; !strings.Contains(o.ErrorType+o.Reason, "strict") {
		t.Errorf("dead letter of the unknown field: %+v", o)
	}
	if r := byID["usmf:US-9"]; r.Origin != search.OriginERP || r.Entity != erp.Customers || r.Reason != "customer without name" || r.Source != `{"CustomerAccount":"US-9"}` {
		t.Errorf("dead letter of the rejection: %+v", r)
	}
	if dls[0].At.Before(dls[len(dls)-1].At) {
		t.Error("dead letters must come newest first")
	}
	_ = es
}

// TestDeadLettersExpireAndAreFoundByRecord: dead letters older than an age are deleted, newer
// ones stay; a record's dead letters are found by its entity and id.
func TestDeadLettersExpireAndAreFoundByRecord(t *testing.T) {
	t.Parallel()
	x, _ := newIndex(t)
	now := time.Now().UTC()
	var old, recent []search.DeadLetter
	for i := range 1203 { // more than one page of deletes
		old = append(old, search.DeadLetter{At: now.Add(-40 * 24 * time.Hour), Origin: search.OriginERP, Entity: erp.Products,
			ID: fmt.Sprintf("usmf:old-%d", i), Reason: "old"})
	}
	recent = append(recent,
		search.DeadLetter{At: now.Add(-time.Hour), Origin: search.OriginERP, Entity: erp.Products, ID: "usmf:1000", Reason: "price currency 'dollars'"},
		search.DeadLetter{At: now.Add(-time.Hour), Origin: search.OriginERP, Entity: erp.Customers, ID: "usmf:1000", Reason: "a customer with the same key"},
		search.DeadLetter{At: now.Add(-2 * time.Hour), Origin: search.OriginERP, Entity: erp.Products, ID: "demf:2000", Reason: "recent"})
	if err := x.DeadLetter(ctx(t), append(old, recent...)...); err != nil {
		t.Fatal(err)
	}
	n, err := x.DeleteDeadLetters(ctx(t), search.DeadLetterQuery{Before: now.Add(-30 * 24 * time.Hour)})
	if err != nil || n != len(old) {
		t.Fatalf("expired %d, %v; want %d", n, err, len(old))
	}
	left, err := x.DeadLetters(ctx(t), 10_000)
	if err != nil || len(left) != len(recent) {
		t.Fatalf("left %d dead letters (%v), want the %d recent ones", len(left), err, len(recent))
	}
	mine, err := x.FindDeadLetters(ctx(t), search.DeadLetterQuery{Entity: erp.Products, IDs: []string{"usmf:1000"}}, 10)
	if err != nil || len(mine) != 1 || mine[0].Reason != "price currency 'dollars'" {
		t.Fatalf("dead letters of product usmf:1000: %+v, %v", mine, err)
	}
	if n, err := x.DeleteDeadLetters(ctx(t), search.DeadLetterQuery{Entity: erp.Products, IDs: []string{"usmf:1000"}}); err != nil || n != 1 {
		t.Fatalf("deleted %d, %v; want product usmf:1000's one", n, err)
	}
	if left, _ := x.DeadLetters(ctx(t), 10); len(left) != 2 {
		t.Fatalf("left %+v, want the customer's and demf:2000's", left)
	}
}

// TestGenerations: create, write, finish, swap; the previous generation is kept, older ones
// are deleted, newer ones (a rebuild in progress) are left alone.
func TestGenerations(t *testing.T) {
	t.Parallel()
	x, es := newIndex(t)
	e := erp.Customers
	first, err := x.Current(ctx(t), e)
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var gens []string
	for i := range 3 {
		gen, err := x.CreateGeneration(ctx(t), e)
		if err != nil {
			t.Fatal(err)
		}
		gens = append(gens, gen)
		d := document.FromCustomer(erp.Customer{Company: "usmf", Account: fmt.Sprintf("C-%d", i), Modified: t1, Name: "gen"})
		if _, err := x.Write(ctx(t), gen, []search.Op{search.IndexOp(d.ID, document.Version(t1), d)}); err != nil {
			t.Fatal(err)
		}
		if err := x.FinishGeneration(ctx(t), gen); err != nil {
			t.Fatal(err)
		}
	}
	prev, err := x.SwapAlias(ctx(t), e, gens[0])
	if err != nil || prev != first {
		t.Fatalf("swap to %s: previous %q %v, want %s", gens[0], prev, err, first)
	}
	prev, err = x.SwapAlias(ctx(t), e, gens[1])
	if err != nil || prev != gens[0] {
		t.Fatalf("swap to %s: previous %q %v, want %s", gens[1], prev, err, gens[0])
	}
	if cur, _ := x.Current(ctx(t), e); cur != gens[1] {
		t.Errorf("current %s, want %s", cur, gens[1])
	}
	all, err := x.Generations(ctx(t), e)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all, gens) { // first deleted; gens[0] previous; gens[2] newer, kept
		t.Errorf("generations %v, want %v", all, gens)
	}
	_, ids := search_(t, es, x.Alias(e), `{"query":{"match_all":{}}}`)
	if !slices.Equal(ids, []string{"usmf:C-1"}) {
		t.Errorf("alias serves %v", ids)
	}
	// Swapping again to the current one is a no-op that still names the previous.
	if prev, err := x.SwapAlias(ctx(t), e, gens[1]); err != nil || prev != gens[0] {
		t.Errorf("repeated swap: %q %v", prev, err)
	}
	// Rollback.
	if _, err := x.SwapAlias(ctx(t), e, gens[0]); err != nil {
		t.Fatal(err)
	}
	if cur, _ := x.Current(ctx(t), e); cur != gens[0] {
		t.Errorf("after rollback current %s", cur)
	}
	var settings map[string]struct {
		Settings struct {
			Index struct {
				RefreshInterval  string `json:"refresh_interval"`
				NumberOfReplicas string `json:"number_of_replicas"`
				GCDeletes        string `json:"gc_deletes"`
			} `json:"index"`
		} `json:"settings"`
	}
	res, err := esapi.IndicesGetSettingsRequest{Index: []string{gens[1]}}.Do(ctx(t), es)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_ = json.NewDecoder(res.Body).Decode(&settings)
	if s := settings[gens[1]].Settings.Index; s.RefreshInterval != "1s" || s.NumberOfReplicas != "0" || s.GCDeletes != "1h" {
		t.Errorf("finished generation settings %+v", s)
	}
	if _, err := x.SwapAlias(ctx(t), e, "someone-else"); failure.KindOf(err) != failure.Invalid {
		t.Errorf("swap to a foreign index: %v", err)
	}
}

func TestSetupIdempotent(t *testing.T) {
	t.Parallel()
	x, _ := newIndex(t)
	var before []string
	for _, e := range erp.Entities {
		cur, err := x.Current(ctx(t), e)
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, cur)
	}
	if err := x.Setup(ctx(t)); err != nil {
		t.Fatalf("second setup: %v", err)
	}
	for i, e := range erp.Entities {
		if cur, _ := x.Current(ctx(t), e); cur != before[i] {
			t.Errorf("%s: setup replaced %s with %s", e, before[i], cur)
		}
		if gens, _ := x.Generations(ctx(t), e); len(gens) != 1 {
			t.Errorf("%s: generations %v", e, gens)
		}
	}
}

func TestState(t *testing.T) {
	t.Parallel()
	x, _ := newIndex(t)
	st, err := x.LoadState(ctx(t), erp.Products)
	if err != nil || st.Entity != erp.Products || !st.Watermark.IsZero() || st.LastRun.ID != "" {
		t.Fatalf("zero state: %+v %v", st, err)
	}
	ts := time.Date(2026, 11, 27, 10, 15, 30, 123456000, time.UTC)
	st.Watermark = erp.Cursor{Modified: ts, Company: "usmf", Key: "1000"}
	st.DeletionWatermark = erp.Cursor{Modified: ts.Add(-time.Hour)}
	st.Rebuilding = "x-products-1"
	st.LastRun = search.RunSummary{ID: "run-1", Mode: "update", Started: ts, Finished: ts.Add(time.Minute), Read: 5, Indexed: 4, Stale: 1}
	if err := x.SaveState(ctx(t), st); err != nil {
		t.Fatal(err)
	}
	got, err := x.LoadState(ctx(t), erp.Products)
	if err != nil {
		t.Fatal(err)
	}
	if got.Watermark != st.Watermark || got.DeletionWatermark != st.DeletionWatermark || got.Rebuilding != st.Rebuilding ||
		got.LastRun != st.LastRun || got.Updated.IsZero() {
		t.Errorf("round trip: %+v, want %+v", got, st)
	}
	if other, _ := x.LoadState(ctx(t), erp.Customers); !other.Watermark.IsZero() {
		t.Error("states of entities are separate")
	}
	// A save from a stale load conflicts.
	got.Rebuilding = ""
	if err := x.SaveState(ctx(t), got); err != nil {
		t.Fatal(err)
	}
	if err := x.SaveState(ctx(t), got); !errors.Is(err, search.ErrStateConflict) || failure.KindOf(err).Permanent() {
		t.Errorf("second save of one loaded state: %v, want a retryable conflict", err)
	}
}

func TestIDsAndCount(t *testing.T) {
	t.Parallel()
	x, _ := newIndex(t)
	alias := x.Alias(erp.Contacts)
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ops []search.Op
	var want []string
	for i := range 25 {
		d := document.FromContact(erp.Contact{Company: "USMF", ID: fmt.Sprintf("CP-%03d", (i*7)%25), Modified: t1})
		ops = append(ops, search.IndexOp(d.ID, document.Version(t1), d))
		want = append(want, d.ID)
	}
	slices.Sort(want)
	if _, err := x.Write(ctx(t), alias, ops); err != nil {
		t.Fatal(err)
	}
	if err := x.Refresh(ctx(t), alias); err != nil {
		t.Fatal(err)
	}
	if n, err := x.Count(ctx(t), alias); err != nil || n != 25 {
		t.Errorf("count %d %v", n, err)
	}
	var got []string
	for after := ""; ; {
		ids, err := x.IDs(ctx(t), alias, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids...)
		if len(ids) < 10 {
			break
		}
		after = ids[len(ids)-1]
	}
	if !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v", got, want)
	}
}

// TestIDsOfAnyCharacterAreWritten: a document id is written as the ERP gave it, whatever it
// holds. The bulk indexer this used to go through quoted ids as Go does (\x01, \U000e0001),
// which is not JSON: Elasticsearch refused the whole request, and the import dead-lettered the
// product after reading its page again root by root.
func TestIDsOfAnyCharacterAreWritten(t *testing.T) {
	t.Parallel()
	x, _ := newIndex(t)
	alias := x.Alias(erp.Contacts)
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := []string{
		"usmf:plain",
		"usmf:A\x01B",         // a control character JSON writes as \u0001
		"usmf:A\x7fB",         // DEL: JSON needs no escape, Go quotes it
		"usmf:A\U000e0001B",   // a tag character Go does not print
		"usmf:A\"\\\t\n</>&B", // escapes JSON and Go share, and HTML's
		"usmf:Ä\u2028ö",
	}
	var ops []search.Op
	for _, id := range ids {
		ops = append(ops, search.IndexOp(id, document.Version(t1), map[string]any{"id": id}))
	}
	c, err := x.Write(ctx(t), alias, ops)
	if err != nil || c.Indexed != len(ids) {
		t.Fatalf("write: %+v, %v; want %d indexed", c, err, len(ids))
	}
	if err := x.Refresh(ctx(t), alias); err != nil {
		t.Fatal(err)
	}
	got, err := x.IDs(ctx(t), alias, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("ids in the index %q, want %q", got, want)
	}
	// And deleted by them again.
	var dels []search.Op
	for _, id := range ids[1:] {
		dels = append(dels, search.DeleteOp(id, document.Version(t1.Add(time.Second))))
	}
	if c, err := x.Write(ctx(t), alias, dels); err != nil || c.Deleted != len(dels) || c.AlreadyGone != 0 {
		t.Fatalf("delete: %+v, %v; want %d deleted", c, err, len(dels))
	}
	if err := x.Refresh(ctx(t), alias); err != nil {
		t.Fatal(err)
	}
	if n, err := x.Count(ctx(t), alias); err != nil || n != 1 {
		t.Errorf("after the deletes %d documents (%v), want 1", n, err)
	}
}

// TestAliasSwapIsAtomic swaps generations back and forth while searches run against the alias:
// every search sees one full generation, never none and never a mix.
func TestAliasSwapIsAtomic(t *testing.T) {
	t.Parallel()
	x, es := newIndex(t)
	e := erp.Products
	const n = 50
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var gens []string
	for g := range 2 {
		gen, err := x.CreateGeneration(ctx(t), e)
		if err != nil {
			t.Fatal(err)
		}
		var ops []search.Op
		for i := range n {
			ops = append(ops, product(fmt.Sprintf("usmf:%d", i), t1, fmt.Sprintf("generation%d", g)))
		}
		if _, err := x.Write(ctx(t), gen, ops); err != nil {
			t.Fatal(err)
		}
		if err := x.FinishGeneration(ctx(t), gen); err != nil {
			t.Fatal(err)
		}
		gens = append(gens, gen)
	}
	if _, err := x.SwapAlias(ctx(t), e, gens[0]); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var searches atomic.Int64
	var bad []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := esapi.SearchRequest{Index: []string{x.Alias(e)}, Body: strings.NewReader(
					`{"size":0,"aggs":{"gen":{"terms":{"field":"_index"}}}}`)}.Do(context.Background(), es)
				var out struct {
					Hits struct {
						Total struct{ Value int } `json:"total"`
					} `json:"hits"`
					Aggs struct {
						Gen struct {
							Buckets []struct {
								Key   string `json:"key"`
								Count int    `json:"doc_count"`
							} `json:"buckets"`
						} `json:"gen"`
					} `json:"aggregations"`
				}
				problem := ""
				switch {
				case err != nil:
					problem = err.Error()
				case res.IsError():
					problem = res.String()
				default:
					if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
						problem = err.Error()
					} else if out.Hits.Total.Value != n || len(out.Aggs.Gen.Buckets) != 1 {
						problem = fmt.Sprintf("%d hits from %+v", out.Hits.Total.Value, out.Aggs.Gen.Buckets)
					}
				}
				if res != nil {
					res.Body.Close()
				}
				searches.Add(1)
				if problem != "" {
					mu.Lock()
					bad = append(bad, problem)
					mu.Unlock()
				}
			}
		})
	}
	for i := range 10 {
		if _, err := x.SwapAlias(ctx(t), e, gens[(i+1)%2]); err != nil {
			t.Error(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d searches during 10 swaps", searches.Load())
	if len(bad) > 0 {
		t.Errorf("%d of %d searches saw no or a mixed generation, e.g. %s", len(bad), searches.Load(), bad[0])
	}
	if searches.Load() < 10 {
		t.Errorf("only %d searches ran during the swaps", searches.Load())
	}
}

// TestWriteToMissingAlias: writing to an alias or a generation that does not exist creates
// nothing.
func TestWriteToMissingAlias(t *testing.T) {
	t.Parallel()
	es := testenv.Elasticsearch(t)
	x := search.New(es, testenv.Prefix(t, es))
	_, err := x.Write(ctx(t), x.Alias(erp.Products), []search.Op{product("usmf:1", time.Now(), "x")})
	if failure.KindOf(err) != failure.NotFound {
		t.Errorf("write to a missing alias: %v, want not found", err)
	}
	if _, err := x.Current(ctx(t), erp.Products); failure.KindOf(err) != failure.NotFound {
		t.Errorf("an index appeared: %v", err)
	}
	gone := x.Alias(erp.Products) + "-20260101-000000.000000"
	if _, err := x.Write(ctx(t), gone, []search.Op{product("usmf:1", time.Now(), "x")}); failure.KindOf(err) != failure.NotFound {
		t.Errorf("write to a missing generation: %v, want not found", err)
	}
	if gens, _ := x.Generations(ctx(t), erp.Products); len(gens) != 0 {
		t.Errorf("generations appeared: %v", gens)
	}
}

// TestWriteBlockIsARefusal: with a write block on the index (what an operator or a full disk
// sets), a write fails as Refused and nothing is dead-lettered; once the block is lifted the
// same write goes through.
func TestWriteBlockIsARefusal(t *testing.T) {
	t.Parallel()
	x, es := newIndex(t)
	alias := x.Alias(erp.Products)
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	block := func(on bool) {
		t.Helper()
		res, err := esapi.IndicesPutSettingsRequest{Index: []string{alias},
			Body: strings.NewReader(fmt.Sprintf(`{"index.blocks.write":%v}`, on))}.Do(ctx(t), es)
		if err != nil || res.IsError() {
			t.Fatalf("set index.blocks.write=%v: %v %v", on, res, err)
		}
		res.Body.Close()
	}
	block(true)
	c, err := x.Write(ctx(t), alias, []search.Op{product("usmf:1", t1, "one"), product("usmf:2", t1, "two")})
	if failure.KindOf(err) != failure.Refused || !strings.Contains(err.Error(), "cluster_block_exception") {
		t.Fatalf("write to a blocked index: counts %+v, error %v; want a refused error naming the block", c, err)
	}
	if dls, err := x.DeadLetters(ctx(t), 10); err != nil || len(dls) != 0 {
		t.Fatalf("dead letters %+v %v, want none", dls, err)
	}
	block(false)
	if c, err := x.Write(ctx(t), alias, []search.Op{product("usmf:1", t1, "one"), product("usmf:2", t1, "two")}); err != nil || c.Indexed != 2 {
		t.Fatalf("after the block is lifted: %+v %v", c, err)
	}
}

// TestNullDateStampsDoNotRefuseTheBulk: a delete and a document stamped with D365's "no date"
// (1900-01-01) get versions Elasticsearch takes, so the rest of their bulk request is written.
// Their versions used to be negative, and Elasticsearch refused the whole bulk. (The document
// itself is then a dead letter of its own: modified_at is a date_nanos field, which cannot hold
// a date before 1970.)
func TestNullDateStampsDoNotRefuseTheBulk(t *testing.T) {
	t.Parallel()
	x, es := newIndex(t)
	alias := x.Alias(erp.Products)
	null := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := x.Write(ctx(t), alias, []search.Op{product("usmf:1", null, "no date"), product("usmf:2", t1, "dated"),
		search.DeleteOp("usmf:3", document.Version(null))})
	if err != nil || c.Indexed != 1 || c.Deleted != 1 {
		t.Fatalf("a bulk with 1900-01-01 stamps: %+v %v; want the dated document indexed and the delete done", c, err)
	}
	if d := source(t, es, alias, "usmf:2"); d == nil {
		t.Fatal("usmf:2 is not indexed")
	}
}
