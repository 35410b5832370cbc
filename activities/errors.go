package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/erpsync/erpsync/failure"
)

// temporalError maps an activity's error to Temporal in one place: permanent kinds
// (unauthorized, invalid, not found) are not retried; a rate limit is retried after the delay
// the service asked for; everything else is retried with the activity's backoff. The error type
// is the kind's name, so the UI and the workflow see why.
func temporalError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err // Temporal reports the cancellation itself
	}
	k := failure.KindOf(err)
	switch {
	case k.Permanent():
		return temporal.NewNonRetryableApplicationError(err.Error(), k.String(), err)
	case k == failure.RateLimited && failure.RetryAfterOf(err) > 0:
		return temporal.NewApplicationErrorWithOptions(err.Error(), k.String(), temporal.ApplicationErrorOptions{
			NextRetryDelay: failure.RetryAfterOf(err),
			Cause:          err,
		})
	default:
		return temporal.NewApplicationErrorWithCause(err.Error(), k.String(), err)
	}
}
