// Package shopper is who is shopping: the short-lived signed token (a JWT, RFC 7519) a webshop's
// backend sends the storefront with each request, naming a customer account, a contact person or
// a sales agent (personnel number) and the webshop.
package shopper

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Kind is what a token's subject is.
type Kind string

// The kinds of shopper a token names. A guest sends no token.
const (
	// Customer is a customer account (CustomersV3.CustomerAccount) shopping for itself.
	Customer Kind = "customer"
	// Contact is a contact person (ContactPersonsV2.ContactPersonId): it shops for its own
	// customer only.
	Contact Kind = "contact"
	// Agent is a sales representative (SalesRepresentatives.PersonnelNumber): it shops for one
	// customer of its commission sales groups at a time, which each request names.
	Agent Kind = "agent"
)

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool { return k == Customer || k == Contact || k == Agent }

// Bounds of a token's time claims.
const (
	// MaxLifetime is the longest a token may live: exp at most this after iat.
	MaxLifetime = time.Hour
	// Leeway is the clock skew allowed between the webshop's backend and the storefront.
	Leeway = 30 * time.Second
	// SigningMethod is the only algorithm accepted (HMAC with SHA-256, RFC 7518 §3.2).
	SigningMethod = "HS256"
	// MinSecret is the shortest secret accepted: RFC 7518 §3.2 wants a key at least as long as
	// the hash's output (32 bytes for HS256).
	MinSecret = 32
)

// Identity is who a verified token says is shopping.
type Identity struct {
	Webshop string
	Kind    Kind
	// ID is the account, contact person id or personnel number (the token's subject).
	ID string
	// Expires is the token's exp.
	Expires time.Time
}

// claims are a token's claims: the registered ones (sub, iat, exp) and erpsync's kind and
// webshop.
type claims struct {
	Kind    Kind   `json:"kind"`
	Webshop string `json:"webshop"`
	jwt.RegisteredClaims
}

// Issue returns a token for id of kind in webshop, signed with secret, issued at now and expiring
// ttl later (at most MaxLifetime). It is what a webshop's backend does for its signed-in users;
// the storefront's demo login does it for its demo accounts.
func Issue(secret []byte, webshop string, kind Kind, id string, now time.Time, ttl time.Duration) (string, error) {
	switch {
	case len(secret) < MinSecret:
		return "", fmt.Errorf("issue token: the secret has %d bytes, want at least %d", len(secret), MinSecret)
	case !kind.Valid():
		return "", fmt.Errorf("issue token: kind %q: want customer, contact or agent", kind)
	case id == "" || webshop == "":
		return "", errors.New("issue token: want a subject and a webshop")
	case ttl <= 0 || ttl > MaxLifetime:
		return "", fmt.Errorf("issue token: lifetime %s: want more than 0 and at most %s", ttl, MaxLifetime)
	}
	c := claims{Kind: kind, Webshop: webshop, RegisteredClaims: jwt.RegisteredClaims{
		Subject: id, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	return s, nil
}

// ErrInvalid is wrapped by every error of Verify: the token is not one the storefront accepts.
// The message says why (expired, signed with another secret, an unknown webshop ...).
var ErrInvalid = errors.New("invalid shopper token")

// Verifier checks tokens against each webshop's secret. It is safe for concurrent use.
type Verifier struct {
	secrets map[string][]byte
	now     func() time.Time
}

// NewVerifier returns a Verifier of the webshops' secrets (webshop id -> secret, each at least
// MinSecret bytes) on the clock now (time.Now when nil).
func NewVerifier(secrets map[string][]byte, now func() time.Time) (*Verifier, error) {
	var errs []error
	for id, s := range secrets {
		if len(s) < MinSecret {
			errs = append(errs, fmt.Errorf("webshop %s: the token secret has %d bytes, want at least %d (RFC 7518 §3.2)", id, len(s), MinSecret))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Verifier{secrets: secrets, now: now}, nil
}

// maxToken bounds the length of a token read: a few hundred bytes are enough.
const maxToken = 4096

// Verify checks token (the compact JWS form) and returns who it names: signed with HS256 by the
// secret of the webshop it names, with a subject, a known kind, iat and exp, exp not past and
// iat not ahead (each by more than Leeway) and exp at most MaxLifetime after iat. Errors wrap
// ErrInvalid.
func (v *Verifier) Verify(token string) (Identity, error) {
	if len(token) > maxToken {
		return Identity{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, maxToken)
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		c, _ := t.Claims.(*claims)
		if c == nil || c.Webshop == "" {
			return nil, errors.New("it names no webshop")
		}
		s, ok := v.secrets[c.Webshop]
		if !ok {
			return nil, fmt.Errorf("no webshop %q here", c.Webshop)
		}
		return s, nil
	}, jwt.WithValidMethods([]string{SigningMethod}), jwt.WithLeeway(Leeway), jwt.WithTimeFunc(v.now),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s", ErrInvalid, reason(err))
	}
	switch {
	case c.IssuedAt == nil:
		return Identity{}, fmt.Errorf("%w: no iat (issued at)", ErrInvalid)
	case c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxLifetime:
		return Identity{}, fmt.Errorf("%w: it lives %s, at most %s is accepted", ErrInvalid, c.ExpiresAt.Sub(c.IssuedAt.Time), MaxLifetime)
	case !c.Kind.Valid():
		return Identity{}, fmt.Errorf("%w: kind %q: want customer, contact or agent", ErrInvalid, c.Kind)
	case strings.TrimSpace(c.Subject) == "":
		return Identity{}, fmt.Errorf("%w: no subject (sub)", ErrInvalid)
	}
	return Identity{Webshop: c.Webshop, Kind: c.Kind, ID: c.Subject, Expires: c.ExpiresAt.UTC()}, nil
}

// reason says in a few words why the library refused a token.
func reason(err error) string {
	switch {
	case strings.Contains(err.Error(), "signing method"):
		return "not signed with " + SigningMethod + " (the only signing method accepted)"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return "issued in the future (check the clocks)"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signed with another secret"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "no exp (expiry)"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "not a JWT"
	}
	return err.Error()
}
