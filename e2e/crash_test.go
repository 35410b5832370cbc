package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/workflows"
)

// buildWorker compiles the worker binary once per test.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	cmd := exec.Command("go", "build", "-o", bin, "../worker")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build worker: %v", err)
	}
	return bin
}

// workerProcess starts the real worker binary as a separate process on the stack's task queue,
// with the stack's change detection and extra environment settings ("K=V") after the stack's.
func (s *stack) workerProcess(t *testing.T, bin string, pageSize, chunkPages int, extra ...string) *exec.Cmd {
	t.Helper()
	detection := s.settings.Detection
	if detection == "" {
		detection = activities.ParentStamps
	}
	cmd := exec.Command(bin, "--log-format", "console", "--metrics", "127.0.0.1:0")
	cmd.Env = append(os.Environ(),
		"ERPSYNC_TASK_QUEUE="+s.queue,
		"ERPSYNC_INDEX_PREFIX="+s.prefix,
		"ERP_URL="+s.sim.URL,
		"ERP_CLIENT_ID="+s.sim.ClientID,
		"ERP_CLIENT_SECRET="+s.sim.ClientSecret,
		fmt.Sprintf("ERPSYNC_PAGE_SIZE=%d", pageSize),
		fmt.Sprintf("ERPSYNC_CHUNK_PAGES=%d", chunkPages),
		"ERPSYNC_LOG_LEVEL=warn",
		"ERPSYNC_CHANGE_DETECTION="+string(detection),
	)
	if s.settings.SafetyLag > 0 {
		cmd.Env = append(cmd.Env, "ERPSYNC_SAFETY_LAG="+s.settings.SafetyLag.String())
	}
	if s.esURL != "" {
		cmd.Env = append(cmd.Env, "ELASTICSEARCH_URL="+s.esURL)
	}
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if s.workerLog != nil {
		cmd.Stdout, cmd.Stderr = s.workerLog, s.workerLog
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start worker process: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestWorkerKilledMidRebuild kills a real worker process with SIGKILL in the middle of a rebuild;
// a new worker process finishes it from the last heartbeat; the index equals the ERP, and the
// pages written twice are counted (Elasticsearch answers a rewrite of the same version as stale).
func TestWorkerKilledMidRebuild(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(21)
	cat.Products = 2400
	const pageSize, chunkPages = 40, 10
	// An ERP that answers in 30 ms: pages take a while, so that the kill lands mid-way. Without
	// it the rebuild could read its last pages between two progress queries of a loaded
	// machine, and no chunk was left to kill (CI, once in a while).
	s := newStackWithoutWorker(t, cat, erpsim.Config{Faults: erpsim.Faults{Latency: erpsim.Duration(30 * time.Millisecond)}},
		activities.Settings{PageSize: pageSize, ChunkPages: chunkPages})
	bin := buildWorker(t)

	first := s.workerProcess(t, bin, pageSize, chunkPages)
	// A short heartbeat timeout so that the dead worker's chunk is retried within seconds.
	run := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild, HeartbeatTimeout: 5 * time.Second})

	// Kill it once a quarter of the pages are in.
	deadline := time.Now().Add(3 * time.Minute)
	var at workflows.Progress
	for {
		if time.Now().After(deadline) {
			t.Fatal("the rebuild did not get going within 3 minutes")
		}
		at = s.progress(run.GetID())
		if at.Totals.Pages >= cat.Products/pageSize/4 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Then in the middle of a chunk: once its first page is heartbeated, and a little later.
	var hb heartbeat
	s.awaitHeartbeat(run.GetID(), "SyncChunk", &hb, func() bool { return hb.Counts.Pages >= 1 })
	time.Sleep(150 * time.Millisecond)
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	t.Logf("killed the worker (SIGKILL) after %d chunked pages, in a chunk whose last heartbeat was at %s (its page %d)",
		at.Totals.Pages, hb.Cursor, hb.Counts.Pages)

	s.workerProcess(t, bin, pageSize, chunkPages)
	res := s.wait(run)
	c := res.Of(erp.Products).Counts
	repeatedPages := float64(c.Stale) / pageSize
	t.Logf("after the crash: %d read, %d indexed, %d written twice (%.1f pages of %d; a chunk is %d pages)",
		c.Read, c.Indexed, c.Stale, repeatedPages, pageSize, chunkPages)
	if c.Stale > (chunkPages+1)*pageSize {
		t.Fatalf("%d documents were written twice: more than the pages since the last heartbeat can hold", c.Stale)
	}
	s.checkProducts()
}

// heartbeat is the chunk heartbeat as the server holds it.
type heartbeat struct {
	Cursor erp.Cursor        `json:"cursor"`
	Counts activities.Counts `json:"counts"`
}

// awaitHeartbeat waits until the running activity of type activity of a workflow has
// heartbeated details into into that done accepts.
func (s *stack) awaitHeartbeat(id, activity string, into any, done func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		d, err := s.temporal.DescribeWorkflowExecution(context.Background(), id, "")
		if err != nil {
			s.t.Fatal(err)
		}
		if d.GetWorkflowExecutionInfo().GetCloseTime() != nil {
			s.t.Fatalf("workflow %s ended before a %s heartbeat was seen: nothing left to catch mid-way", id, activity)
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() != activity || pa.GetHeartbeatDetails() == nil {
				continue
			}
			if err := converter.GetDefaultDataConverter().FromPayloads(pa.GetHeartbeatDetails(), into); err != nil {
				s.t.Fatal(err)
			}
			if done() {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("no %s heartbeat within 2 minutes", activity)
}

// indexWrites is the number of index operations Elasticsearch counted on an entity's live
// generation so far (see indexOps).
func (s *stack) indexWrites(e erp.Entity) int {
	s.t.Helper()
	indexed, _ := s.indexOps(e)
	return indexed
}

// TestWorkerKilledMidChildStampsUpdate: with stock D365 (child-stamps), an update that re-reads
// 400 products changed through one child collection is killed (SIGKILL) in the middle of its
// writes; a new worker process goes on from the last heartbeated root. The index equals the ERP,
// and at most one page is written twice.
func TestWorkerKilledMidChildStampsUpdate(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(22)
	cat.Products = 1200
	const pageSize, chunkPages = 20, 10
	s := newStackWithoutWorker(t, cat, erpsim.Config{Behaviour: store.Behaviour{NoBumps: true, NoDeletionLog: true}},
		activities.Settings{PageSize: pageSize, ChunkPages: chunkPages, Detection: activities.ChildStamps, SafetyLag: time.Second})
	bin := buildWorker(t)
	first := s.workerProcess(t, bin, pageSize, chunkPages)
	s.wait(s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild}))

	// One transaction renames the French translation of every usmf product: only the
	// translations' stamps move.
	var items []string
	for _, p := range s.erp.All(t, "ReleasedProductsV2") {
		if p.S("dataAreaId") == "usmf" {
			items = append(items, p.S("ItemNumber"))
		}
	}
	if _, err := s.sim.Store.Write(context.Background(), func(tx *store.Tx) error {
		for _, it := range items {
			if _, err := tx.Create(store.ProductTranslations, store.Record{"dataAreaId": "usmf", "ItemNumber": it, "LanguageId": "fr",
				"ProductName": "Produit " + it}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.pastSafetyLag()
	before := s.indexWrites(erp.Products)
	// An ERP that answers in 30 ms, so that the update takes seconds and is caught mid-way.
	if err := s.sim.Server.SetFaults(erpsim.Faults{Latency: erpsim.Duration(30 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}

	run := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Update, HeartbeatTimeout: 5 * time.Second})
	var hb struct {
		Written erp.Ref           `json:"written"`
		Counts  activities.Counts `json:"counts"`
	}
	s.awaitHeartbeat(run.GetID(), "SyncChanges", &hb, func() bool { return hb.Counts.Pages >= 3 })
	time.Sleep(50 * time.Millisecond)
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	t.Logf("killed the worker (SIGKILL) after %d pages written, the last heartbeated root %s/%s", hb.Counts.Pages, hb.Written.Company, hb.Written.Key)

	s.workerProcess(t, bin, pageSize, chunkPages)
	res := s.wait(run)
	writes := s.indexWrites(erp.Products) - before
	t.Logf("after the crash: %+v; %d index writes for %d changed products", res.Of(erp.Products).Counts, writes, len(items))
	if writes < len(items) || writes > len(items)+pageSize {
		t.Errorf("%d index writes for %d changed products: want them all, and at most one page (%d) twice", writes, len(items), pageSize)
	}
	s.checkProducts()
}

// progress queries a running import.
func (s *stack) progress(id string) workflows.Progress {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := s.temporal.QueryWorkflow(ctx, id, "", workflows.QueryProgress)
	if err != nil {
		return workflows.Progress{}
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		s.t.Fatal(err)
	}
	return p
}
