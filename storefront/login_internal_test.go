package storefront

import (
	"fmt"
	"testing"
	"time"
)

// TestThrottleGlobal: wrong keys spread over many addresses. Once the global budget is spent, an
// address that failed before gets no further check, a clean one still gets one; the budget
// comes back with time.
func TestThrottleGlobal(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newThrottle(KeyLimits{PerAddress: 10, Global: 100, Window: time.Minute}, func() time.Time { return now })
	checked := 0
	for i := range 1000 { // 1,000 addresses, 5 guesses each
		addr := fmt.Sprintf("10.0.%d.%d", i/256, i%256)
		for range 5 {
			if ok, _, _ := th.allow(addr); ok {
				checked++
				th.fail(addr)
			}
		}
	}
	// 100 guesses from the budget (20 addresses x 5), then one per fresh address.
	if want := 100 + 980; checked != want {
		t.Errorf("%d keys checked from 1,000 addresses, want %d", checked, want)
	}
	if ok, _, _ := th.allow("10.9.9.9"); !ok {
		t.Error("an address without a wrong key is refused while the budget is spent")
	}
	if ok, retry, _ := th.allow("10.0.0.1"); ok || retry < time.Second || retry > time.Minute {
		t.Errorf("an address with wrong keys while the budget is spent: allowed %v, retry %s", ok, retry)
	}
	now = now.Add(time.Minute)
	if ok, _, _ := th.allow("10.0.0.1"); !ok {
		t.Error("a minute later the address is still refused")
	}
}

// TestThrottlePerAddress: 10 wrong keys, then refusals until the bucket refills (one per 6 s);
// one IPv6 host cannot escape by changing the last 64 bits.
func TestThrottlePerAddress(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newThrottle(DefaultKeyLimits(), func() time.Time { return now })
	n := 0
	for i := range 50 {
		addr := clientAddress(fmt.Sprintf("[2001:db8:1:2::%x]:%d", i, 40000+i))
		ok, retry, first := th.allow(addr)
		if ok {
			n++
			th.fail(addr)
			continue
		}
		if first != (n == 10 && i == 10) || retry != 6*time.Second {
			t.Errorf("refusal %d: first %v, retry %s", i, first, retry)
		}
	}
	if n != 10 {
		t.Errorf("%d wrong keys checked from one /64, want 10", n)
	}
	now = now.Add(6 * time.Second)
	if ok, _, _ := th.allow(clientAddress("[2001:db8:1:2::ffff]:1")); !ok {
		t.Error("6 s later one more check is not allowed")
	}
	for in, want := range map[string]string{"127.0.0.1:5000": "127.0.0.1", "[::ffff:10.1.2.3]:80": "10.1.2.3", "[2001:db8::1]:443": "2001:db8::/64", "junk": "junk"} {
		if got := clientAddress(in); got != want {
			t.Errorf("clientAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSessionsBounded: sessions expire, and past maxSessions a login ends the oldest.
func TestSessionsBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSessions(time.Hour, func() time.Time { return now })
	first := s.create()
	for range maxSessions {
		now = now.Add(time.Millisecond)
		s.create()
	}
	if s.valid(first) || len(s.byID) != maxSessions {
		t.Errorf("after %d more logins: first valid %v, %d sessions held", maxSessions, s.valid(first), len(s.byID))
	}
	last := s.create()
	now = now.Add(time.Hour)
	if s.valid(last) {
		t.Error("a session outlived its hour")
	}
}
