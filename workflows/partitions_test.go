package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
)

// plan is a rebuild's plan of n partitions of 30 roots, read inFlight at once.
func plan(n, inFlight int) activities.BeginResult {
	b := activities.BeginResult{Target: "gen-2", Until: t0, InFlight: inFlight, Width: 52 / inFlight}
	for i := range n {
		b.Partitions = append(b.Partitions, erp.Partition{Company: "usmf", After: fmt.Sprint(i * 100), Through: fmt.Sprint(i*100 + 99), Expected: 30})
		b.Expected += 30
	}
	return b
}

// partChunks mocks SyncChunk for partitioned reads: every partition is read in `per` chunks of
// 10 records, each continuing exactly where its partition's previous one stopped; it records
// the most chunks in flight at once and the chunks of each partition.
type partChunks struct {
	t   *testing.T
	per int
	// fail, when set, may fail a chunk (partition, its chunk number).
	fail func(p erp.Partition, n int) error

	mu          sync.Mutex
	calls       map[string]int
	inFlight    int
	maxInFlight int
	// ramped are the chunks that began without Steady: "partition/chunk number".
	ramped []string
	// width is the plan's requests at once a page (activities.BeginResult.Width).
	width int
}

func (c *partChunks) cursor(p erp.Partition, n int) erp.Cursor {
	return erp.Cursor{Modified: t0.Add(time.Duration(n) * time.Second), Company: p.Company, Key: fmt.Sprintf("%s-%d", p.After, n)}
}

func (c *partChunks) sync(_ context.Context, in activities.ChunkInput) (activities.ChunkResult, error) {
	if in.Partition == nil {
		c.t.Error("a chunk of a partitioned rebuild without its partition")
		return activities.ChunkResult{}, errors.New("no partition")
	}
	p := *in.Partition
	c.mu.Lock()
	n := c.calls[p.String()]
	c.inFlight++
	c.maxInFlight = max(c.maxInFlight, c.inFlight)
	c.mu.Unlock()
	time.Sleep(5 * time.Millisecond) // let the others start
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
	if want := c.cursor(p, n); n > 0 && in.After != want || n == 0 && !in.After.IsZero() {
		c.t.Errorf("partition %s chunk %d starts after %s, want %s", p, n, in.After, want)
	}
	if in.Width != c.width {
		c.t.Errorf("partition %s chunk %d reads with %d requests at once, want the plan's %d", p, n, in.Width, c.width)
	}
	if c.fail != nil {
		if err := c.fail(p, n); err != nil {
			return activities.ChunkResult{}, err
		}
	}
	c.calls[p.String()] = n + 1
	if !in.Steady {
		c.ramped = append(c.ramped, fmt.Sprintf("%s/%d", p, n))
	}
	return activities.ChunkResult{Next: c.cursor(p, n+1), Done: n+1 == c.per, Counts: activities.Counts{Pages: 1, Read: 10, Indexed: 10}}, nil
}

func newPartitionedEnv(t *testing.T, b activities.BeginResult, per int) (*testsuite.TestWorkflowEnvironment, *partChunks, *[]activities.FinishInput) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	productsOnlyList(env)
	env.RegisterActivity(&activities.Import{})
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BeginInput) (activities.BeginResult, error) {
		if !in.Partitioned {
			t.Errorf("a rebuild begun without asking for partitions: %+v", in)
		}
		return b, nil
	}).Once()
	c := &partChunks{t: t, per: per, calls: map[string]int{}, width: b.Width}
	env.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(c.sync)
	var finished []activities.FinishInput
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) (activities.FinishResult, error) {
		finished = append(finished, in)
		return activities.FinishResult{}, nil
	})
	env.OnActivity(a.Abandon, mock.Anything, mock.Anything).Return(nil)
	return env, c, &finished
}

// TestAPartitionedRebuildReadsEveryPartitionAndSwapsOnce: five partitions read two at once,
// each in three chunks from its own cursor: every partition is read to its end, never more than
// two at once, and the rebuild finishes (swaps) once with the sum of their counts, which the
// progress shows against the expected total.
func TestAPartitionedRebuildReadsEveryPartitionAndSwapsOnce(t *testing.T) {
	env, c, finished := newPartitionedEnv(t, plan(5, 2), 3)
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Rebuild})
	var res ImportResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(c.calls) != 5 || c.maxInFlight > 2 || c.maxInFlight < 2 {
		t.Fatalf("chunks per partition %v, at most %d at once; want 3 for each of 5, 2 at once", c.calls, c.maxInFlight)
	}
	for p, n := range c.calls {
		if n != 3 {
			t.Errorf("partition %s read in %d chunks, want 3", p, n)
		}
	}
	// The first two chunks start the rebuild with small pages; every chunk after them is
	// steady, begun while another keeps Elasticsearch busy.
	if len(c.ramped) != 2 || !strings.HasSuffix(c.ramped[0], "/0") || !strings.HasSuffix(c.ramped[1], "/0") {
		t.Errorf("chunks begun without Steady: %v, want the first chunks of the first two partitions", c.ramped)
	}
	if len(*finished) != 1 || (*finished)[0].Target != "gen-2" || (*finished)[0].Counts.Read != 150 || res.Entities[0].Counts.Read != 150 {
		t.Fatalf("finished %+v, result %+v; want one finish of gen-2 with 150 read", *finished, res)
	}
	// The parts are dropped once the entity is finished: the progress counts what was read.
	v, err := env.QueryWorkflow(QueryProgress)
	var p Progress
	if err == nil {
		err = v.Get(&p)
	}
	if err != nil || p.Expected != 150 || p.Totals.Read != 150 || p.Phase != "done" {
		t.Fatalf("progress at the end %+v (%v)", p, err)
	}
}

