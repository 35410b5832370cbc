package storefront

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/netip"
	"sync"
	"time"
)

// SessionCookie is the cookie POST /api/login sets: a random session id that the storefront
// holds in memory until it expires, never the API key itself.
const SessionCookie = "session"

// DefaultSessionTTL is how long a login of the demo page lasts when Config.SessionTTL is zero.
const DefaultSessionTTL = 12 * time.Hour

// maxSessions bounds the sessions held; past it a login ends the session closest to expiry.
const maxSessions = 10_000

// sessions are the demo page's logins: random ids with their expiry, in memory (a restart logs
// everyone out). Safe for concurrent use.
type sessions struct {
	mu   sync.Mutex
	ttl  time.Duration
	now  func() time.Time
	byID map[string]time.Time // id -> expiry
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, byID: map[string]time.Time{}}
}

// create starts a session and returns its id: 32 random bytes, URL-safe base64.
func (s *sessions) create() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	id := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.byID) >= maxSessions {
		var oldest string
		for k, exp := range s.byID {
			if !exp.After(now) {
				delete(s.byID, k)
			} else if oldest == "" || exp.Before(s.byID[oldest]) {
				oldest = k
			}
		}
		if len(s.byID) >= maxSessions {
			delete(s.byID, oldest)
		}
	}
	s.byID[id] = now.Add(s.ttl)
	return id
}

// valid reports whether id is a session that has not expired.
func (s *sessions) valid(id string) bool {
	if id == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.byID[id]
	if ok && !exp.After(s.now()) {
		delete(s.byID, id)
		return false
	}
	return ok
}

// remove ends session id.
func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// KeyLimits bound the wrong API keys the storefront checks, at the login and in X-Api-Key
// headers alike: PerAddress from one client address and Global from all addresses together,
// each per Window (token buckets: a full bucket allows a burst of that many, then one more
// every Window/limit). Past a limit, key checks are answered 429 without looking at the key.
// Sessions already open are never limited.
type KeyLimits struct {
	PerAddress, Global int
	Window             time.Duration
}

// DefaultKeyLimits are the limits when Config.KeyLimits is zero: 10 wrong keys a minute from
// one address, 100 a minute from all.
func DefaultKeyLimits() KeyLimits { return KeyLimits{PerAddress: 10, Global: 100, Window: time.Minute} }

// maxAddresses bounds the client addresses a throttle remembers; past it, addresses it does
// not know share one bucket.
const maxAddresses = 100_000

// throttle counts wrong keys per client address and overall. When the global bucket is empty
// an address that failed recently is refused, while one with a clean record still gets its
// check: a guessing attack spread over many addresses gets one guess per address, and clients
// that never failed are not locked out. Safe for concurrent use.
type throttle struct {
	mu     sync.Mutex
	limits KeyLimits
	now    func() time.Time
	all    bucket
	addrs  map[string]*bucket
}

// bucket holds the wrong keys still allowed (tokens) as of at; refused counts the checks
// refused since the last one allowed.
type bucket struct {
	tokens  float64
	at      time.Time
	refused int
}

func newThrottle(l KeyLimits, now func() time.Time) *throttle {
	return &throttle{limits: l, now: now, all: bucket{tokens: float64(l.Global), at: now()}, addrs: map[string]*bucket{}}
}

// refill adds the tokens earned since b.at, up to limit.
func (b *bucket) refill(now time.Time, limit int, window time.Duration) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(limit), b.tokens+float64(limit)*d.Seconds()/window.Seconds())
	}
	b.at = now
}

// wait is how long until b holds one token.
func (b *bucket) wait(limit int, window time.Duration) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(window) / float64(limit))
}

// bucketOf returns addr's bucket, refilled; nil when addr has none (a clean record).
func (t *throttle) bucketOf(addr string, now time.Time) *bucket {
	b := t.addrs[addr]
	if b == nil {
		if len(t.addrs) < maxAddresses {
			return nil
		}
		if b = t.addrs[""]; b == nil {
			return nil
		}
	}
	b.refill(now, t.limits.PerAddress, t.limits.Window)
	return b
}

// allow reports whether a key from addr may be checked now; if not, after how long to retry,
// and whether this is the first refusal since the last allowed check (worth a log line).
func (t *throttle) allow(addr string) (ok bool, retry time.Duration, first bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.all.refill(now, t.limits.Global, t.limits.Window)
	b := t.bucketOf(addr, now)
	switch {
	case b != nil && b.tokens < 1:
		retry = b.wait(t.limits.PerAddress, t.limits.Window)
	case t.all.tokens < 1 && b != nil && b.tokens < float64(t.limits.PerAddress):
		retry = t.all.wait(t.limits.Global, t.limits.Window)
	default:
		if b != nil {
			b.refused = 0
		}
		return true, 0, false
	}
	b.refused++
	return false, max(retry, time.Second), b.refused == 1
}

// fail records a wrong key from addr.
func (t *throttle) fail(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.all.refill(now, t.limits.Global, t.limits.Window)
	t.all.tokens = max(0, t.all.tokens-1)
	b := t.bucketOf(addr, now)
	if b == nil {
		if len(t.addrs) >= maxAddresses {
			t.sweep(now)
		}
		key := addr
		if len(t.addrs) >= maxAddresses {
			key = ""
		}
		b = &bucket{tokens: float64(t.limits.PerAddress), at: now}
		t.addrs[key] = b
	}
	b.tokens = max(0, b.tokens-1)
}

// sweep forgets the addresses whose buckets have filled up again.
func (t *throttle) sweep(now time.Time) {
	for k, b := range t.addrs {
		if b.refill(now, t.limits.PerAddress, t.limits.Window); b.tokens >= float64(t.limits.PerAddress) {
			delete(t.addrs, k)
		}
	}
}

// clientAddress is the throttle's key of a request's remote address: the IP, or for IPv6 its
// /64 network (one host usually holds a whole /64).
func clientAddress(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
