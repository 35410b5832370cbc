package activities

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/erpsync/erpsync/failure"
)

func TestTemporalError(t *testing.T) {
	cases := []struct {
		err          error
		nonRetryable bool
		typ          string
		delay        time.Duration
	}{
		{failure.E(failure.Unauthorized, "token", errors.New("invalid_client")), true, "unauthorized", 0},
		{fmt.Errorf("sync chunk: %w", failure.E(failure.Invalid, "read", errors.New("bad filter"))), true, "invalid", 0},
		{&failure.Error{Kind: failure.RateLimited, Op: "read", RetryAfter: 7 * time.Second}, false, "rate limited", 7 * time.Second},
		{failure.E(failure.Unavailable, "read", errors.New("503")), false, "unavailable", 0},
		{failure.E(failure.Refused, "write", errors.New("cluster_block_exception")), false, "refused", 0},
		{errors.New("something else"), false, "other", 0},
	}
	for _, c := range cases {
		var ae *temporal.ApplicationError
		if !errors.As(temporalError(c.err), &ae) {
			t.Fatalf("%v: not an application error", c.err)
		}
		if ae.NonRetryable() != c.nonRetryable || ae.Type() != c.typ || ae.NextRetryDelay() != c.delay {
			t.Errorf("%v: non-retryable %v type %q delay %v; want %v %q %v", c.err, ae.NonRetryable(), ae.Type(), ae.NextRetryDelay(), c.nonRetryable, c.typ, c.delay)
		}
	}
	if temporalError(nil) != nil {
		t.Error("nil must stay nil")
	}
}

func isNonRetryable(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.NonRetryable()
}
