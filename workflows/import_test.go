package workflows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func cursorAt(n int) erp.Cursor {
	return erp.Cursor{Modified: t0.Add(time.Duration(n) * time.Second), Company: "usmf", Key: "k"}
}

// productEntityList is ProductImport's entity list: the company-wide data, then the products.
var productEntityList = []erp.Entity{erp.Categories, erp.LineDiscounts, erp.Activations, erp.Products}

// chunks mocks SyncChunk as a read of n chunks of 10 products, checking that each chunk continues
// exactly where the previous one stopped; the company-wide entities before the products read 1
// record in one chunk each. It returns the number of product chunks.
func chunks(t *testing.T, env *testsuite.TestWorkflowEnvironment, n int) *int {
	calls := 0
	env.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ChunkInput) (activities.ChunkResult, error) {
			if in.Entity != erp.Products {
				return activities.ChunkResult{Done: true, Counts: activities.Counts{Pages: 1, Read: 1, Indexed: 1}}, nil
			}
			if want := cursorAt(calls); calls > 0 && in.After != want {
				t.Errorf("chunk %d starts after %s, want %s", calls, in.After, want)
			}
			calls++
			return activities.ChunkResult{Next: cursorAt(calls), Done: calls == n,
				Counts: activities.Counts{Pages: 2, Read: 10, Indexed: 10}}, nil
		})
	return &calls
}

func TestUpdateReadsChunksDeletesAndCommits(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	until := t0.Add(time.Hour)
	for _, e := range productEntityList {
		env.OnActivity(a.Begin, mock.Anything, activities.BeginInput{Entity: e, Mode: activities.Update, RunID: "default-test-workflow-id/default-test-run-id"}).
			Return(activities.BeginResult{Target: "erpsync-" + string(e), Until: until}, nil).Once()
		env.OnActivity(a.ApplyDeletions, mock.Anything, activities.DeletionsInput{Entities: []erp.Entity{e}, Until: until}).
			Return(activities.DeletionsResult{Next: cursorAt(99), Counts: activities.Counts{Deleted: 4}}, nil).Once()
	}
	calls := chunks(t, env, 3)
	var finished []activities.FinishInput
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) (activities.FinishResult, error) {
		finished = append(finished, in)
		return activities.FinishResult{Watermark: erp.Cursor{Modified: in.Until}}, nil
	}).Times(4)

	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Update})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res ImportResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if *calls != 3 {
		t.Fatalf("%d chunks, want 3", *calls)
	}
	// The company-wide data first, each committed on its own, then the products.
	for i, e := range productEntityList {
		if res.Entities[i].Entity != e || finished[i].Entity != e {
			t.Fatalf("entity %d: %s, finished %s; want %s", i, res.Entities[i].Entity, finished[i].Entity, e)
		}
	}
	got := res.Entities[3].Counts
	if got.Read != 30 || got.Indexed != 30 || got.Pages != 6 || got.Deleted != 4 {
		t.Fatalf("counts %+v, want 30 read and indexed, 6 pages, 4 deleted", got)
	}
	if res.Outcome != "complete" {
		t.Fatalf("outcome %q, want complete", res.Outcome)
	}
	if f := finished[3]; !f.Until.Equal(until) || f.Deletions != cursorAt(99) || f.Counts.Read != 30 {
		t.Fatalf("finish got %+v", f)
	}
	env.AssertExpectations(t)
}

func TestCustomerImportRebuildsEachEntityAndNeverDeletesFromTheLog(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	var begun []erp.Entity
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BeginInput) (activities.BeginResult, error) {
		begun = append(begun, in.Entity)
		return activities.BeginResult{Target: "gen-" + string(in.Entity), Until: t0}, nil
	})
	env.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChunkInput) (activities.ChunkResult, error) {
		if in.Target != "gen-"+string(in.Entity) {
			t.Errorf("%s written to %s", in.Entity, in.Target)
		}
		return activities.ChunkResult{Done: true, Counts: activities.Counts{Read: 5}}, nil
	})
	var swapped []string
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) (activities.FinishResult, error) {
		swapped = append(swapped, in.Target)
		return activities.FinishResult{}, nil
	})
	env.ExecuteWorkflow(CustomerImport, ImportInput{Mode: activities.Rebuild})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []string{"gen-customers", "gen-contacts", "gen-salesreps"}
	if len(swapped) != 3 || swapped[0] != want[0] || swapped[1] != want[1] || swapped[2] != want[2] {
		t.Fatalf("swapped %v, want %v", swapped, want)
	}
	if len(begun) != 3 {
		t.Fatalf("begun %v", begun)
	}
	env.AssertNotCalled(t, "ApplyDeletions", mock.Anything, mock.Anything)
}

