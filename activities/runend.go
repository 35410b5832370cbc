package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/alert"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/visibility"
)

// RunEndedInput is how an import run ended (not a continue-as-new).
type RunEndedInput struct {
	// Workflow is the workflow type (ProductImport); Task how people name it ("Product import").
	Workflow string       `json:"workflow"`
	Task     string       `json:"task"`
	Mode     Mode         `json:"mode"`
	Entities []erp.Entity `json:"entities"`
	// Outcome is one of visibility's outcomes.
	Outcome string `json:"outcome"`
	// Error is why a failed run failed, or what a refused reconcile refused.
	Error   string    `json:"error,omitempty"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	// Counts are the run's totals over its entities.
	Counts Counts `json:"counts"`
}

// runRecorder is implemented by the worker's metrics (*metrics.Metrics).
type runRecorder interface {
	Run(workflow, mode, outcome string)
	Expired(n int)
}

// deadLetterStore is implemented by *search.Index: dead letters found and deleted by query.
type deadLetterStore interface {
	FindDeadLetters(ctx context.Context, q search.DeadLetterQuery, limit int) ([]search.DeadLetter, error)
	DeleteDeadLetters(ctx context.Context, q search.DeadLetterQuery) (int, error)
	DeadLetterRejections(ctx context.Context, rs []erp.Rejection) error
}

// RunEnded is called once at the end of every import run. It counts the run's outcome in the
// metrics, deletes dead letters older than Settings.DeadLetterMaxAge, and when the run failed,
// ended partial or refused, sends an alert to every channel of Alerts. A retried attempt
// sends only to the channels the earlier attempts did not reach (they are heartbeated), so a
// mail server that is down costs bounded retries and never a second webhook.
func (a *Import) RunEnded(ctx context.Context, in RunEndedInput) error {
	log := a.log(ctx)
	first := !activity.IsActivity(ctx) || activity.GetInfo(ctx).Attempt <= 1
	if r, ok := a.Metrics.(runRecorder); ok && first {
		r.Run(in.Workflow, string(in.Mode), in.Outcome)
	}
	if first {
		a.expireDeadLetters(ctx)
	}
	if in.Outcome == visibility.Success || in.Outcome == visibility.Cancelled {
		return nil
	}
	log.Warn("import did not succeed", zap.String("workflow", in.Workflow), zap.String("mode", string(in.Mode)),
		zap.String("outcome", in.Outcome), zap.String("error", in.Error))
	if !a.Alerts.Enabled() {
		return nil
	}
	al := alert.Alert{Task: in.Task, Workflow: in.Workflow, Mode: string(in.Mode), Outcome: in.Outcome,
		Time: in.Ended, Started: in.Started, Error: in.Error, Written: in.Counts.Indexed + in.Counts.Deleted,
		DeadLettered: in.Counts.DeadLettered}
	for _, e := range in.Entities {
		al.Entities = append(al.Entities, string(e))
	}
	sent := map[string]bool{}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		al.Namespace, al.WorkflowID, al.RunID = info.WorkflowNamespace, info.WorkflowExecution.ID, info.WorkflowExecution.RunID
		if activity.HasHeartbeatDetails(ctx) {
			var before []string
			if err := activity.GetHeartbeatDetails(ctx, &before); err == nil {
				for _, c := range before {
					sent[c] = true
				}
			}
		}
	}
	now, err := a.Alerts.Notify(ctx, al, sent)
	for _, c := range now {
		sent[c] = true
	}
	if activity.IsActivity(ctx) {
		var all []string
		for c := range sent {
			all = append(all, c)
		}
		activity.RecordHeartbeat(ctx, all)
	}
	if err != nil {
		log.Error("alert not sent", zap.Error(err))
		return temporalError(err) // retried (the workflow bounds the attempts)
	}
	log.Info("alert sent", zap.Strings("channels", now), zap.String("workflow_id", al.WorkflowID))
	return nil
}

// expireDeadLetters deletes dead letters older than the settings' age; a failure is logged
// (the next run's end tries again).
func (a *Import) expireDeadLetters(ctx context.Context) {
	dl, ok := a.Index.(deadLetterStore)
	if !ok {
		return
	}
	n, err := dl.DeleteDeadLetters(ctx, search.DeadLetterQuery{Before: a.now().Add(-a.settings().DeadLetterMaxAge)})
	if err != nil {
		a.log(ctx).Warn("expire dead letters", zap.Error(err))
	}
	if n > 0 {
		a.log(ctx).Info("dead letters expired", zap.Int("deleted", n), zap.Duration("max_age", a.settings().DeadLetterMaxAge))
		if r, ok := a.Metrics.(runRecorder); ok {
			r.Expired(n)
		}
	}
}
