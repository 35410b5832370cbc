package workflows

import (
	"context"
	"errors"
	"slices"
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

// besideEnv is a ProductImport rebuild whose company-wide entities take one chunk each, of 20 ms
// of real time, and whose products take 6 chunks; it records the order in which activities
// started and ended.
type besideEnv struct {
	env *testsuite.TestWorkflowEnvironment
	mu  sync.Mutex
	// log is "<activity> <entity> <start|end>", in order.
	log []string
	// failCategories makes the categories' chunk fail for good.
	failCategories bool
	// onChunk, when set, sees the entity of every chunk as it starts.
	onChunk func(erp.Entity)
}

func (b *besideEnv) record(what string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.log = append(b.log, what)
}

// at returns the place of the first what in the log, and whether there is one.
func (b *besideEnv) at(what string) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.Index(b.log, what)
	return i, i >= 0
}

func newBesideEnv(t *testing.T) *besideEnv {
	var s testsuite.WorkflowTestSuite
	b := &besideEnv{env: s.NewTestWorkflowEnvironment()}
	env := b.env
	env.RegisterWorkflow(ProductImport)
	env.RegisterActivity(&activities.Import{})
	env.OnActivity(a.Begin, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BeginInput) (activities.BeginResult, error) {
		return activities.BeginResult{Target: "gen-" + string(in.Entity), Until: t0}, nil
	})
	env.OnActivity(a.SyncChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChunkInput) (activities.ChunkResult, error) {
		b.record("chunk " + string(in.Entity) + " start")
		if b.onChunk != nil {
			b.onChunk(in.Entity)
		}
		defer b.record("chunk " + string(in.Entity) + " end")
		if in.Entity != erp.Products {
			if in.Entity == erp.Categories && b.failCategories {
				return activities.ChunkResult{}, temporal.NewNonRetryableApplicationError("bad category", "invalid", nil)
			}
			time.Sleep(20 * time.Millisecond) // real time: lets the products' chunks start meanwhile
			return activities.ChunkResult{Done: true, Counts: activities.Counts{Pages: 1, Read: 3, Indexed: 3}}, nil
		}
		n := in.After.Modified.Second() + 1
		return activities.ChunkResult{Next: cursorAt(n), Done: n == 6, Counts: activities.Counts{Pages: 1, Read: 10, Indexed: 10}}, nil
	})
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) (activities.FinishResult, error) {
		b.record("finish " + string(in.Entity) + " end")
		return activities.FinishResult{}, nil
	})
	env.OnActivity(a.Abandon, mock.Anything, mock.Anything).Return(nil).Maybe()
	env.OnActivity(a.RunEnded, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RunEndedInput) error {
		if !slices.Equal(in.Entities, []erp.Entity{erp.Categories, erp.LineDiscounts, erp.Activations, erp.Products}) {
			t.Errorf("a run ended reporting %v: only the import's own run reports, with every entity", in.Entities)
		}
		return nil
	}).Maybe()
	return b
}

// TestARebuildReadsTheCompanyWideDataBesideTheProducts: the categories, line discounts and
// activation are rebuilt by a child workflow while the products are read, each swapped in
// before the products are; the result counts them all.
func TestARebuildReadsTheCompanyWideDataBesideTheProducts(t *testing.T) {
	b := newBesideEnv(t)
	b.env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Rebuild})
	var res ImportResult
	if err := b.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	products, _ := b.at("chunk products start")
	for _, e := range []erp.Entity{erp.Categories, erp.LineDiscounts, erp.Activations} {
		done, ok := b.at("finish " + string(e) + " end")
		if !ok {
			t.Fatalf("%s not swapped in: %v", e, b.log)
		}
		if swapped, _ := b.at("finish products end"); done > swapped {
			t.Errorf("%s swapped in after the products: %v", e, b.log)
		}
		if got := res.Of(e).Counts; got.Indexed != 3 {
			t.Errorf("%s: %+v, want 3 indexed", e, got)
		}
	}
	if cats, _ := b.at("chunk categories end"); products > cats {
		t.Errorf("the products' first chunk started after the categories were read, not beside them: %v", b.log)
	}
	if got := res.Of(erp.Products).Counts; got.Indexed != 60 {
		t.Errorf("products: %+v, want 60 indexed", got)
	}
	if res.Outcome != "complete" {
		t.Errorf("outcome %q", res.Outcome)
	}
}

// TestAFailureOfTheCompanyWideDataFailsTheRebuild: the products are read but not swapped in
// when the company-wide data's rebuild fails for good; the error names it.
func TestAFailureOfTheCompanyWideDataFailsTheRebuild(t *testing.T) {
	b := newBesideEnv(t)
	b.failCategories = true
	b.env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Rebuild})
	err := b.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "bad category") {
		t.Fatalf("want the categories' failure, got %v", err)
	}
	if _, swapped := b.at("finish products end"); swapped {
		t.Fatal("the products were swapped in")
	}
}

// TestARebuildContinuesAsNewOnceTheCompanyWideDataIsDone: a run that continues as new waits
// for the child workflow first, so the next run's checkpoint has its counts and knows it done.
func TestARebuildContinuesAsNewOnceTheCompanyWideDataIsDone(t *testing.T) {
	b := newBesideEnv(t)
	b.env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Rebuild, MaxChunksPerRun: 1})
	var can *workflow.ContinueAsNewError
	if err := b.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next ImportInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	cp := next.Checkpoint
	if cp.Beside == nil || !cp.Beside.Done || cp.Entity != 3 || cp.Counts[0].Indexed != 3 || cp.Counts[2].Indexed != 3 {
		t.Fatalf("checkpoint %+v, beside %+v: want the company-wide data done and counted, products in progress", cp, cp.Beside)
	}
}

// TestPauseReachesTheCompanyWideData: a pause sent to the rebuild reaches the child workflow
// that reads the company-wide data: the child stops at its next chunk boundary, so the
// activation, its last entity, is not read until the resume an hour later.
func TestPauseReachesTheCompanyWideData(t *testing.T) {
	b := newBesideEnv(t)
	var started, activations time.Time
	b.env.RegisterDelayedCallback(func() {
		started = b.env.Now()
		b.env.SignalWorkflow(SignalPause, nil)
	}, 0)
	b.env.RegisterDelayedCallback(func() { b.env.SignalWorkflow(SignalResume, nil) }, time.Hour)
	b.onChunk = func(e erp.Entity) {
		if e == erp.Activations && activations.IsZero() {
			activations = b.env.Now()
		}
	}
	b.env.ExecuteWorkflow(ProductImport, ImportInput{Mode: activities.Rebuild})
	if err := b.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if activations.Sub(started) < 59*time.Minute {
		t.Fatalf("the activation was read %s after the pause, want after the resume an hour later", activations.Sub(started))
	}
}