func TestContinueAsNewCarriesTheCheckpoint(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(activities.BeginResult{Target: "erpsync-products", Until: t0.Add(time.Hour)}, nil)
	chunks(t, env, 100)

	env.OnActivity(a.ApplyDeletions, mock.Anything, mock.Anything).Return(activities.DeletionsResult{}, nil)
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(activities.FinishResult{}, nil)
	// One chunk of each company-wide entity, two of products.
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Update, MaxChunksPerRun: 5})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("want continue-as-new after 5 chunks, got %v", err)
	}
	if can.WorkflowType.Name != ProductImportName {
		t.Fatalf("continues as %q", can.WorkflowType.Name)
	}
	var next ImportInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	cp := next.Checkpoint
	if cp == nil || cp.Entity != 3 || cp.Cursor != cursorAt(2) || cp.Begun == nil || cp.Counts[3].Read != 20 || cp.Runs != 1 || cp.Chunks != 5 ||
		!slices.Equal(cp.Entities, productEntityList) {
		t.Fatalf("checkpoint %+v", cp)
	}

	// The continued run resumes from the checkpoint: no second Begin, the cursor goes on.
	env2 := s.NewTestWorkflowEnvironment()
	env2.RegisterActivity(&activities.Import{})
	calls := 2
	env2.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChunkInput) (activities.ChunkResult, error) {
		if in.After != cursorAt(calls) {
			t.Errorf("resumed after %s, want %s", in.After, cursorAt(calls))
		}
		calls++
		return activities.ChunkResult{Next: cursorAt(calls), Done: true, Counts: activities.Counts{Read: 10}}, nil
	})
	env2.OnActivity(a.ApplyDeletions, mock.Anything, mock.Anything).Return(activities.DeletionsResult{}, nil)
	env2.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(activities.FinishResult{}, nil)
	env2.ExecuteWorkflow(ProductImport, next)
	var res ImportResult
	if err := env2.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Entities) != 4 || res.Entities[3].Counts.Read != 30 || res.Runs != 2 {
		t.Fatalf("after continue-as-new: %+v, want 30 products read over 2 runs", res)
	}
	env2.AssertNotCalled(t, "Begin", mock.Anything, mock.Anything)
}

// TestAnImportBegunByAnEarlierVersionKeepsItsEntities: a run continued from a checkpoint of an
// import begun before ProductImport imported the company-wide data goes on with products only.
func TestAnImportBegunByAnEarlierVersionKeepsItsEntities(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	var synced []erp.Entity
	env.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChunkInput) (activities.ChunkResult, error) {
		synced = append(synced, in.Entity)
		return activities.ChunkResult{Done: true, Counts: activities.Counts{Read: 10}}, nil
	})
	env.OnActivity(a.ApplyDeletions, mock.Anything, mock.Anything).Return(activities.DeletionsResult{}, nil)
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(activities.FinishResult{}, nil)
	cp := &Checkpoint{RunID: "old", Begun: &activities.BeginResult{Target: "erpsync-products"}, Counts: []activities.Counts{{Read: 5}}, Expected: []int{0}, Runs: 1}
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Update, Checkpoint: cp})
	var res ImportResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Entities) != 1 || res.Entities[0].Entity != erp.Products || res.Entities[0].Counts.Read != 15 || !slices.Equal(synced, []erp.Entity{erp.Products}) {
		t.Fatalf("result %+v, synced %v: want products only", res, synced)
	}
}

