package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/workflows"
)

// indexOps returns how many documents Elasticsearch indexed into an entity's live generation
// and how many it refused as already current (a version conflict): together, what was sent.
func (s *stack) indexOps(e erp.Entity) (indexed, current int) {
	s.t.Helper()
	res, err := s.es.Indices.Stats(s.es.Indices.Stats.WithIndex(s.index.Alias(e)), s.es.Indices.Stats.WithMetric("indexing"))
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		All struct {
			Primaries struct {
				Indexing struct {
					IndexTotal int `json:"index_total"`
					Conflicts  int `json:"index_failed_due_to_version_conflict"`
				} `json:"indexing"`
			} `json:"primaries"`
		} `json:"_all"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		s.t.Fatal(err)
	}
	return out.All.Primaries.Indexing.IndexTotal, out.All.Primaries.Indexing.Conflicts
}

// chunksByWorker returns the activity ids of the chunks a workflow has running, by the process
// id of the worker running each (its identity is "<pid>@<host>@...").
func (s *stack) chunksByWorker(id string) map[string][]string {
	s.t.Helper()
	d, err := s.temporal.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, pa := range d.GetPendingActivities() {
		if pa.GetActivityType().GetName() != "SyncChunk" || pa.GetLastWorkerIdentity() == "" {
			continue
		}
		pid, _, _ := strings.Cut(pa.GetLastWorkerIdentity(), "@")
		out[pid] = append(out[pid], pa.GetActivityId())
	}
	return out
}

// awaitActivityPollers waits until n worker processes poll the stack's task queue for
// activities, so that a run started next can spread over all of them: a worker process still
// starting (a loaded machine) would otherwise see none of a short run.
func (s *stack) awaitActivityPollers(n int) {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		d, err := s.temporal.DescribeTaskQueue(context.Background(), s.queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err != nil {
			s.t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, p := range d.GetPollers() {
			ids[p.GetIdentity()] = true
		}
		if len(ids) >= n {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d worker processes poll %s for activities after a minute, want %d", len(ids), s.queue, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWorkerKilledMidPartitionedRebuild: two worker processes read a rebuild's partitions (12
// segments of 200 products in 4 lanes, and one more where a company ends inside one), 4 at
// once, each taking chunks as it is free; one is killed with SIGKILL in the middle. The
// other finishes every partition, the killed one's chunks from their last heartbeats. The index
// equals the ERP, and no partition's documents are sent to Elasticsearch twice beyond one page
// (the retried chunks re-read the pages after their heartbeat but send only what the index does
// not hold).
func TestWorkerKilledMidPartitionedRebuild(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(23)
	cat.Products = 2400
	const pageSize, chunkPages = 40, 10
	// An ERP that answers in 30 ms: pages take a while, so that the kill lands mid-way.
	s := newStackWithoutWorker(t, cat, erpsim.Config{Faults: erpsim.Faults{Latency: erpsim.Duration(30 * time.Millisecond)}},
		activities.Settings{PageSize: pageSize, ChunkPages: chunkPages})
	bin := buildWorker(t)
	extra := []string{"ERPSYNC_PARTITION_SIZE=200", "ERPSYNC_PARTITIONS=4"}
	workers := map[string]*os.Process{}
	for range 2 {
		cmd := s.workerProcess(t, bin, pageSize, chunkPages, extra...)
		workers[fmt.Sprint(cmd.Process.Pid)] = cmd.Process
	}
	s.awaitActivityPollers(2)
	run := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild, HeartbeatTimeout: 5 * time.Second})

	// Once both workers read partitions and an eighth of the products' pages are in, kill one
	// that has a chunk with a heartbeat.
	deadline := time.Now().Add(3 * time.Minute)
	seen := map[string]bool{}
	var victim string
	var victimChunks int
	var at workflows.Progress
	for victim == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no moment to kill a worker within 3 minutes: workers seen reading %v, progress %+v", seen, at)
		}
		at = s.progress(run.GetID())
		by := s.chunksByWorker(run.GetID())
		for pid := range by {
			seen[pid] = true
		}
		// ProductImport reads the company-wide data first (categories, discounts, activations).
		if len(seen) == 2 && at.Entity == erp.Products && entityCounts(at, erp.Products).Pages >= cat.Products/pageSize/8 {
			for pid, chunks := range by {
				if len(chunks) > 0 && workers[pid] != nil {
					victim, victimChunks = pid, len(chunks)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if at.Partitions < 12 || at.Partitions > 12+len(cat.Companies)-1 || at.Expected < cat.Products {
		t.Fatalf("progress %+v: want 12 to %d partitions of products, expecting %d products", at, 12+len(cat.Companies)-1, cat.Products)
	}
	if err := workers[victim].Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed worker %s (SIGKILL) after %d pages, %d of %d partitions read, while it read %d partitions",
		victim, at.Totals.Pages, at.PartitionsDone, at.Partitions, victimChunks)

	res := s.wait(run)
	c := res.Of(erp.Products).Counts
	indexed, current := s.indexOps(erp.Products)
	again := indexed + current - cat.Products
	t.Logf("after the crash: %d read, %d indexed; Elasticsearch indexed %d documents and refused %d as current: %d sent twice; %d pages read twice",
		c.Read, c.Indexed, indexed, current, again, c.Stale/pageSize)
	if indexed != cat.Products || again > victimChunks*pageSize {
		t.Fatalf("%d documents sent twice: more than one page for each of the %d partitions the killed worker read", again, victimChunks)
	}
	s.checkProducts()
}

// TestAPartitionedRebuildPausedAndResumed: a rebuild of 9 partitions, 3 at once, is paused: the
// chunks in flight end at their boundary, nothing moves while it is paused, every partition
// keeps its cursor; resumed, every partition is read to its end and the index equals the ERP,
// each product written once.
func TestAPartitionedRebuildPausedAndResumed(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(24)
	cat.Products = 900
	s := newStack(t, cat, erpsim.Config{Faults: erpsim.Faults{Latency: erpsim.Duration(10 * time.Millisecond)}},
		activities.Settings{PageSize: 20, ChunkPages: 1, PartitionSize: 100, Partitions: 3, SafetyLag: time.Second})
	ctx := context.Background()
	run := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild})
	for p := s.progress(run.GetID()); p.Entity != erp.Products || entityCounts(p, erp.Products).Pages < 5 || p.PartitionsReading < 3; p = s.progress(run.GetID()) {
		time.Sleep(20 * time.Millisecond)
	}
	paused := s.pause(run.GetID())
	time.Sleep(2 * time.Second)
	still := s.progress(run.GetID())
	if still.Totals.Pages != paused.Totals.Pages || still.PartitionsReading != 0 || still.PartitionsDone == still.Partitions {
		t.Fatalf("while paused: %+v at the pause, %+v two seconds later", paused, still)
	}
	if by := s.chunksByWorker(run.GetID()); len(by) != 0 {
		t.Fatalf("chunks running while paused: %v", by)
	}
	t.Logf("paused at %d pages, %d of %d partitions read", paused.Totals.Pages, paused.PartitionsDone, paused.Partitions)
	if err := s.temporal.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalResume, nil); err != nil {
		t.Fatal(err)
	}
	res := s.wait(run)
	if c := res.Of(erp.Products).Counts; c.Read != cat.Products || c.Indexed != cat.Products || c.Stale != 0 {
		t.Fatalf("after resume: %+v, want all %d products read and indexed once", c, cat.Products)
	}
	s.checkProducts()
}

// entityCounts is e's counts in an import's progress.
func entityCounts(p workflows.Progress, e erp.Entity) activities.Counts {
	for i, x := range p.Entities {
		if x == e && i < len(p.Counts) {
			return p.Counts[i]
		}
	}
	return activities.Counts{}
}
