// Package storefront is the webshop's side of erpsync: a JSON API over the search index (search
// with facets, autocomplete, product detail, the price a customer pays) and a demo shop page.
package storefront

import (
	"cmp"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/search"
)

// DefaultAPIKey is the development API key (STOREFRONT_API_KEY overrides it in cmd/storefront).
const DefaultAPIKey = "erpsync-dev-key"

// DefaultCompany is the shop's company when Config.DefaultCompany is empty.
const DefaultCompany = "usmf"

//go:embed web
var webFS embed.FS

// Config configures a Server. ES and APIKey are required; zero fields take the defaults named
// on them.
type Config struct {
	// ES is the Elasticsearch client; the storefront only reads.
	ES *elasticsearch.Client
	// Prefix is the index prefix (search.DefaultPrefix when "").
	Prefix string
	// APIKey guards every /api/ endpoint: a request carries it in the X-Api-Key header, or the
	// SessionCookie of a login (POST /api/login with the key).
	APIKey string
	// DefaultCompany is the company when a request names none (DefaultCompany).
	DefaultCompany string
	// Languages are the language codes the product documents carry
	// (document.DefaultLanguages()).
	Languages []string
	// CompanyLanguages maps a company to its own language code ("demf": "de"); a company not in
	// it is looked up in the index once.
	CompanyLanguages map[string]string
	// CustomerList enables GET /api/customers (account numbers and names only), for the demo
	// page's customer picker. Off by default: a production webshop logs its customers in itself.
	CustomerList bool
	// ShowUncategorized shows products that have no category at all. By default a product is
	// shown only when one of its categories is visible in the webshop.
	ShowUncategorized bool
	// CompanyDataTTL is how long a company's categories (with their visibility) and trade
	// agreement activation are kept before they are read again (DefaultCompanyDataTTL): the
	// longest a change to them takes to show, after the import wrote it.
	CompanyDataTTL time.Duration
	// PlainHTTP sends the session cookie without Secure, for a demo page served over plain http
	// (make dev). Leave it false wherever the storefront is reached over https, directly or
	// through a TLS-terminating proxy: a Secure cookie never travels in clear text.
	PlainHTTP bool
	// SessionTTL is how long a login lasts (DefaultSessionTTL).
	SessionTTL time.Duration
	// KeyLimits bound wrong API keys (DefaultKeyLimits()).
	KeyLimits KeyLimits
	// Log receives one line per request and errors (zap.NewNop() when nil).
	Log *zap.Logger
	// Now is the clock for "today" (time.Now when nil).
	Now func() time.Time
}

// Server is the storefront: an http.Handler serving the JSON API under /api/ and the demo page
// at /. Create it with New; it is safe for concurrent use.
type Server struct {
	cfg           Config
	es            *elasticsearch.Client
	products      string
	customers     string
	categories    string
	lineDiscounts string
	activations   string
	log           *zap.Logger
	mux           *http.ServeMux
	companies     *companyCache

	// languages caches each company's own language code, looked up in the index.
	languages sync.Map
	sessions  *sessions
	throttle  *throttle
}

