package workflows

import (
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/visibility"
)

// outcomeChange versions what a run does since it reports its outcome: search attributes at
// its start and end, and the RunEnded activity. Histories recorded before it replay without.
const outcomeChange = "run-outcome"

// Tasks are the imports as people name them (alerts, summaries).
var Tasks = map[string]string{ProductImportName: "Product import", CustomerImportName: "Customer import"}

// announce sets the run's entity and mode search attributes, and reports whether this run
// reports its outcome (false when it replays a history recorded before).
func (r *importRun) announce(ctx workflow.Context) bool {
	if workflow.GetVersion(ctx, outcomeChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false
	}
	entities := make([]string, len(r.entities))
	for i, e := range r.entities {
		entities[i] = string(e)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, visibility.Entity.ValueSet(entities), visibility.Mode.ValueSet(string(r.in.Mode))); err != nil {
		workflow.GetLogger(ctx).Error("set search attributes", "error", err)
	}
	return true
}

// outcomeOf is how a run that returned res and err ended; totals are its counts.
func outcomeOf(res ImportResult, err error, totals activities.Counts) (outcome, why string) {
	if err != nil {
		if temporal.IsCanceledError(err) {
			return visibility.Cancelled, err.Error()
		}
		return visibility.Failed, err.Error()
	}
	var refused []string
	for _, e := range res.Entities {
		if e.Reconcile != nil && e.Reconcile.Refused != "" {
			refused = append(refused, e.Reconcile.Refused)
		}
	}
	if len(refused) > 0 {
		return visibility.Refused, strings.Join(refused, "\n")
	}
	if totals.DeadLettered > 0 {
		return visibility.Partial, "records were dead-lettered: starter dead-letters lists them, starter dead-letters retry re-reads them"
	}
	return visibility.Success, ""
}

// end reports how the run ended, unless it continues as new: the outcome search attributes, and
// RunEnded (metrics, dead-letter expiry, an alert when it did not succeed). It runs on a
// disconnected context, so a cancelled or failed run reports too, and never changes the run's
// result: a report that cannot be sent is logged.
func (r *importRun) end(ctx workflow.Context, res ImportResult, err error) {
	var can *workflow.ContinueAsNewError
	if errors.As(err, &can) {
		return
	}
	var totals activities.Counts
	for _, c := range r.cp.Counts {
		totals = totals.Add(c)
	}
	outcome, why := outcomeOf(res, err, totals)
	if uerr := workflow.UpsertTypedSearchAttributes(ctx, visibility.Outcome.ValueSet(outcome),
		visibility.Written.ValueSet(int64(totals.Indexed+totals.Deleted)), visibility.DeadLettered.ValueSet(int64(totals.DeadLettered))); uerr != nil {
		workflow.GetLogger(ctx).Error("set outcome search attributes", "error", uerr)
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		// An alert tries each channel for at most 15 s, four times: a mail server that is
		// down delays the end of a failed run by about a minute and a half, never more.
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 3 * time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 20 * time.Second, MaximumAttempts: 4},
	})
	in := activities.RunEndedInput{Workflow: r.name, Task: Tasks[r.name], Mode: r.in.Mode, Entities: r.entities,
		Outcome: outcome, Error: why, Started: r.cp.Started, Ended: workflow.Now(ctx), Counts: totals}
	if aerr := workflow.ExecuteActivity(dctx, a.RunEnded, in).Get(dctx, nil); aerr != nil {
		workflow.GetLogger(ctx).Error("report the run's end", "outcome", outcome, "error", aerr)
	}
}
