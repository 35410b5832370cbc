package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/workflows"
)

// waitWithin waits for an import to end within d; when it does not, it terminates the run and
// fails the test.
func (s *stack) waitWithin(id string, d time.Duration) workflows.ImportResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var res workflows.ImportResult
	if err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		_ = s.temporal.TerminateWorkflow(context.Background(), id, "", "the test gave up on it")
		s.t.Fatalf("%s did not end within %s: %v", id, d, err)
	}
	return res
}

// TestSlowPagesOutliveTheHeartbeatTimeout: an ERP so slow that one page takes longer than the
// heartbeat timeout (every request 1 s; a page is a roots request and a dozen child requests)
// still gets imported: the chunk heartbeats on a ticker while it reads and writes. It used to
// heartbeat only after a page, so every attempt timed out and restarted from the same cursor.
func TestSlowPagesOutliveTheHeartbeatTimeout(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(31)
	cat.Companies, cat.Products = []string{"usmf"}, 60
	s := newStack(t, cat, erpsim.Config{Faults: erpsim.Faults{Latency: erpsim.Duration(time.Second)}}, activities.Settings{PageSize: 100})
	start := time.Now()
	run := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild, HeartbeatTimeout: 2 * time.Second})
	res := s.waitWithin(run.GetID(), 90*time.Second)
	t.Logf("a rebuild with 1 s per ERP request and a 2 s heartbeat timeout took %s: %+v", time.Since(start).Round(time.Second), res.Of(erp.Products).Counts)
	if err := s.sim.Server.SetFaults(erpsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	s.checkProducts()
}

// TestAPoisonProductIsDeadLetteredAndTheRunIsPartial: a product whose SalesPrice the ERP took
// as 1e100000 (10^100000, beyond any double) is dead-lettered with the reason; the other change
// of the run is indexed, the run ends as a partial success in its result and in `starter
// status`, and once the price is fixed the next run that reads the product indexes it. The
// update used to fail as invalid, and every later run stopped at the same cursor.
func TestAPoisonProductIsDeadLetteredAndTheRunIsPartial(t *testing.T) {
	t.Parallel()
	s := newStack(t, simtest.Catalog(32), erpsim.Config{}, activities.Settings{PageSize: 50, SafetyLag: time.Second})
	s.run(workflows.ProductImportName, activities.Rebuild)

	poison := s.erp.First(t, "ReleasedProductsV2", "dataAreaId eq 'usmf'")
	path := "ReleasedProductsV2" + key("usmf", "ItemNumber", poison.S("ItemNumber"))
	s.erp.Write(t, "PATCH", path, map[string]any{"SalesPrice": json.Number("1e100000")})
	other := s.erp.First(t, "ReleasedProductsV2", "dataAreaId eq 'demf'")
	s.erp.Write(t, "PATCH", "ReleasedProductsV2"+key("demf", "ItemNumber", other.S("ItemNumber")), map[string]any{"ProductName": "Still indexed"})
	s.pastSafetyLag()

	res := s.run(workflows.ProductImportName, activities.Update)
	c := res.Of(erp.Products).Counts
	if res.Outcome != "partial: 1 record dead-lettered" || c.DeadLettered != 1 || c.Indexed != 1 {
		t.Fatalf("update: outcome %q, counts %+v; want the poison dead-lettered, the other indexed", res.Outcome, c)
	}
	dls, err := s.index.DeadLetters(context.Background(), 10)
	if err != nil || len(dls) != 1 || dls[0].ID != "usmf:"+poison.S("ItemNumber") || !strings.Contains(dls[0].Reason, "SalesPrice") ||
		!strings.Contains(dls[0].Reason, "beyond the range of a double") {
		t.Fatalf("dead letters %+v, %v", dls, err)
	}
	t.Logf("dead letter %s: %s", dls[0].ID, dls[0].Reason)
	status := s.starter(t, buildStarter(t), "status")
	if !strings.Contains(status, "partial: 1 record dead-lettered") {
		t.Fatalf("starter status does not show the partial run:\n%s", status)
	}
	t.Logf("starter status:\n%s", status)

	s.erp.Write(t, "PATCH", path, map[string]any{"SalesPrice": json.Number("12.5")})
	s.pastSafetyLag()
	if res := s.run(workflows.ProductImportName, activities.Update); res.Outcome != "complete" || res.Of(erp.Products).Counts.Indexed != 1 {
		t.Fatalf("after the fix: %+v", res)
	}
	s.checkProducts()
}

// pausedRebuild starts a rebuild and pauses it once it has begun: a live rebuild whose
// generation the state names.
func (s *stack) pausedRebuild() client.WorkflowRun {
	s.t.Helper()
	run := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild})
	// Paused at once: the rebuild begins (its generation is named in the state) and stops
	// before its next chunk. Waiting for a page of products first raced the rebuild's end on
	// a loaded machine: 120 products are read in a second or two.
	s.pause(run.GetID())
	s.t.Cleanup(func() { _ = s.temporal.TerminateWorkflow(context.Background(), run.GetID(), "", "test ends") })
	return run
}

