package erpsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Duration is a time.Duration written in JSON as a Go duration string ("250ms", "2s").
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler; it accepts a duration string or a number of
// nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("duration must be a string like \"250ms\"")
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Faults is what goes wrong on purpose. The zero value injects nothing. Shares are fractions
// of requests in [0, 1]; ErrorShare, RateLimitShare and TruncateShare are drawn from one roll,
// so together they should not exceed 1.
type Faults struct {
	// Latency is added to every /data request.
	Latency Duration `json:"latency"`
	// ErrorShare of /data requests get 500 or 503 (half each).
	ErrorShare float64 `json:"error_share"`
	// RateLimitShare of /data requests get 429 with Retry-After: RetryAfter (rounded up to seconds).
	RateLimitShare float64  `json:"rate_limit_share"`
	RetryAfter     Duration `json:"retry_after"`
	// TruncateShare of /data responses are cut in half: the client sees a short body.
	TruncateShare float64 `json:"truncate_share"`
	// OversizeNext successful /data answers are padded with trailing whitespace (still valid
	// JSON) to at least OversizeBytes (default 80 MiB, above the connector's default bound):
	// a broken proxy or a hostile endpoint. The count goes down with each one sent.
	OversizeNext  int `json:"oversize_next"`
	OversizeBytes int `json:"oversize_bytes"`
	// ClockSkew is added to the wall clock when stamping ModifiedDateTime, and to the Date
	// header of /data answers: the simulator's whole clock is off, as a real ERP's would be.
	ClockSkew Duration `json:"clock_skew"`
	// LateCommitShare of the change driver's changes are stamped when they start but committed
	// LateCommitDelay later, as a long ERP transaction: readers see past stamps appear late.
	LateCommitShare float64  `json:"late_commit_share"`
	LateCommitDelay Duration `json:"late_commit_delay"`
}

// Validate reports settings out of range.
func (f Faults) Validate() error {
	for name, v := range map[string]float64{"error_share": f.ErrorShare, "rate_limit_share": f.RateLimitShare,
		"truncate_share": f.TruncateShare, "late_commit_share": f.LateCommitShare} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s must be within [0, 1], got %v", name, v)
		}
	}
	if s := f.ErrorShare + f.RateLimitShare + f.TruncateShare; s > 1 {
		return fmt.Errorf("error_share + rate_limit_share + truncate_share must not exceed 1, got %v", s)
	}
	if f.OversizeNext < 0 || f.OversizeBytes < 0 {
		return fmt.Errorf("oversize_next and oversize_bytes must not be negative")
	}
	for name, d := range map[string]Duration{"latency": f.Latency, "retry_after": f.RetryAfter, "late_commit_delay": f.LateCommitDelay} {
		if d < 0 {
			return fmt.Errorf("%s must not be negative", name)
		}
	}
	return nil
}

// faultInjector holds the current Faults; safe for concurrent use.
type faultInjector struct {
	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	onSet  func(Faults)
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.faults
}

func (fi *faultInjector) set(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	fi.mu.Lock()
	fi.faults = f
	fi.mu.Unlock()
	if fi.onSet != nil {
		fi.onSet(f)
	}
	return nil
}

// takeOversize returns the size to pad the next answer to, counting it off OversizeNext, or 0.
func (fi *faultInjector) takeOversize() int {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	if fi.faults.OversizeNext <= 0 {
		return 0
	}
	fi.faults.OversizeNext--
	if fi.faults.OversizeBytes > 0 {
		return fi.faults.OversizeBytes
	}
	return defaultOversizeBytes
}

// defaultOversizeBytes is what an oversized answer is padded to by default.
const defaultOversizeBytes = 80 << 20

func (fi *faultInjector) roll() float64 {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.rng.Float64()
}

// wrap injects the request faults into h.
func (fi *faultInjector) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := fi.get()
		if f.ClockSkew != 0 {
			w.Header().Set("Date", time.Now().Add(time.Duration(f.ClockSkew)).UTC().Format(http.TimeFormat))
		}
		if f.Latency > 0 {
			select {
			case <-time.After(time.Duration(f.Latency)):
			case <-r.Context().Done():
				return
			}
		}
		p := fi.roll()
		switch {
		case p < f.ErrorShare:
			if p < f.ErrorShare/2 {
				writeError(w, http.StatusInternalServerError, "InternalServerError", "injected fault: internal server error")
			} else {
				writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "injected fault: service unavailable")
			}
			return
		case p < f.ErrorShare+f.RateLimitShare:
			secs := int((time.Duration(f.RetryAfter) + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			writeError(w, http.StatusTooManyRequests, "TooManyRequests", "injected fault: too many requests")
			return
		case p < f.ErrorShare+f.RateLimitShare+f.TruncateShare:
			rec := &recorder{header: http.Header{}, status: http.StatusOK}
			h.ServeHTTP(rec, r)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			body := rec.body.Bytes()
			// Declare the whole length, send half: the server then drops the connection.
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.status)
			w.Write(body[:len(body)/2])
			return
		}
		if size := fi.takeOversize(); size > 0 {
			rec := &recorder{header: http.Header{}, status: http.StatusOK}
			h.ServeHTTP(rec, r)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.status)
			if _, err := w.Write(rec.body.Bytes()); err != nil {
				return
			}
			// Streamed, not built: the simulator's memory stays small; the client may hang up.
			pad := bytes.Repeat([]byte(" "), 64<<10)
			for left := size - rec.body.Len(); left > 0; left -= len(pad) {
				if _, err := w.Write(pad[:min(left, len(pad))]); err != nil {
					return
				}
			}
			return
		}
		h.ServeHTTP(w, r)
	})
}

// recorder buffers a response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }
