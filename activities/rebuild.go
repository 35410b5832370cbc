package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
	"github.com/erpsync/erpsync/search"
)

// A rebuild names in the sync state the generation it fills (State.Rebuilding) and its run
// (State.RebuildRun, "<workflow id>/<first run id>"). Whether that run still lives is asked of
// Temporal, the one that knows: a describe of the workflow id's latest run, which must be
// running and belong to the same chain of continue-as-new runs. A lease renewed by the rebuild
// would be the alternative without Temporal, but a paused rebuild renews nothing, and a lease
// that expires while it is paused would hand its generation to the next run; the describe
// has no such window. So:
//
//   - a rebuild refuses to begin while another one of the entity is live (two would overwrite
//     each other's Rebuilding, and the first could then swap in a generation that misses
//     changes the watermark already covers);
//   - the next run that finds a rebuild not live (terminated, failed, timed out) abandons its
//     generation: update runs stop writing to it;
//   - update runs ignore a generation that no longer exists, and abandon it;
//   - a rebuild whose generation was abandoned does not swap it in.

// Runs says whether an import run is live. The worker uses Temporal (through the activity's
// client); tests set a fake.
type Runs interface {
	// Live reports whether the run id ("<workflow id>/<first run id>", the workflow's
	// Checkpoint.RunID) is still running, through continue-as-new.
	Live(ctx context.Context, id string) (bool, error)
}

// temporalRuns asks the Temporal service the activity runs on.
type temporalRuns struct{}

func (temporalRuns) Live(ctx context.Context, id string) (bool, error) {
	wfID, firstRun, _ := strings.Cut(id, "/")
	d, err := activity.GetClient(ctx).DescribeWorkflowExecution(ctx, wfID, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, failure.E(failure.Unavailable, "describe "+wfID, err)
	}
	info := d.GetWorkflowExecutionInfo()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return false, nil
	}
	// The workflow id may have been reused by a later run: it must be the same chain.
	return firstRun == "" || info.GetFirstRunId() == firstRun || info.GetExecution().GetRunId() == firstRun, nil
}

// runs returns how liveness is checked: Import.Runs, else Temporal inside an activity, else
// nothing (every run counts as live).
func (a *Import) runs(ctx context.Context) Runs {
	if a.Runs != nil {
		return a.Runs
	}
	if activity.IsActivity(ctx) {
		return temporalRuns{}
	}
	return nil
}

// rebuildLive reports whether the rebuild named in st is live. A state written before runs
// were recorded, or a question Temporal cannot answer now, counts as live: a generation is
// abandoned only on a definite answer.
func (a *Import) rebuildLive(ctx context.Context, st search.State) bool {
	r := a.runs(ctx)
	if st.Rebuilding == "" || st.RebuildRun == "" || r == nil {
		return st.Rebuilding != ""
	}
	live, err := r.Live(ctx, st.RebuildRun)
	if err != nil {
		a.log(ctx).Warn("cannot tell whether a rebuild is live; taking it for live", zap.String("run", st.RebuildRun), zap.Error(err))
		return true
	}
	return live
}

// abandon stops update runs writing to generation gen of e, if the state still names it.
func (a *Import) abandon(ctx context.Context, e erp.Entity, gen, why string) error {
	_, err := a.updateState(ctx, e, func(st *search.State) error {
		if st.Rebuilding == gen {
			st.Rebuilding, st.RebuildRun = "", ""
		}
		return nil
	})
	if err == nil {
		a.log(ctx).Warn("rebuild abandoned", zap.String("entity", string(e)), zap.String("generation", gen), zap.String("why", why))
	}
	return err
}

// beginRebuild creates the generation a rebuild fills and names it and the run in the state;
// it refuses while another rebuild of e is live and abandons one that is not. A retried begin
// of the same run finds its generation in the state and keeps it.
func (a *Import) beginRebuild(ctx context.Context, e erp.Entity, run string) (string, error) {
	st, err := a.Index.LoadState(ctx, e)
	if err != nil {
		return "", fmt.Errorf("load state of %s: %w", e, err)
	}
	if st.Rebuilding != "" && run != "" && st.RebuildRun == run {
		return st.Rebuilding, nil
	}
	if st.Rebuilding != "" {
		if a.rebuildLive(ctx, st) {
			return "", refuseRebuild(e, st)
		}
		a.log(ctx).Warn("the rebuild named in the state is no longer running: its generation is abandoned",
			zap.String("generation", st.Rebuilding), zap.String("run", st.RebuildRun))
	}
	seen := st.Rebuilding
	gen, err := a.Index.CreateGeneration(ctx, e)
	if err != nil {
		return "", fmt.Errorf("create %s generation: %w", e, err)
	}
	_, err = a.updateState(ctx, e, func(st *search.State) error {
		if st.Rebuilding != seen { // another rebuild began meanwhile
			return refuseRebuild(e, *st)
		}
		st.Rebuilding, st.RebuildRun = gen, run
		return nil
	})
	return gen, err
}

func refuseRebuild(e erp.Entity, st search.State) error {
	return failure.E(failure.Invalid, "begin rebuild", fmt.Errorf("a rebuild of %s is running (%s, filling %s): this one does not begin; run it after that one ends, or cancel that one",
		e, cmp.Or(st.RebuildRun, "run unknown"), st.Rebuilding))
}
