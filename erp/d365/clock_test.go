package d365

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/erpsync/erpsync/failure"
)

// TestNowIsTheERPsClock: Now reads the ERP's time from the Date header of its answers, not the
// local clock, asks again only when the last answer is older than 10 seconds, and fails as
// invalid when the service sends no Date.
func TestNowIsTheERPsClock(t *testing.T) {
	erpTime := time.Now().Add(-2 * time.Hour).UTC() // an ERP two hours behind
	var requests atomic.Int64
	noDate := false
	h := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if noDate {
			w.Header()["Date"] = nil
		} else {
			w.Header().Set("Date", erpTime.Format(http.TimeFormat))
		}
		io.WriteString(w, `{"value":[{"LegalEntityId":"usmf"}]}`)
	})
	c := h.client(t, nil)
	got, err := c.Now(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Sub(erpTime.Truncate(time.Second)); d < 0 || d > time.Second {
		t.Fatalf("Now = %s, want the ERP's %s (not the local %s)", got, erpTime, time.Now().UTC())
	}
	if _, err := c.Now(context.Background()); err != nil || requests.Load() != 1 {
		t.Fatalf("a second Now: %v after %d requests, want the first answer's time reused", err, requests.Load())
	}
	noDate = true
	c2 := h.client(t, nil)
	if _, err := c2.Now(context.Background()); failure.KindOf(err) != failure.Invalid {
		t.Fatalf("no Date header: %v, want invalid", err)
	}
}

// TestServerClockSharpensAndFollowsJumps: answers whose whole-second Dates tick over at
// different moments bring the estimate within a round trip of the ERP's clock, never ahead of
// it; when the ERP's clock goes back, the estimate follows.
func TestServerClockSharpensAndFollowsJumps(t *testing.T) {
	start := time.Now()
	offset := -2*time.Minute + 370*time.Millisecond // the ERP's clock minus the local one
	erpAt := func(local time.Time) time.Time { return local.Add(offset).UTC() }
	var c serverClock
	check := func(when string, within time.Duration) {
		t.Helper()
		// The estimate at a local instant, against the ERP's clock then.
		local := time.Now()
		got, ok := c.now(time.Hour)
		truth := erpAt(local)
		if !ok || got.After(erpAt(time.Now())) || truth.Sub(got) > within {
			t.Fatalf("%s: estimate %s, ERP %s (behind by %s, want less than %s, never ahead)", when, got, truth, truth.Sub(got), within)
		}
	}
	// Requests every 130 ms, 20 ms each way: the ERP writes its Date halfway.
	for i := range 12 {
		sent := start.Add(time.Duration(i) * 130 * time.Millisecond)
		c.observe(erpAt(sent.Add(20*time.Millisecond)).Format(http.TimeFormat), sent, sent.Add(40*time.Millisecond))
		if i == 0 {
			check("after one answer", time.Second+40*time.Millisecond)
		}
	}
	check("after a dozen answers", 150*time.Millisecond)
	// The ERP's clock is set back five minutes.
	offset -= 5 * time.Minute
	sent := start.Add(2 * time.Second)
	c.observe(erpAt(sent.Add(20*time.Millisecond)).Format(http.TimeFormat), sent, sent.Add(40*time.Millisecond))
	check("after the ERP's clock went back", time.Second+40*time.Millisecond)
}