// New returns a Server over cfg. It does not contact Elasticsearch.
func New(cfg Config) (*Server, error) {
	var errs []error
	if cfg.ES == nil {
		errs = append(errs, errors.New("storefront: no Elasticsearch client"))
	}
	if cfg.APIKey == "" {
		errs = append(errs, errors.New("storefront: empty API key"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg.DefaultCompany = strings.ToLower(cmp.Or(cfg.DefaultCompany, DefaultCompany))
	if len(cfg.Languages) == 0 {
		cfg.Languages = document.DefaultLanguages()
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.SessionTTL = cmp.Or(cfg.SessionTTL, DefaultSessionTTL)
	cfg.CompanyDataTTL = cmp.Or(cfg.CompanyDataTTL, DefaultCompanyDataTTL)
	if cfg.KeyLimits == (KeyLimits{}) {
		cfg.KeyLimits = DefaultKeyLimits()
	}
	if l := cfg.KeyLimits; l.PerAddress < 1 || l.Global < 1 || l.Window <= 0 {
		return nil, fmt.Errorf("storefront: key limits %+v: want positive limits and window", l)
	}
	idx := search.New(cfg.ES, cfg.Prefix)
	s := &Server{cfg: cfg, es: cfg.ES, products: idx.Alias(erp.Products), customers: idx.Alias(erp.Customers),
		categories: idx.Alias(erp.Categories), lineDiscounts: idx.Alias(erp.LineDiscounts), activations: idx.Alias(erp.Activations), log: cfg.Log,
		sessions: newSessions(cfg.SessionTTL, cfg.Now), throttle: newThrottle(cfg.KeyLimits, cfg.Now), companies: newCompanyCache(cfg.CompanyDataTTL, cfg.Now)}
	for c, l := range cfg.CompanyLanguages {
		s.languages.Store(strings.ToLower(c), document.Language(l))
	}

	static, err := fs.Sub(webFS, "web")
	if err != nil {
		return nil, fmt.Errorf("storefront: embedded files: %w", err)
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	})
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("POST /api/login", s.login)
	m.HandleFunc("POST /api/logout", s.logout)
	m.Handle("GET /api/search", s.authed(s.handleSearch))
	m.Handle("GET /api/autocomplete", s.authed(s.handleAutocomplete))
	m.Handle("GET /api/products/{company}/{item}", s.authed(s.handleProduct))
	m.Handle("GET /api/price", s.authed(s.handlePrice))
	m.Handle("GET /api/customers", s.authed(s.handleCustomers))
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiError(http.StatusNotFound, "not_found", "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	s.mux = m
	return s, nil
}

// ContentSecurityPolicy is sent with every answer, pages and API alike. The demo page runs only
// its own script file (no inline script, no eval), styles only from its own style sheet (element
// styles through the CSSOM), talks only to its own origin, shows images from its own origin,
// data: (its icon) and http(s) (the ERP's attachment URLs), and may not be framed.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// ServeHTTP serves the API and the demo page with the security headers (ContentSecurityPolicy,
// no framing, no referrer: the page's URL names the customer), logging each request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h := rec.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(rec, r)
	s.log.Debug("request", zap.String("method", r.Method), zap.String("path", r.URL.Path),
		zap.Int("status", rec.status), zap.Duration("took", time.Since(start)))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// checkKey reports whether key, sent by the client of r through via ("login" or "header"), is
// the API key, in constant time. Wrong keys are logged and limited (Config.KeyLimits): past the
// limit the key is not even compared and the answer is a 429 with Retry-After.
func (s *Server) checkKey(w http.ResponseWriter, r *http.Request, key, via string) bool {
	addr := clientAddress(r.RemoteAddr)
	if ok, retry, first := s.throttle.allow(addr); !ok {
		if first {
			s.log.Warn("too many wrong API keys: key checks refused for a while", zap.String("client", addr), zap.String("via", via),
				zap.Duration("retry_after", retry))
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Round(time.Second).Seconds())))
		writeError(w, apiError(http.StatusTooManyRequests, "rate_limited", "too many wrong API keys: try again in %s", retry.Round(time.Second)))
		return false
	}
	if key != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.APIKey)) == 1 {
		return true
	}
	s.throttle.fail(addr)
	s.log.Warn("wrong API key", zap.String("client", addr), zap.String("via", via), zap.String("path", r.URL.Path))
	writeError(w, apiError(http.StatusUnauthorized, "unauthorized", "wrong API key"))
	return false
}

// authed lets a request through when it has a session (SessionCookie) or the API key in its
// X-Api-Key header.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		switch key := r.Header.Get("X-Api-Key"); {
		case err == nil && s.sessions.valid(c.Value):
		case key == "":
			writeError(w, apiError(http.StatusUnauthorized, "unauthorized", "an API key is required (X-Api-Key header or log in on the demo page)"))
			return
		case !s.checkKey(w, r, key, "header"):
			return
		}
		if err := h(w, r); err != nil {
			var ae *httpError
			if !errors.As(err, &ae) {
				s.log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
				ae = apiError(http.StatusBadGateway, "unavailable", "the search index did not answer")
			}
			writeError(w, ae)
		}
	})
}