func TestPauseStopsBetweenChunksAndResumeGoesOn(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(activities.BeginResult{Target: "erpsync-products", Until: t0}, nil)
	calls := chunks(t, env, 4)
	env.OnActivity(a.ApplyDeletions, mock.Anything, mock.Anything).Return(activities.DeletionsResult{}, nil)
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(activities.FinishResult{}, nil)

	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalPause, nil) }, 0)
	var whilePaused Progress
	var chunksWhilePaused int
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryProgress)
		if err != nil {
			t.Error(err)
			return
		}
		if err := v.Get(&whilePaused); err != nil {
			t.Error(err)
		}
		chunksWhilePaused = *calls
	}, time.Hour)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalResume, nil) }, 2*time.Hour)

	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Update})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !whilePaused.Paused || whilePaused.Phase != "paused" {
		t.Fatalf("an hour after the pause signal the progress is %+v", whilePaused)
	}
	if chunksWhilePaused >= 4 {
		t.Fatalf("%d chunks ran while paused", chunksWhilePaused)
	}
	if *calls != 4 {
		t.Fatalf("%d chunks after resume, want 4", *calls)
	}
}

func TestBadModeFailsAtOnce(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: "sometimes"})
	if err := env.GetWorkflowError(); err == nil {
		t.Fatal("an unknown mode must fail the workflow")
	}
}

func TestAFailedRebuildIsAbandoned(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BeginInput) (activities.BeginResult, error) {
		if in.Entity == erp.Products {
			return activities.BeginResult{Target: "gen-7", Until: t0}, nil
		}
		return activities.BeginResult{Target: "gen-" + string(in.Entity), Until: t0}, nil
	})
	env.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChunkInput) (activities.ChunkResult, error) {
		if in.Entity != erp.Products {
			return activities.ChunkResult{Done: true}, nil
		}
		return activities.ChunkResult{}, temporal.NewNonRetryableApplicationError("bad credentials", "unauthorized", nil)
	})
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) (activities.FinishResult, error) {
		if in.Entity == erp.Products {
			t.Errorf("products swapped in by a failed rebuild")
		}
		return activities.FinishResult{}, nil
	}).Maybe()
	var abandoned activities.AbandonInput
	env.OnActivity(a.Abandon, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AbandonInput) error {
		abandoned = in
		return nil
	}).Once()
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Rebuild})
	if env.GetWorkflowError() == nil {
		t.Fatal("the rebuild must fail")
	}
	if abandoned.Target != "gen-7" || abandoned.Entity != erp.Products {
		t.Fatalf("abandoned %+v, want gen-7 of products", abandoned)
	}
	env.AssertExpectations(t)
}

// TestAPartialRunSaysSo: a run in which records were dead-lettered finishes and says it is a
// partial success, in its result and in the details the UI shows.
func TestAPartialRunSaysSo(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(activities.BeginResult{Target: "erpsync-products", Until: t0}, nil)
	productsOnly(env, activities.ChunkResult{Next: cursorAt(1), Done: true,
		Counts: activities.Counts{Pages: 1, Read: 10, Indexed: 8, Rejected: 1, DeadLettered: 2}})
	env.OnActivity(a.ApplyDeletions, mock.Anything, mock.Anything).Return(activities.DeletionsResult{}, nil)
	var finished activities.FinishInput
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) (activities.FinishResult, error) {
		finished = in
		return activities.FinishResult{}, nil
	})
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Update})
	var res ImportResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != "partial: 2 records dead-lettered" || finished.Counts.Outcome() != res.Outcome {
		t.Fatalf("outcome %q (finish saw %q), want partial: 2 records dead-lettered", res.Outcome, finished.Counts.Outcome())
	}
	v, err := env.QueryWorkflow("__temporal_workflow_metadata")
	if err != nil {
		t.Fatal(err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := v.Get(&meta); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(meta.GetCurrentDetails(), "partial: 2 records dead-lettered") || !strings.Contains(meta.CurrentDetails, "starter dead-letters") {
		t.Fatalf("the UI's details do not say it is partial:\n%s", meta.GetCurrentDetails())
	}
}
