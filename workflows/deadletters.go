package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/erpsync/erpsync/activities"
)

// DeadLetterRetryName is the workflow type of a retry of dead letters; DeadLetterRetryID the ID
// `starter dead-letters retry` starts it with (one at a time).
const (
	DeadLetterRetryName = "DeadLetterRetry"
	DeadLetterRetryID   = "dead-letter-retry"
)

// DeadLetterRetry re-reads the records of dead letters from the ERP and writes them (the
// Redrive activity): after the ERP's data was fixed, the records reach the index without
// waiting for their next change or a rebuild.
func DeadLetterRetry(ctx workflow.Context, in activities.RedriveInput) (activities.RedriveResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Minute,
		ScheduleToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy:            retry,
	})
	var res activities.RedriveResult
	err := workflow.ExecuteActivity(ctx, a.Redrive, in).Get(ctx, &res)
	return res, err
}
