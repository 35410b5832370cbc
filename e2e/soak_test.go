package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/workflows"
)

// TestFaultSoak runs a rebuild and triggered update runs while the simulator's change driver
// creates, edits and deletes, and meanwhile: the worker process is killed twice; the
// Elasticsearch node (one of the test's own) is killed with SIGKILL and restarted; the ERP
// answers 429, 500, 503 and truncated bodies and one body over the worker's bound; one poison
// product (a price beyond any double) and one deletion-log row the connector rejects are
// planted; a write block is set on the products indexes for 20 s and lifted. Afterwards the
// index equals the ERP except for the poison records (the planted one, and those the driver
// makes when it edits a currency code into free text), which are dead letters with their
// reasons, as is the log row; every change the ERP committed before the last run's upper bound
// is in the index; and `starter status` and `starter dead-letters` show it.
func TestFaultSoak(t *testing.T) {
	t.Parallel()
	start := time.Now()
	step := func(format string, args ...any) {
		t.Logf("%6.1fs  %s", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	node := testenv.StartElasticsearch(t)
	cat := simtest.Catalog(41)
	cat.Products = 600
	const pageSize, chunkPages = 20, 4
	s := newStackOn(t, node.Client(t, ""), node.URL, cat, erpsim.Config{ChangeRate: 5, Seed: 12},
		activities.Settings{PageSize: pageSize, ChunkPages: chunkPages})
	logPath := filepath.Join(t.TempDir(), "workers.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	s.workerLog = logFile
	bin := buildWorker(t)
	starter := buildStarter(t)
	// A body bound the oversized answer passes, a short safety lag, and an overlap wider than
	// the test, so that the last update reads every record the test changed.
	env := []string{"ERP_MAX_BODY_BYTES=" + fmt.Sprint(2<<20), "ERPSYNC_SAFETY_LAG=2s", "ERPSYNC_OVERLAP=15m"}
	worker := s.workerProcess(t, bin, pageSize, chunkPages, env...)
	ctx := context.Background()
	in := func(m activities.Mode) workflows.ImportInput {
		// A short heartbeat timeout, so that a killed worker's chunk moves on within seconds.
		return workflows.ImportInput{Mode: m, HeartbeatTimeout: 5 * time.Second}
	}
	s.waitWithin(s.start(workflows.ProductImportName, in(activities.Rebuild)).GetID(), 3*time.Minute)
	step("own Elasticsearch node at %s; first rebuild done", node.URL)

	// The poison records.
	total := len(s.erp.All(t, "ReleasedProductsV2"))
	poison := s.erp.First(t, "ReleasedProductsV2", "dataAreaId eq 'demf'")
	poisonID := "demf:" + poison.S("ItemNumber")
	s.erp.Write(t, "PATCH", "ReleasedProductsV2"+key("demf", "ItemNumber", poison.S("ItemNumber")), map[string]any{"SalesPrice": json.Number("1e100000")})
	const badRecID = 9_000_001
	badKey := "ItemNumber='A-1',LanguageId='de'"
	err = s.sim.Store.Load(ctx, func(l *store.Loader) error {
		now := time.Now().UTC()
		return l.Insert(store.DeletedRecords, "usmf", int64(badRecID), "ReleasedProductsV2", badKey, now, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The ERP's faults and its change driver.
	faults := erpsim.Faults{ErrorShare: 0.04, RateLimitShare: 0.03, RetryAfter: erpsim.Duration(time.Second), TruncateShare: 0.03,
		OversizeNext: 1, OversizeBytes: 3 << 20}
	if err := s.sim.Server.SetFaults(faults); err != nil {
		t.Fatal(err)
	}
	driverCtx, stopDriver := context.WithCancel(ctx)
	driverDone := make(chan struct{})
	go func() { defer close(driverDone); _ = s.sim.Server.Driver().Run(driverCtx) }()
	step("poison product %s and deletion-log row RecId %d planted; ERP faults %+v; change driver on", poisonID, badRecID, faults)

	// Update runs, one after another, until told to stop.
	var (
		mu       sync.Mutex
		updates  []workflows.ImportResult
		stopUpd  = make(chan struct{})
		updDone  = make(chan struct{})
		updError error
	)
	go func() {
		defer close(updDone)
		for {
			select {
			case <-stopUpd:
				return
			case <-time.After(2 * time.Second):
			}
			run := s.start(workflows.ProductImportName, in(activities.Update))
			wctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
			var res workflows.ImportResult
			err := s.temporal.GetWorkflow(wctx, run.GetID(), "").Get(wctx, &res)
			cancel()
			mu.Lock()
			if err != nil && updError == nil {
				updError = fmt.Errorf("update %s: %w", run.GetID(), err)
			}
			updates = append(updates, res)
			mu.Unlock()
		}
	}()

	rebuild := s.start(workflows.ProductImportName, in(activities.Rebuild))
	await := func(share float64) workflows.Progress {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
			p := s.progress(rebuild.GetID())
			if float64(p.Of(erp.Products).Read) >= share*float64(total) {
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("the rebuild did not read %.0f%% of its records within 3 minutes: %+v", share*100, p)
			}
		}
	}
	kill := func() {
		t.Helper()
		if err := worker.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = worker.Wait()
		worker = s.workerProcess(t, bin, pageSize, chunkPages, env...)
	}
	step("rebuild started, update runs going")

	p := await(0.15)
	kill()
	step("worker killed (SIGKILL) with the rebuild at %d of %d products; another started", p.Of(erp.Products).Read, total)

	p = await(0.3)
	node.Kill()
	step("Elasticsearch killed (SIGKILL) with the rebuild at %d products", p.Of(erp.Products).Read)
	time.Sleep(3 * time.Second)
	node.Start()
	step("Elasticsearch restarted")
	testenv.BlockWrites(t, s.es, s.prefix+"-products*", true)
	blocked := s.progress(rebuild.GetID())
	step("write block on %s-products*, rebuild at %d products", s.prefix, blocked.Of(erp.Products).Read)
	time.Sleep(20 * time.Second)
	p = s.progress(rebuild.GetID())
	testenv.BlockWrites(t, s.es, s.prefix+"-products*", false)
	step("write block lifted, rebuild at %d products", p.Of(erp.Products).Read)
	// The block is on the products' indexes: the company-wide data, read beside the products by
	// a child workflow, may go on, and is counted when that workflow ends. A chunk's counts
	// reach the workflow when it ends: each chunk in flight at the block may still add what it
	// wrote before it (or finds written when it resumes from its heartbeat), one chunk per
	// partition reading. A rebuild of 600 products is one stream unless the ERP's injected
	// errors failed its $count, when it is partitioned.
	inFlight := max(blocked.PartitionsReading, 1)
	if before, after := blocked.Of(erp.Products), p.Of(erp.Products); after.Read > before.Read+inFlight*chunkPages*pageSize || after.DeadLettered > before.DeadLettered {
		t.Errorf("the rebuild went on through the write block (%d partitions reading): %+v -> %+v", inFlight, before, after)
	}
	kill()
	step("worker killed again (SIGKILL); another started")

	res := s.waitWithin(rebuild.GetID(), 4*time.Minute)
	step("rebuild done: %s, %+v", res.Outcome, res.Of(erp.Products).Counts)

	// Quiet: no more changes or faults; one last update reads everything committed.
	close(stopUpd)
	<-updDone
	stopDriver()
	<-driverDone
	if f := s.sim.Server.Faults(); f.OversizeNext != 0 {
		t.Errorf("the oversized answer was never sent: %+v", f)
	}
	if err := s.sim.Server.SetFaults(erpsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if updError != nil {
		t.Fatal(updError)
	}
	step("%d update runs alongside; the driver made %+v", len(updates), s.sim.Server.Driver().Stats())
	mu.Unlock()
	quiet := time.Now()
	time.Sleep(3500 * time.Millisecond) // past the safety lag and the Date header's whole seconds
	final := s.run(workflows.ProductImportName, activities.Update)
	step("final update: %s, %+v", final.Outcome, final.Of(erp.Products).Counts)

	// No change the ERP committed before the last run's upper bound is missing: the driver
	// stopped before it, and the index equals the ERP but for the poison records.
	st, err := s.index.LoadState(ctx, erp.Products)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Watermark.Modified.After(quiet.Add(-time.Minute)) || st.Rebuilding != "" {
		t.Fatalf("state after the soak: %+v", st)
	}
	unindexable := s.erp.unindexableProducts(t)
	if !unindexable[poisonID] {
		t.Fatalf("the planted poison %s is not among the unindexable products %v", poisonID, unindexable)
	}
	step("%d poison products in the ERP (the planted one and what the driver made)", len(unindexable))
	s.checkProductsExcept(unindexable)
	if d := s.docs(erp.Products)[poisonID]; d != nil {
		t.Fatalf("the poison product %s is in the index: %s", poisonID, d)
	}

	dls, err := s.index.DeadLetters(ctx, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	lettered := map[string]bool{}
	sawRow := false
	for _, d := range dls {
		lettered[d.ID] = true
		if d.Origin == search.OriginElasticsearch {
			// The write block and the node's death are refusals, never the documents' fault.
			t.Errorf("a document Elasticsearch refused is a dead letter: %s %d %s", d.ID, d.Status, d.Reason)
		}
		if d.Origin == search.OriginERP && d.Key == badKey && strings.Contains(d.Reason, fmt.Sprintf("RecId %d", badRecID)) {
			sawRow = true
		}
		if d.ID == poisonID && !strings.Contains(d.Reason, "beyond the range of a double") {
			t.Errorf("the poison product's dead letter gives another reason: %s", d.Reason)
		}
	}
	for id := range unindexable {
		if !lettered[id] {
			t.Errorf("the poison product %s is not dead-lettered", id)
		}
	}
	if !sawRow {
		t.Errorf("the deletion-log row RecId %d is not dead-lettered", badRecID)
	}
	status := s.starter(t, starter, "status")
	letters := s.starter(t, starter, "dead-letters", "--limit", "10000")
	for _, want := range []string{"products", "partial: "} {
		if !strings.Contains(status, want) {
			t.Errorf("starter status lacks %q", want)
		}
	}
	for _, want := range []string{poisonID, fmt.Sprintf("RecId %d", badRecID)} {
		if !strings.Contains(letters, want) {
			t.Errorf("starter dead-letters lacks %q", want)
		}
	}
	t.Logf("starter status:\n%s", status)
	if t.Failed() {
		b, _ := os.ReadFile(logPath)
		if len(b) > 20000 {
			b = b[len(b)-20000:]
		}
		t.Logf("starter dead-letters:\n%s\nthe end of the workers' log:\n%s", letters, b)
	}
	step("soak done: %d dead letters", len(dls))
}
