package shopper

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	secretA = []byte("0123456789abcdef0123456789abcdef-a")
	secretB = []byte("0123456789abcdef0123456789abcdef-b")
	t0      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func verifier(t *testing.T, now time.Time) *Verifier {
	t.Helper()
	v, err := NewVerifier(map[string][]byte{"usmf": secretA, "demf": secretB}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sign makes a token with any claims and method, as a careless or hostile issuer would.
func sign(t *testing.T, m jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIssueAndVerify(t *testing.T) {
	tok, err := Issue(secretA, "usmf", Agent, "000001", t0, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	id, err := verifier(t, t0.Add(time.Minute)).Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Identity{Webshop: "usmf", Kind: Agent, ID: "000001", Expires: t0.Add(15 * time.Minute)}); id != want {
		t.Errorf("identity %+v, want %+v", id, want)
	}
	// Within the leeway after exp it still holds; past it, not.
	if _, err := verifier(t, t0.Add(15*time.Minute+Leeway-time.Second)).Verify(tok); err != nil {
		t.Errorf("%s after expiry (leeway %s): %v", Leeway-time.Second, Leeway, err)
	}
	if _, err := verifier(t, t0.Add(15*time.Minute+Leeway+time.Second)).Verify(tok); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("past expiry and leeway: %v, want expired", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	now := t0
	claims := func(over map[string]any) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "US-001", "kind": "customer", "webshop": "usmf", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		for k, v := range over {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	good := sign(t, jwt.SigningMethodHS256, secretA, claims(nil))
	if _, err := verifier(t, now).Verify(good); err != nil {
		t.Fatalf("a good token: %v", err)
	}
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil))
	for _, tc := range []struct{ name, token, why string }{
		{"another webshop's secret", sign(t, jwt.SigningMethodHS256, secretB, claims(nil)), "another secret"},
		{"the other webshop named with this one's secret", sign(t, jwt.SigningMethodHS256, secretA, claims(map[string]any{"webshop": "demf"})), "another secret"},
		{"an unknown webshop", sign(t, jwt.SigningMethodHS256, secretA, claims(map[string]any{"webshop": "nowhere"})), `no webshop "nowhere"`},
		{"no webshop", sign(t, jwt.SigningMethodHS256, secretA, claims(map[string]any{"webshop": nil})), "names no webshop"},
		{"alg none", none, "signing method accepted"},
		{"HS512", sign(t, jwt.SigningMethodHS512, secretA, claims(nil)), "signing method accepted"},
		{"no exp", sign(t, jwt.SigningMethodHS256, secretA, claims(map[string]any{"exp": nil})), "no exp"},
		{"no iat", sign(t, jwt.SigningMethodHS256, secretA, claims(map[string]any{"iat": nil})), "no iat"},
		{"issued in the future", sign(t, jwt.SigningMethodHS256, secretA, claims(map[string]any{"iat": now.Add(2 * Leeway).Unix()})), "future"},
		{"lives too long", sign(t, jwt.SigningMethodHS256, secretA, claims(map[string]any{"exp": now.Add(MaxLifetime + time.Minute).Unix()})), "at most"},
		{"expired", sign(t, jwt.SigningMethodHS256, secretA, claims(map[string]any{"iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-time.Minute).Unix()})), "expired"},
		{"unknown kind", sign(t, jwt.SigningMethodHS256, secretA, claims(map[string]any{"kind": "admin"})), "kind"},
		{"no subject", sign(t, jwt.SigningMethodHS256, secretA, claims(map[string]any{"sub": nil})), "no subject"},
		{"garbage", "not.a.token", "not a JWT"},
		{"too long", good + strings.Repeat("x", maxToken), "longer than"},
		{"a changed payload", tamper(t, good), "another secret"},
	} {
		_, err := verifier(t, now).Verify(tc.token)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v, want an invalid token because %q", tc.name, err, tc.why)
		}
	}
}

// tamper replaces the subject in a token's payload, keeping its signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	p, err := jwt.NewParser().DecodeSegment(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(p), "US-001", "US-002", 1)
	parts[1] = (&jwt.Token{}).EncodeSegment([]byte(changed))
	return strings.Join(parts, ".")
}

func TestIssueAndNewVerifierCheckTheirInput(t *testing.T) {
	for name, f := range map[string]func() error{
		"short secret": func() error {
			_, err := Issue([]byte("short"), "usmf", Customer, "US-001", t0, time.Minute)
			return err
		},
		"unknown kind": func() error { _, err := Issue(secretA, "usmf", "guest", "US-001", t0, time.Minute); return err },
		"no subject":   func() error { _, err := Issue(secretA, "usmf", Customer, "", t0, time.Minute); return err },
		"too long":     func() error { _, err := Issue(secretA, "usmf", Customer, "US-001", t0, 2*time.Hour); return err },
		"short secret of a webshop": func() error {
			_, err := NewVerifier(map[string][]byte{"usmf": []byte("short")}, nil)
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
