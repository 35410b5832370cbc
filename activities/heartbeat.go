package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// maxHeartbeatInterval is the longest a long activity goes without heartbeating.
const maxHeartbeatInterval = 10 * time.Second

// heartbeat reports an activity's progress to Temporal on a ticker (every third of the
// heartbeat timeout, at most every 10 s) and whenever it moves, so that the heartbeat timeout
// says whether the worker lives, not how long one page takes: one page is a roots request and a
// dozen child requests, each of which may take a minute and several tries under throttling.
// What it reports is the last acknowledged progress, which a retried attempt resumes from.
//
// Outside an activity (tests that call the methods directly) it does nothing. Its methods are
// safe for concurrent use; stop ends the ticker and waits for it.
type heartbeat struct {
	ctx  context.Context
	mu   sync.Mutex
	last any
	done chan struct{}
	wg   sync.WaitGroup
}

// startHeartbeat starts heartbeating details (the progress so far) on the ticker until stop.
func startHeartbeat(ctx context.Context, details any) *heartbeat {
	h := &heartbeat{ctx: ctx, last: details, done: make(chan struct{})}
	if !activity.IsActivity(ctx) {
		return h
	}
	interval := maxHeartbeatInterval
	if t := activity.GetInfo(ctx).HeartbeatTimeout; t > 0 {
		interval = min(interval, t/3)
	}
	// Nothing is sent now: a retried attempt's progress is on the server already, and the SDK
	// sends the first heartbeat of an attempt at once but batches the next ones for most of the
	// timeout, so the first should say something new (the first page, or a tick).
	h.wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				h.mu.Lock()
				d := h.last
				h.mu.Unlock()
				activity.RecordHeartbeat(ctx, d)
			case <-h.done:
				return
			case <-ctx.Done():
				return
			}
		}
	})
	return h
}

// set records new progress and reports it.
func (h *heartbeat) set(details any) {
	h.mu.Lock()
	h.last = details
	h.mu.Unlock()
	if activity.IsActivity(h.ctx) {
		activity.RecordHeartbeat(h.ctx, details)
	}
}

// stop ends the ticker.
func (h *heartbeat) stop() {
	close(h.done)
	h.wg.Wait()
}
