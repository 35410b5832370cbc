package d365

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

var _ erp.Clock = (*Client)(nil)

// clockMaxAge is how long the time of an answer stands for the ERP's clock before Now asks
// again.
const clockMaxAge = 10 * time.Second

// serverClock is the ERP's clock as its answers' Date headers show it (RFC 9110 §6.6.1: an
// origin server with a clock sends one, in whole seconds, written while it answers). Each answer
// bounds the ERP's time: at the local moment it arrived the ERP's clock read at least its Date,
// and at the moment the request left, less than its Date plus a second. serverClock keeps the
// highest lower bound (as the ERP's time at a local monotonic reference instant), which the
// answers sharpen to within a round trip as their Dates tick over at different moments; an
// answer whose upper bound lies below it means the ERP's clock went back, and it starts again
// from that answer. It is safe for concurrent use.
type serverClock struct {
	mu   sync.Mutex
	base time.Time // the local reference instant (with its monotonic reading)
	at   time.Time // the ERP's time at base, at least; zero before the first Date
	last time.Time // when the latest Date arrived
}

// observe notes the Date header h of an answer to a request sent at sent that arrived at
// arrived (local times, with their monotonic readings).
func (c *serverClock) observe(h string, sent, arrived time.Time) {
	t, err := http.ParseTime(h)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.base.IsZero() {
		c.base = sent
	}
	low := t.Add(-arrived.Sub(c.base))
	high := t.Add(time.Second - sent.Sub(c.base))
	if c.at.IsZero() || !c.at.Before(high) || low.After(c.at) {
		c.at = low
	}
	c.last = arrived
}

// now is the ERP's time now, never ahead of its clock, when a Date arrived within maxAge.
func (c *serverClock) now(maxAge time.Duration) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || time.Since(c.last) > maxAge {
		return time.Time{}, false
	}
	return c.at.Add(time.Since(c.base)).UTC(), true
}

// Now returns the ERP's current time (erp.Clock), from the Date header of an answer of the last
// 10 seconds or of a request made for it. That request is the list of LegalEntities, which a
// partitioned run's plan reads next (Partitions, after its bound is taken from the clock): the
// plan then has it already, and the round of requests that reads the clock is also its first. A
// service that sends no Date header fails as invalid.
func (c *Client) Now(ctx context.Context) (time.Time, error) {
	if t, ok := c.clock.now(clockMaxAge); ok {
		return t, nil
	}
	const op = "read the ERP's clock"
	_, err := c.legalEntities(ctx)
	if t, ok := c.clock.now(clockMaxAge); ok {
		return t, nil // any answer's Date: a list it could not use still carried the time
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	return time.Time{}, failure.E(failure.Invalid, op, errors.New("the service sends no Date header: its clock cannot be read"))
}

// recentList is a list read from the ERP and when: safe for concurrent use.
type recentList struct {
	mu  sync.Mutex
	ids []string
	at  time.Time // when it was read (with its monotonic reading); zero: never
}

func (l *recentList) set(ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids, l.at = ids, time.Now()
}

// get returns a copy of the list when it was read within maxAge.
func (l *recentList) get(maxAge time.Duration) ([]string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at.IsZero() || time.Since(l.at) > maxAge {
		return nil, false
	}
	return slices.Clone(l.ids), true
}