// login checks the posted key (form field or JSON {"key": ...}) and starts a session: the
// SessionCookie carries its random id (HttpOnly, SameSite=Strict, Secure unless
// Config.PlainHTTP).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var key string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body struct {
			Key string `json:"key"`
		}
		_ = json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body)
		key = body.Key
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		key = r.PostFormValue("key")
	}
	if !s.checkKey(w, r, key, "login") {
		return
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		s.sessions.remove(c.Value) // a login replaces the session it came with
	}
	s.setSessionCookie(w, s.sessions.create(), int(s.cfg.SessionTTL.Seconds()))
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// logout ends the request's session, here and in the browser.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		s.sessions.remove(c.Value)
	}
	s.setSessionCookie(w, "", -1)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) setSessionCookie(w http.ResponseWriter, id string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: !s.cfg.PlainHTTP})
}

// httpError is an error with the HTTP answer it becomes.
type httpError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *httpError) Error() string { return e.Message }

func apiError(status int, code, format string, args ...any) *httpError {
	return &httpError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *httpError {
	return apiError(http.StatusBadRequest, "invalid", format, args...)
}

func writeError(w http.ResponseWriter, e *httpError) {
	writeJSON(w, e.Status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// today is the current date, YYYY-MM-DD (UTC).
func (s *Server) today() string { return s.cfg.Now().UTC().Format(time.DateOnly) }

// companyOf returns the request's company in lower case (the default when absent), or a 400.
func (s *Server) companyOf(r *http.Request) (string, error) {
	c, err := checkCompany(r.URL.Query().Get("company"))
	return cmp.Or(c, s.cfg.DefaultCompany), err
}

// shopper reads the price context of account in company from the customers index; the zero
// Shopper for "". An unknown or deleted account is a 404.
func (s *Server) shopper(ctx context.Context, company, account string) (Shopper, error) {
	if account == "" {
		return Shopper{}, nil
	}
	var c document.Customer
	found, err := s.get(ctx, s.customers, company, account,
		[]string{"account", "price_group", "line_discount_group", "currency", "language", "blocked", "deleted"}, &c)
	if err != nil {
		return Shopper{}, fmt.Errorf("read customer: %w", err)
	}
	if !found || c.Deleted {
		return Shopper{}, apiError(http.StatusNotFound, "unknown_customer", "no customer %s in company %s", account, company)
	}
	return Shopper{Account: c.Account, PriceGroup: c.PriceGroup, LineDiscountGroup: c.LineDiscountGroup, Currency: c.Currency,
		Language: c.Language, Blocked: c.Blocked}, nil
}

// language picks the text language: the requested one, else the shopper's, else the company's,
// each only when the documents carry it.
func (s *Server) language(ctx context.Context, requested string, sh Shopper, company string) string {
	for _, l := range []string{document.Language(requested), sh.Language} {
		if l != "" && slices.Contains(s.cfg.Languages, l) {
			return l
		}
	}
	return s.companyLanguage(ctx, company)
}

// companyLanguage is company's own language code: configured, or the language field of its
// products in the index (cached), or document.DefaultLanguage.
func (s *Server) companyLanguage(ctx context.Context, company string) string {
	if l, ok := s.languages.Load(company); ok {
		return l.(string)
	}
	body := map[string]any{
		"size":  0,
		"query": map[string]any{"term": map[string]any{"company": company}},
		"aggs":  map[string]any{"lang": map[string]any{"terms": map[string]any{"field": "language", "size": 1}}},
	}
	var res struct {
		Aggregations struct {
			Lang struct {
				Buckets []struct {
					Key string `json:"key"`
				} `json:"buckets"`
			} `json:"lang"`
		} `json:"aggregations"`
	}
	if err := s.search(ctx, s.products, body, &res); err != nil || len(res.Aggregations.Lang.Buckets) == 0 {
		return document.DefaultLanguage // not cached: the index may be empty yet
	}
	l := res.Aggregations.Lang.Buckets[0].Key
	s.languages.Store(company, l)
	return l
}