// TestAFailedPartitionIsRetriedAlone: one partition's chunk fails twice with an error that may
// pass; Temporal retries that chunk from the same cursor while the other partitions go on, and
// the rebuild ends complete, with no other chunk read twice.
func TestAFailedPartitionIsRetriedAlone(t *testing.T) {
	env, c, finished := newPartitionedEnv(t, plan(3, 3), 2)
	failures := 0
	c.fail = func(p erp.Partition, n int) error {
		if p.After == "100" && n == 1 && failures < 2 {
			failures++
			return temporal.NewApplicationError("ERP answered 503", "unavailable")
		}
		return nil
	}
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Rebuild})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if failures != 2 || len(*finished) != 1 || (*finished)[0].Counts.Read != 60 {
		t.Fatalf("%d failures, finished %+v; want 2 failures retried and 60 read", failures, *finished)
	}
	for p, n := range c.calls {
		if n != 2 {
			t.Errorf("partition %s read in %d chunks, want 2", p, n)
		}
	}
}

// TestAPartitionThatFailsForGoodFailsTheRebuild: a partition whose chunk fails for good (the
// ERP refuses the credentials) fails the rebuild with its error, the generation is abandoned
// and nothing is swapped.
func TestAPartitionThatFailsForGoodFailsTheRebuild(t *testing.T) {
	env, c, finished := newPartitionedEnv(t, plan(4, 2), 3)
	c.fail = func(p erp.Partition, n int) error {
		if p.After == "200" {
			return temporal.NewNonRetryableApplicationError("bad credentials", "unauthorized", nil)
		}
		return nil
	}
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Rebuild})
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "bad credentials") || !strings.Contains(err.Error(), "usmf (200, 299]") {
		t.Fatalf("want the rebuild failed by partition (200, 299], got %v", err)
	}
	if len(*finished) != 0 {
		t.Fatalf("finished %+v", *finished)
	}
	env.AssertCalled(t, "Abandon", mock.Anything, activities.AbandonInput{Entity: erp.Products, Target: "gen-2"})
}

// TestPauseReachesEveryPartition: paused while partitions are read, no chunk starts until the
// resume signal (those in flight end at their boundary); resumed, every partition is read to its
// end.
func TestPauseReachesEveryPartition(t *testing.T) {
	env, c, finished := newPartitionedEnv(t, plan(4, 3), 4)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalPause, nil) }, 0)
	var whilePaused Progress
	var chunksAtPause, chunksLater int
	count := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		n := 0
		for _, k := range c.calls {
			n += k
		}
		return n
	}
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryProgress)
		if err == nil {
			err = v.Get(&whilePaused)
		}
		if err != nil {
			t.Error(err)
		}
		chunksAtPause = count()
	}, time.Hour)
	env.RegisterDelayedCallback(func() { chunksLater = count() }, 90*time.Minute)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalResume, nil) }, 2*time.Hour)
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Rebuild})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !whilePaused.Paused || whilePaused.Phase != "paused" || whilePaused.PartitionsReading != 0 || chunksAtPause >= 16 || chunksLater != chunksAtPause {
		t.Fatalf("while paused: %+v, %d chunks, half an hour later %d", whilePaused, chunksAtPause, chunksLater)
	}
	if len(*finished) != 1 || (*finished)[0].Counts.Read != 160 {
		t.Fatalf("after resume: finished %+v, want 160 read", *finished)
	}
}