// TestRebuildsDoNotOverlapAndAnEndedOneIsAbandoned: a second rebuild refuses to begin while the
// first is live (paused); once the first is terminated, the next update run abandons its
// generation (it writes only to the alias again); an update run ignores a rebuilding generation
// whose index was deleted; and a new rebuild then begins and swaps in. A terminated rebuild
// used to keep update runs double-writing forever, a deleted generation failed every update,
// and two rebuilds overwrote each other's state.
func TestRebuildsDoNotOverlapAndAnEndedOneIsAbandoned(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(33)
	cat.Products = 120
	s := newStack(t, cat, erpsim.Config{}, activities.Settings{PageSize: 10, ChunkPages: 1, SafetyLag: time.Second})
	s.run(workflows.ProductImportName, activities.Rebuild)
	ctx := context.Background()

	first := s.pausedRebuild()
	st, err := s.index.LoadState(ctx, erp.Products)
	if err != nil || st.Rebuilding == "" || !strings.HasPrefix(st.RebuildRun, first.GetID()+"/") {
		t.Fatalf("state while the first rebuild runs: %+v %v", st, err)
	}
	gen := st.Rebuilding
	second := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild})
	if err := second.Get(ctx, nil); err == nil || !strings.Contains(err.Error(), "does not begin") {
		t.Fatalf("a second rebuild while the first is live: %v, want it refused", err)
	}
	if after, _ := s.index.LoadState(ctx, erp.Products); after.Rebuilding != gen {
		t.Fatalf("the refused rebuild changed the state: %+v", after)
	}

	if err := s.temporal.TerminateWorkflow(ctx, first.GetID(), "", "an operator terminates it"); err != nil {
		t.Fatal(err)
	}
	p := s.erp.First(t, "ReleasedProductsV2", "dataAreaId eq 'usmf'")
	s.erp.Write(t, "PATCH", "ReleasedProductsV2"+key("usmf", "ItemNumber", p.S("ItemNumber")), map[string]any{"ProductName": "After the terminate"})
	s.pastSafetyLag()
	s.run(workflows.ProductImportName, activities.Update)
	if st, _ := s.index.LoadState(ctx, erp.Products); st.Rebuilding != "" {
		t.Fatalf("after an update run the terminated rebuild's generation is still named: %+v", st)
	}
	if err := s.index.Refresh(ctx, gen); err != nil {
		t.Fatal(err)
	}
	res, err := s.es.Search(s.es.Search.WithIndex(gen), s.es.Search.WithBody(strings.NewReader(`{"query":{"match_phrase":{"name.en":"After the terminate"}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	var hits struct {
		Hits struct {
			Total struct{ Value int } `json:"total"`
		} `json:"hits"`
	}
	json.NewDecoder(res.Body).Decode(&hits)
	res.Body.Close()
	if hits.Hits.Total.Value != 0 {
		t.Fatalf("the update run still wrote to the abandoned generation %s", gen)
	}

	third := s.pausedRebuild()
	st, _ = s.index.LoadState(ctx, erp.Products)
	if del, err := s.es.Indices.Delete([]string{st.Rebuilding}); err != nil || del.IsError() {
		t.Fatalf("delete %s: %v %v", st.Rebuilding, del, err)
	}
	s.erp.Write(t, "PATCH", "ReleasedProductsV2"+key("usmf", "ItemNumber", p.S("ItemNumber")), map[string]any{"ProductName": "After the delete"})
	s.pastSafetyLag()
	if c := s.run(workflows.ProductImportName, activities.Update).Of(erp.Products).Counts; c.Indexed != 1 {
		t.Fatalf("an update with the rebuilding generation deleted: %+v", c)
	}
	if st, _ := s.index.LoadState(ctx, erp.Products); st.Rebuilding != "" {
		t.Fatalf("the deleted generation is still named: %+v", st)
	}
	_ = s.temporal.TerminateWorkflow(ctx, third.GetID(), "", "done with it")

	s.run(workflows.ProductImportName, activities.Rebuild)
	s.checkProducts()
}

// TestTheRunsUpperBoundIsTheERPsClock: with the ERP's clock two minutes behind the worker's (and
// no overlap window to hide it), a change the ERP stamps right after a run is read by the next
// run: the run's upper bound, and so the watermark, come from the ERP's clock (the Date of its
// answers). With the worker's clock the watermark went two minutes past the ERP's time and the
// next run started after that change.
func TestTheRunsUpperBoundIsTheERPsClock(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(34)
	cat.Products = 120
	s := newStack(t, cat, erpsim.Config{Faults: erpsim.Faults{ClockSkew: erpsim.Duration(-2 * time.Minute)}},
		activities.Settings{PageSize: 50, SafetyLag: time.Second, Overlap: time.Microsecond})
	s.run(workflows.ProductImportName, activities.Rebuild)
	st, err := s.index.LoadState(context.Background(), erp.Products)
	if err != nil {
		t.Fatal(err)
	}
	if ahead := time.Until(st.Watermark.Modified); ahead > -90*time.Second {
		t.Errorf("watermark %s is %s from the worker's clock: want it on the ERP's, two minutes behind", st.Watermark, ahead.Round(time.Second))
	}
	p := s.erp.First(t, "ReleasedProductsV2", "dataAreaId eq 'usmf'")
	s.erp.Write(t, "PATCH", "ReleasedProductsV2"+key("usmf", "ItemNumber", p.S("ItemNumber")), map[string]any{"ProductName": "Stamped by a slow clock"})
	// Past the safety lag, with a margin for the whole seconds of the ERP's Date headers.
	time.Sleep(2100 * time.Millisecond)
	if c := s.run(workflows.ProductImportName, activities.Update).Of(erp.Products).Counts; c.Indexed != 1 {
		t.Fatalf("the update after the change: %+v, want it indexed", c)
	}
	s.checkProducts()
}

// TestARootWithoutACompanyIsSteppedPast: a released product the ERP sends without a company
// (an empty dataAreaId) makes its page fail as a whole, as the connector cannot place it; the import
// reads that page again in halves, dead-letters the one root with the reason and the row, and
// indexes everything else. Such a root used to fail every run at the same cursor.
func TestARootWithoutACompanyIsSteppedPast(t *testing.T) {
	t.Parallel()
	s := newStack(t, simtest.Catalog(35), erpsim.Config{}, activities.Settings{PageSize: 40, SafetyLag: time.Second})
	s.run(workflows.ProductImportName, activities.Rebuild)
	stamp := time.Now().UTC()
	err := s.sim.Store.Load(context.Background(), func(l *store.Loader) error {
		return l.Insert(store.ReleasedProducts, "", "NO-COMPANY", "NO-COMPANY", "Nobody's chair", "", "", "Product", "", "", "ea", json.Number("1"), "USD", "", stamp)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Products changed before and after it.
	changed := 0
	for _, p := range s.erp.All(t, "ReleasedProductsV2")[:20] {
		if p.S("dataAreaId") == "" {
			continue
		}
		s.erp.Write(t, "PATCH", "ReleasedProductsV2"+key(p.S("dataAreaId"), "ItemNumber", p.S("ItemNumber")), map[string]any{"ProductName": "Changed " + p.S("ItemNumber")})
		changed++
	}
	time.Sleep(2100 * time.Millisecond)
	res := s.run(workflows.ProductImportName, activities.Update)
	c := res.Of(erp.Products).Counts
	if res.Outcome != "partial: 1 record dead-lettered" || c.Indexed != changed {
		t.Fatalf("update: %s, %+v; want the root without a company dead-lettered and the %d changes indexed", res.Outcome, c, changed)
	}
	dls, err := s.index.DeadLetters(context.Background(), 10)
	if err != nil || len(dls) != 1 || dls[0].Key != "NO-COMPANY" || !strings.Contains(dls[0].Reason, "dataAreaId") || !strings.Contains(dls[0].Source, "Nobody's chair") {
		t.Fatalf("dead letters %+v %v", dls, err)
	}
	t.Logf("dead letter %q: %s", dls[0].Key, dls[0].Reason)
	s.checkProductsExcept(map[string]bool{":NO-COMPANY": true})
}

// TestAKeyWithControlCharactersIsIndexed: a released product whose item number holds control
// characters (U+0001, DEL) and a character outside the Basic Multilingual Plane is read, written
// and kept like any other. The bulk writer once quoted document ids as Go quotes strings, which
// is not JSON for these: Elasticsearch refused the whole request, and the import dead-lettered
// the product.
func TestAKeyWithControlCharactersIsIndexed(t *testing.T) {
	t.Parallel()
	s := newStack(t, simtest.Catalog(20), erpsim.Config{}, activities.Settings{PageSize: 40, SafetyLag: time.Second})
	s.run(workflows.ProductImportName, activities.Rebuild)
	const item = "ODD\x01KEY\x7f\U000e0001"
	err := s.sim.Store.Load(context.Background(), func(l *store.Loader) error {
		return l.Insert(store.ReleasedProducts, "usmf", item, item, "Chair with an odd key", "", "", "Product", "", "", "ea", json.Number("900"), "USD", "", time.Now().UTC())
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	res := s.run(workflows.ProductImportName, activities.Update)
	if c := res.Of(erp.Products).Counts; res.Outcome != "complete" || c.Indexed != 1 {
		t.Fatalf("update: %s, %+v; want the one new product indexed", res.Outcome, c)
	}
	if _, ok := s.docs(erp.Products)[idOf("usmf", item)]; !ok {
		t.Fatalf("no document %q in the index", idOf("usmf", item))
	}
	s.checkProducts()
}
