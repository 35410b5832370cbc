// Package failure is erpsync's small error vocabulary: every error that crosses a service
// boundary carries a Kind, decided once where the cause is known (an HTTP status, a bulk item
// result), so that callers decide retries by intent, not by type names.
package failure

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind says what the caller can do about an error.
type Kind uint8

const (
	// Other is an error of no known kind; callers retry it with backoff.
	Other Kind = iota
	// Invalid means the request or the data is wrong; repeating it cannot help.
	Invalid
	// NotFound means the addressed thing does not exist.
	NotFound
	// Unauthorized means the credentials are missing, wrong or lack rights; not retried.
	Unauthorized
	// RateLimited means the service asked us to slow down; retry after RetryAfter.
	RateLimited
	// Unavailable means the service is down, overloaded, timed out or answered garbage;
	// retry with backoff.
	Unavailable
	// Refused means the service refuses the operation for a reason outside the request and
	// its data, which an operator has to lift: a write block on an index, a full disk, a
	// credential that lost a privilege. Retry with backoff, and alert: nothing moves until then.
	Refused
)

var kindNames = [...]string{"other", "invalid", "not found", "unauthorized", "rate limited", "unavailable", "refused"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Permanent reports whether an error of this kind fails the same way on every retry.
func (k Kind) Permanent() bool { return k == Invalid || k == NotFound || k == Unauthorized }

// Error is an error with a Kind. Op names what was being done ("read ReleasedProductsV2").
type Error struct {
	Kind Kind
	Op   string
	// RetryAfter is the delay the service asked for (RateLimited), or zero.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	switch {
	case e.Op != "" && e.Err != nil:
		return fmt.Sprintf("%s: %s: %v", e.Op, e.Kind, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Kind, e.Err)
	default:
		return fmt.Sprintf("%s: %s", e.Op, e.Kind)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// E returns an *Error of kind k for op, wrapping err.
func E(k Kind, op string, err error) *Error { return &Error{Kind: k, Op: op, Err: err} }

// KindOf returns the Kind of the outermost *Error in err's chain, or Other.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}

// RetryAfterOf returns the delay the service asked for, or zero.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// FromStatus maps an HTTP status code to a Kind: 400, 405, 409, 413, 415 and 422 Invalid,
// 401 and 403 Unauthorized, 404 and 410 NotFound, 429 RateLimited, 408 and 5xx Unavailable.
func FromStatus(code int) Kind {
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return Unauthorized
	case code == http.StatusNotFound || code == http.StatusGone:
		return NotFound
	case code == http.StatusTooManyRequests:
		return RateLimited
	case code == http.StatusRequestTimeout || code >= 500:
		return Unavailable
	case code >= 400:
		return Invalid
	default:
		return Other
	}
}