// TestAPartitionedRebuildContinuesAsNewWithEveryCursor: after MaxChunksPerRun chunks the
// rebuild waits for the chunks in flight and continues as new; the checkpoint holds each
// partition's cursor, and the continued run goes on from them without beginning again.
func TestAPartitionedRebuildContinuesAsNewWithEveryCursor(t *testing.T) {
	env, c, _ := newPartitionedEnv(t, plan(3, 2), 4)
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Rebuild, MaxChunksPerRun: 3})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next ImportInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	cp := next.Checkpoint
	read := 0
	for _, p := range cp.Parts {
		read += p.Counts.Read
		if n := c.calls[p.Partition.String()]; p.Counts.Read != 10*n || (n > 0 && p.Cursor != c.cursor(p.Partition, n)) {
			t.Fatalf("checkpoint of partition %s: %+v after %d chunks", p.Partition, p, n)
		}
	}
	if len(cp.Parts) != 3 || cp.Chunks < 3 || read != cp.Counts[0].Read || read != 10*cp.Chunks {
		t.Fatalf("checkpoint %+v", cp)
	}

	var s testsuite.WorkflowTestSuite
	env2 := s.NewTestWorkflowEnvironment()
	productsOnlyList(env2)
	env2.RegisterActivity(&activities.Import{})
	c.t = t
	env2.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(c.sync)
	env2.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(activities.FinishResult{}, nil)
	next.MaxChunksPerRun = 0
	env2.ExecuteWorkflow(ProductImport, next)
	var res ImportResult
	if err := env2.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Entities[0].Counts.Read != 120 || res.Runs != 2 {
		t.Fatalf("after continue-as-new: %+v, want 120 read over 2 runs", res)
	}
	env2.AssertNotCalled(t, "Begin", mock.Anything, mock.Anything)
}

// TestCancelReachesEveryPartition: a partitioned rebuild cancelled while three partitions are
// read ends cancelled; every chunk in flight is cancelled, no chunk starts after it, the
// generation is abandoned and nothing is swapped.
func TestCancelReachesEveryPartition(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	productsOnlyList(env)
	env.RegisterActivity(&activities.Import{})
	b := plan(6, 3)
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(b, nil)
	c := &partChunks{t: t, per: 5, calls: map[string]int{}, width: b.Width}
	// Each chunk takes a minute; the cancellation comes while the second three are read.
	env.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(c.sync).After(time.Minute)
	var finished []activities.FinishInput
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) (activities.FinishResult, error) {
		finished = append(finished, in)
		return activities.FinishResult{}, nil
	})
	env.OnActivity(a.Abandon, mock.Anything, mock.Anything).Return(nil)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 90*time.Second)
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Rebuild})
	err := env.GetWorkflowError()
	if !temporal.IsCanceledError(err) {
		t.Fatalf("want a cancelled rebuild, got %v", err)
	}
	c.mu.Lock() // cancelled chunks may still be running
	n := 0
	for _, k := range c.calls {
		n += k
	}
	c.mu.Unlock()
	if n != 3 || len(finished) != 0 {
		t.Fatalf("%d chunks of 30 read, finished %+v: want the 3 before the cancellation, none after", n, finished)
	}
	env.AssertCalled(t, "Abandon", mock.Anything, activities.AbandonInput{Entity: erp.Products, Target: "gen-2"})
}

// TestAPartitionedAuditAuditsEveryPartition: an audit begun since audits are partitioned asks
// for partitions and audits each from its own cursor with AuditChunk, then finishes once.
func TestAPartitionedAuditAuditsEveryPartition(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	productsOnlyList(env)
	env.RegisterActivity(&activities.Import{})
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BeginInput) (activities.BeginResult, error) {
		if !in.Partitioned || in.Mode != activities.Audit {
			t.Errorf("an audit begun %+v", in)
		}
		b := plan(3, 2)
		b.Target = "erpsync-products"
		return b, nil
	}).Once()
	var mu sync.Mutex
	audited := map[string]int{}
	env.OnActivity(a.AuditChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AuditInput) (activities.AuditResult, error) {
		mu.Lock()
		defer mu.Unlock()
		if in.Partition == nil || in.Target != "erpsync-products" {
			t.Errorf("audit chunk %+v", in)
			return activities.AuditResult{}, errors.New("no partition")
		}
		n := audited[in.Partition.String()]
		audited[in.Partition.String()] = n + 1
		return activities.AuditResult{Next: erp.Cursor{Company: "usmf", Key: fmt.Sprint(n)}, Done: n == 1, Counts: activities.Counts{Pages: 1, Changed: 10}}, nil
	})
	var finished []activities.FinishInput
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) (activities.FinishResult, error) {
		finished = append(finished, in)
		return activities.FinishResult{}, nil
	})
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Audit})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(audited) != 3 || len(finished) != 1 || finished[0].Counts.Changed != 60 {
		t.Fatalf("audited %v, finished %+v: want 2 chunks of each of 3 partitions, one finish with 60 compared", audited, finished)
	}
	env.AssertNotCalled(t, "SyncChunk", mock.Anything, mock.Anything)
}

// productsOnlyList makes ProductImport import the products only, as it did before the company-
// wide data became entities of their own (the normalised-products version): these tests are
// about the partitions of one entity.
func productsOnlyList(env *testsuite.TestWorkflowEnvironment) {
	env.OnGetVersion(normalisedProducts, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
}
