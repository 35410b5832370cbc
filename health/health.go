// Package health answers the worker's probes: /healthz while the process serves HTTP, /readyz
// while every readiness condition holds (the Temporal worker started, Elasticsearch answered
// recently).
package health

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Ready holds named readiness conditions. A condition is either a latch (Set once it holds,
// e.g. "the worker started") or fresh (it holds while its last OK is at most MaxAge old, e.g.
// "Elasticsearch answered"). The zero value is not usable: create it with NewReady. Its
// methods are safe for concurrent use.
type Ready struct {
	now   func() time.Time
	mu    sync.Mutex
	conds map[string]*cond
}

type cond struct {
	maxAge time.Duration // 0: a latch
	ok     time.Time     // last time it held; zero: never
	down   bool          // a latch taken down again
	err    string        // the last failure
}

// NewReady returns readiness with no condition (ready). now is the clock (time.Now when nil).
func NewReady(now func() time.Time) *Ready {
	if now == nil {
		now = time.Now
	}
	return &Ready{now: now, conds: map[string]*cond{}}
}

// Require adds condition name, not holding until OK is called. maxAge 0 makes it a latch that
// holds from OK until Fail; otherwise it holds for maxAge after each OK.
func (r *Ready) Require(name string, maxAge time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conds[name] = &cond{maxAge: maxAge}
}

// OK records that condition name holds now.
func (r *Ready) OK(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.conds[name]; ok {
		c.ok, c.down, c.err = r.now(), false, ""
	}
}

// Fail records why condition name does not hold. A fresh condition keeps holding until its
// last OK is older than its MaxAge (one failed check is not an outage); a latch falls at once.
func (r *Ready) Fail(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.conds[name]; ok {
		c.err = err.Error()
		if c.maxAge == 0 {
			c.down = true
		}
	}
}

// Check returns the conditions that do not hold, each with why, in name order; none when ready.
func (r *Ready) Check() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var out []string
	for name, c := range r.conds {
		var why string
		switch {
		case c.ok.IsZero():
			why = "not yet"
		case c.maxAge == 0 && c.down:
			why = "down"
		case c.maxAge > 0 && now.Sub(c.ok) > c.maxAge:
			why = fmt.Sprintf("last ok %s ago", now.Sub(c.ok).Round(time.Second))
		default:
			continue
		}
		if c.err != "" {
			why += ": " + c.err
		}
		out = append(out, name+": "+why)
	}
	sort.Strings(out)
	return out
}

// Handler serves /healthz (200 while the process answers) and /readyz (200 when every
// condition holds, else 503 with the ones that do not), and passes every other path to next
// (the metrics).
func Handler(r *Ready, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if bad := r.Check(); len(bad) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready")
			fmt.Fprintln(w, strings.Join(bad, "\n"))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/", next)
	return mux
}
