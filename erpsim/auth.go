package erpsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Auth issues and checks OAuth2 bearer tokens (client credentials grant), as Microsoft Entra ID
// does for D365. It is safe for concurrent use.
type Auth struct {
	clientID, clientSecret string
	ttl                    time.Duration
	now                    func() time.Time

	mu     sync.Mutex
	tokens map[string]time.Time // token -> expiry
}

// NewAuth returns an Auth accepting one client. Tokens live for ttl.
func NewAuth(clientID, clientSecret string, ttl time.Duration) *Auth {
	return &Auth{clientID: clientID, clientSecret: clientSecret, ttl: ttl, now: time.Now, tokens: map[string]time.Time{}}
}

// tokenResponse is the OAuth2 token endpoint's answer.
type tokenResponse struct {
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	AccessToken string `json:"access_token"`
}

// ServeHTTP is the token endpoint: POST /oauth2/token with grant_type=client_credentials and the
// client id and secret as form fields or HTTP basic auth.
func (a *Auth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "cannot read the form: "+err.Error())
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials, got "+quoteOrEmpty(gt))
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(a.clientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(a.clientSecret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client id or wrong secret")
		return
	}
	token := a.issue()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(tokenResponse{TokenType: "Bearer", ExpiresIn: int64(a.ttl / time.Second), AccessToken: token})
}

func (a *Auth) issue() string {
	b := make([]byte, 32)
	rand.Read(b)
	token := hex.EncodeToString(b)
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for t, exp := range a.tokens {
		if !now.Before(exp) {
			delete(a.tokens, t)
		}
	}
	a.tokens[token] = now.Add(a.ttl)
	return token
}

// check reports why r is not authorised, or "" if it carries a valid bearer token.
func (a *Auth) check(r *http.Request) string {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return "missing bearer token: get one at POST /oauth2/token"
	}
	a.mu.Lock()
	exp, ok := a.tokens[token]
	a.mu.Unlock()
	if !ok {
		return "invalid bearer token"
	}
	if !a.now().Before(exp) {
		return "the bearer token has expired"
	}
	return ""
}

// Require wraps h so that it answers 401 (an OData error) without a valid bearer token.
func (a *Auth) Require(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg := a.check(r); msg != "" {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "Unauthorized", msg)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func quoteOrEmpty(s string) string {
	if s == "" {
		return "nothing"
	}
	return `"` + s + `"`
}
