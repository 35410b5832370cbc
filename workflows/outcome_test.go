package workflows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
	"github.com/erpsync/erpsync/visibility"
)

// reported is what a run set as search attributes and passed to RunEnded.
type reported struct {
	attrs map[string]any
	ended []activities.RunEndedInput
}

// watchOutcome records the run's search attributes and its RunEnded calls.
func watchOutcome(env *testsuite.TestWorkflowEnvironment) *reported {
	r := &reported{attrs: map[string]any{}}
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		if v, ok := sa.GetKeywordList(visibility.Entity); ok {
			r.attrs["entity"] = v
		}
		if v, ok := sa.GetKeyword(visibility.Mode); ok {
			r.attrs["mode"] = v
		}
		if v, ok := sa.GetKeyword(visibility.Outcome); ok {
			r.attrs["outcome"] = v
		}
		if v, ok := sa.GetInt64(visibility.Written); ok {
			r.attrs["written"] = v
		}
		if v, ok := sa.GetInt64(visibility.DeadLettered); ok {
			r.attrs["dead_lettered"] = v
		}
	})
	env.OnActivity(a.RunEnded, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RunEndedInput) error {
		r.ended = append(r.ended, in)
		return nil
	})
	return r
}

func (r *reported) check(t *testing.T, outcome string, written, deadLettered int64) activities.RunEndedInput {
	t.Helper()
	if len(r.ended) != 1 {
		t.Fatalf("RunEnded called %d times, want once", len(r.ended))
	}
	if r.attrs["outcome"] != outcome || r.attrs["written"] != written || r.attrs["dead_lettered"] != deadLettered {
		t.Fatalf("search attributes %v, want outcome %s, written %d, dead-lettered %d", r.attrs, outcome, written, deadLettered)
	}
	if r.ended[0].Outcome != outcome {
		t.Fatalf("RunEnded got outcome %s, want %s", r.ended[0].Outcome, outcome)
	}
	return r.ended[0]
}

func TestASuccessfulRunReportsSuccess(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	r := watchOutcome(env)
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(activities.BeginResult{Target: "gen", Until: t0}, nil)
	env.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(activities.ChunkResult{Done: true, Counts: activities.Counts{Read: 5, Indexed: 4, Stale: 1}}, nil)
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(activities.FinishResult{}, nil)
	env.ExecuteWorkflow(CustomerImport, ImportInput{Mode: activities.Rebuild})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	in := r.check(t, visibility.Success, 12, 0)
	if got := r.attrs["entity"].([]string); len(got) != 3 || got[0] != "customers" || r.attrs["mode"] != "rebuild" {
		t.Fatalf("entity %v, mode %v", r.attrs["entity"], r.attrs["mode"])
	}
	if in.Task != "Customer import" || in.Workflow != CustomerImportName || in.Counts.Indexed != 12 || in.Started.IsZero() {
		t.Fatalf("RunEnded input %+v", in)
	}
}

func TestAFailedRunReportsFailedWithTheError(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	r := watchOutcome(env)
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(activities.BeginResult{Target: "erpsync-products", Until: t0}, nil)
	env.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(activities.ChunkResult{},
		temporal.NewNonRetryableApplicationError("token request: 401 invalid_client", failure.Unauthorized.String(), nil))
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Update})
	if env.GetWorkflowError() == nil {
		t.Fatal("the run succeeded")
	}
	in := r.check(t, visibility.Failed, 0, 0)
	if !strings.Contains(in.Error, "401 invalid_client") || !slices.Equal(in.Entities, productEntityList) {
		t.Fatalf("RunEnded input %+v, want the error and the entity", in)
	}
}

func TestDeadLettersMakeARunPartial(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	r := watchOutcome(env)
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(activities.BeginResult{Target: "erpsync-products", Until: t0}, nil)
	productsOnly(env, activities.ChunkResult{Done: true, Counts: activities.Counts{Read: 10, Indexed: 8, Rejected: 1, DeadLettered: 2}})
	env.OnActivity(a.ApplyDeletions, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DeletionsInput) (activities.DeletionsResult, error) {
		if in.Entities[0] != erp.Products {
			return activities.DeletionsResult{}, nil
		}
		return activities.DeletionsResult{Counts: activities.Counts{Deleted: 3}}, nil
	})
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(activities.FinishResult{}, nil)
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Update})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	r.check(t, visibility.Partial, 11, 2)
}

func TestARefusedReconcileReportsRefused(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	r := watchOutcome(env)
	env.OnActivity(a.Reconcile, mock.Anything, mock.Anything).Return(activities.ReconcileResult{Indexed: 100, Orphans: 40,
		Refused: "40 of 100 products documents are not in the ERP (more than 10%): nothing deleted"}, nil)
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Reconcile})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if in := r.check(t, visibility.Refused, 0, 0); !strings.Contains(in.Error, "nothing deleted") {
		t.Fatalf("RunEnded error %q, want the refusal", in.Error)
	}
}

func TestACancelledRunReportsCancelled(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	r := watchOutcome(env)
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(activities.BeginResult{Target: "erpsync-products", Until: t0}, nil)
	env.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(activities.ChunkResult{Counts: activities.Counts{Read: 1, Indexed: 1}}, nil).After(time.Second)
	env.RegisterDelayedCallback(env.CancelWorkflow, 1500*time.Millisecond)
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Update})
	if !temporal.IsCanceledError(env.GetWorkflowError()) {
		t.Fatalf("error %v, want cancelled", env.GetWorkflowError())
	}
	if len(r.ended) != 1 || r.ended[0].Outcome != visibility.Cancelled || r.attrs["outcome"] != visibility.Cancelled {
		t.Fatalf("ended %+v, attributes %v; want cancelled", r.ended, r.attrs)
	}
}

// TestContinueAsNewIsNotAnEnd: only the last run of a continued import reports its end.
func TestContinueAsNewIsNotAnEnd(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Import{})
	r := watchOutcome(env)
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(activities.BeginResult{Target: "erpsync-products", Until: t0.Add(time.Hour)}, nil)
	chunks(t, env, 100)
	env.OnActivity(a.ApplyDeletions, mock.Anything, mock.Anything).Return(activities.DeletionsResult{}, nil)
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(activities.FinishResult{}, nil)
	env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Update, MaxChunksPerRun: 2})
	if !isContinueAsNew(env.GetWorkflowError()) {
		t.Fatalf("error %v, want continue-as-new", env.GetWorkflowError())
	}
	if len(r.ended) != 0 || r.attrs["outcome"] != nil {
		t.Fatalf("a continued run reported its end: %+v %v", r.ended, r.attrs)
	}
}

// productsOnly mocks SyncChunk so that the products answer res and the company-wide entities a
// product import reads first (categories, discounts, activations) read nothing.
func productsOnly(env *testsuite.TestWorkflowEnvironment, res activities.ChunkResult) {
	env.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChunkInput) (activities.ChunkResult, error) {
		if in.Entity != erp.Products {
			return activities.ChunkResult{Done: true}, nil
		}
		return res, nil
	})
}

func isContinueAsNew(err error) bool {
	var can *workflow.ContinueAsNewError
	return errors.As(err, &can)
}
