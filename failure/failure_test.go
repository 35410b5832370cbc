package failure

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestFromStatus(t *testing.T) {
	for code, want := range map[int]Kind{
		400: Invalid, 401: Unauthorized, 403: Unauthorized, 404: NotFound, 408: Unavailable,
		409: Invalid, 429: RateLimited, 500: Unavailable, 502: Unavailable, 503: Unavailable, 504: Unavailable,
	} {
		if got := FromStatus(code); got != want {
			t.Errorf("FromStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestKindSurvivesWrapping(t *testing.T) {
	base := &Error{Kind: RateLimited, Op: "read ReleasedProductsV2", RetryAfter: 3 * time.Second, Err: errors.New("429 Too Many Requests")}
	wrapped := fmt.Errorf("sync chunk: %w", fmt.Errorf("fetch products page: %w", base))
	if KindOf(wrapped) != RateLimited || RetryAfterOf(wrapped) != 3*time.Second {
		t.Fatalf("KindOf = %v, RetryAfterOf = %v", KindOf(wrapped), RetryAfterOf(wrapped))
	}
	if KindOf(errors.New("plain")) != Other {
		t.Fatal("a plain error must be Other")
	}
	if !Unauthorized.Permanent() || RateLimited.Permanent() || Unavailable.Permanent() {
		t.Fatal("Permanent disagrees with the kinds' meaning")
	}
	want := "read ReleasedProductsV2: rate limited: 429 Too Many Requests"
	if base.Error() != want {
		t.Fatalf("Error() = %q, want %q", base.Error(), want)
	}
}
