// Package d365 is the Dynamics 365 Finance and Operations OData connector: an erp.Source that
// reads changed roots by keyset and their children in batches, with OAuth2 client credentials,
// classified errors and bounded retries.
package d365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// Client reads D365 F&O over OData v4. It is safe for concurrent use; create one per process.
type Client struct {
	cfg  Config
	data string // service root of the collections: BaseURL + "/data/"
	// root is data parsed: @odata.nextLink and redirects are followed only to its scheme and
	// host, so that the bearer token never goes elsewhere.
	root   *url.URL
	http   *http.Client
	tokens *tokenCache
	colls  map[string]*collection // by D365 name
	// companyFilter restricts root and log reads to Config.Companies ("" = every company).
	companyFilter string
	// entityByName maps a configured root collection name to its entity (DeletedRecords).
	entityByName map[string]erp.Entity
	// maxIn caps the values of one "in (...)" list (0: only the URL length does); tests use it
	// to compare batch sizes.
	maxIn int
	// clock is the ERP's clock, from the Date headers of its answers (Now).
	clock serverClock
	// entities are the ids of LegalEntities as Now last read them, for the plan that follows.
	entities recentList
}

var _ erp.Source = (*Client)(nil)

// maxIdleConns is how many idle connections to the service a Client keeps: at least the
// requests one worker may have in flight (D365 allows 52 per user and application).
const maxIdleConns = 64

// New returns a Client for cfg, or cfg's problems. It does not contact the service: the first
// read fetches the token (a wrong secret then fails with failure.Unauthorized).
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("d365 config: %w", err)
	}
	cfg = cfg.withDefaults()
	root, err := url.Parse(cfg.BaseURL + "/data/")
	if err != nil {
		return nil, fmt.Errorf("d365 config: %w", err)
	}
	// Keep as many connections as requests may be in flight: the default transport keeps two
	// per host and closes the rest after each answer, so a rebuild reading partitions side by
	// side opened a connection (a TLS handshake with D365) for most of its requests.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = maxIdleConns
	hc := &http.Client{Timeout: cfg.Timeout, Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		// Go drops Authorization on a redirect to another domain, but keeps it on one from
		// https to http of the same host; refuse both, and loops.
		if !sameOrigin(req.URL, via[0].URL) {
			return fmt.Errorf("redirect from %s to %s://%s refused: the bearer token stays with the service", via[0].URL.Host, req.URL.Scheme, req.URL.Host)
		}
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		return nil
	}}
	// The secret goes in the form (client_secret_post, as Entra ID documents it): with the
	// library's auto-detection a wrong secret would cost two token requests.
	cc := &clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL,
		AuthStyle: oauth2.AuthStyleInParams}
	if cfg.Scope != "" {
		cc.Scopes = []string{cfg.Scope}
	}
	c := &Client{
		cfg:    cfg,
		data:   cfg.BaseURL + "/data/",
		root:   root,
		http:   hc,
		tokens: &tokenCache{conf: cc, http: hc, simulatorDefault: cfg.TenantID == "" && cfg.TokenURL == simulatorTokenURL(cfg.BaseURL)},
		colls:  map[string]*collection{},
	}
	for d365, name := range cfg.Names.collections() {
		c.colls[d365] = newCollection(d365, name, cfg.Names.Fields[d365])
	}
	for _, r := range erp.Roots() {
		if r.NumericKey {
			c.colls[r.Collection].numeric[r.Key] = true
		}
		for _, ch := range r.Children {
			for _, f := range ch.Numeric {
				c.colls[ch.Collection].numeric[f] = true
			}
		}
	}
	switch len(cfg.Companies) {
	case 0:
	case 1:
		c.companyFilter = "dataAreaId eq " + quote(cfg.Companies[0])
	default:
		c.companyFilter = "dataAreaId in " + quoteList(cfg.Companies)
	}
	c.entityByName = map[string]erp.Entity{}
	for _, r := range erp.Roots() {
		c.entityByName[c.colls[r.Collection].name] = r.Entity
	}
	return c, nil
}

// tokenCache holds the bearer token: it fetches one when there is none or the one it has
// expires within a minute (or a tenth of its life), and drops it when the service refused it.
type tokenCache struct {
	conf *clientcredentials.Config
	http *http.Client
	// simulatorDefault is set when the token URL is the simulator's, taken for want of a
	// tenant: an answer that is no OAuth2 answer then says how to reach Entra ID instead.
	simulatorDefault bool

	mu    sync.Mutex
	tok   *oauth2.Token
	early time.Time // when to fetch the next one, before tok expires
}

// token returns a valid access token, fetching one if needed. Concurrent callers wait for one
// fetch.
func (t *tokenCache) token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && time.Now().Before(t.early) {
		return t.tok.AccessToken, nil
	}
	start := time.Now()
	tok, err := t.conf.Token(context.WithValue(ctx, oauth2.HTTPClient, t.http))
	if err != nil {
		return "", t.classify(ctx, err)
	}
	t.tok, t.early = tok, time.Now().Add(time.Hour)
	if !tok.Expiry.IsZero() {
		life := tok.Expiry.Sub(start)
		t.early = tok.Expiry.Add(-min(time.Minute, life/10))
	}
	return tok.AccessToken, nil
}

// invalidate drops token if it is still the cached one, so that the next call fetches anew.
func (t *tokenCache) invalidate(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.AccessToken == token {
		t.tok = nil
	}
}

// classify gives a token error its kind, names the token URL, and says what to do where the
// cause is clear: a wrong client id or secret, or a token URL that is not a token endpoint.
func (t *tokenCache) classify(ctx context.Context, err error) error {
	op := "get OAuth2 token from " + t.conf.TokenURL
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		kind := failure.Invalid
		if re.Response != nil {
			kind = failure.FromStatus(re.Response.StatusCode)
		}
		switch re.ErrorCode {
		case "invalid_client", "unauthorized_client", "invalid_grant", "access_denied":
			kind = failure.Unauthorized
		}
		switch {
		case re.ErrorCode == "invalid_client":
			err = fmt.Errorf("the client id %q or its secret is wrong (%w)", t.conf.ClientID, err)
		case re.ErrorCode == "" && t.simulatorDefault:
			err = fmt.Errorf("%w; this is the simulator's token endpoint, used because no tenant is set: "+
				"for Dynamics 365 set the Microsoft Entra tenant id (ERP_TENANT_ID), which makes the token URL "+
				"https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token and the scope <ERP_URL>/.default", err)
		}
		e := failure.E(kind, op, err)
		if kind == failure.RateLimited && re.Response != nil {
			e.RetryAfter = retryAfter(re.Response.Header.Get("Retry-After"), time.Now())
		}
		return e
	}
	if t.simulatorDefault {
		err = fmt.Errorf("%w (the simulator's token endpoint, used because no tenant is set: for Dynamics 365 set ERP_TENANT_ID)", err)
	}
	return failure.E(failure.Unavailable, op, err)
}

// counter counts the HTTP requests of one page and the bytes of their answers; safe for
// concurrent use.
type counter struct{ n, bytes atomic.Int64 }

func (c *counter) add() { c.n.Add(1) }

func (c *counter) addBytes(n int) { c.bytes.Add(int64(n)) }

func (c *counter) value() int { return int(c.n.Load()) }

// read returns the bytes of the answers read.
func (c *counter) read() int64 { return c.bytes.Load() }

// get reads one OData page at u and returns it, retrying rate limits and unavailability up to
// Config.MaxRetries times and a rejected token once. Errors are *failure.Error values classified
// here, where the status is known, or ctx's error.
func (c *Client) get(ctx context.Context, op, u string, prefer int, n *counter) (*envelope, error) {
	refreshed := false
	for attempt := 0; ; attempt++ {
		env, token, err := c.try(ctx, op, u, prefer, n)
		if err == nil {
			return env, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", op, ctx.Err())
		}
		kind := failure.KindOf(err)
		if kind == failure.Unauthorized && token != "" && !refreshed {
			// The service refused a token we thought valid (expired early, or the service lost
			// its sessions): fetch a new one and try once more.
			c.tokens.invalidate(token)
			refreshed = true
			attempt--
			continue
		}
		if (kind != failure.RateLimited && kind != failure.Unavailable) || attempt >= c.cfg.MaxRetries {
			return nil, err
		}
		wait := c.backoff(attempt)
		if ra := failure.RetryAfterOf(err); ra > 0 {
			wait = min(ra, c.cfg.MaxRetryWait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%s: %w", op, ctx.Err())
		case <-t.C:
		}
	}
}

// backoff is the wait before retry attempt+1: exponential with full jitter, capped.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.RetryWait << min(attempt, 16)
	d = min(d, c.cfg.MaxRetryWait)
	return d/2 + rand.N(d/2+1)
}

// try makes one request. It returns the token it used, so that get can drop it on a 401.
func (c *Client) try(ctx context.Context, op, u string, prefer int, n *counter) (*envelope, string, error) {
	token, err := c.tokens.token(ctx)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", failure.E(failure.Invalid, op, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-Version", "4.0")
	req.Header.Set("OData-MaxVersion", "4.0")
	if prefer > 0 {
		req.Header.Set("Prefer", "odata.maxpagesize="+strconv.Itoa(prefer))
	}
	n.add()
	sent := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, token, ctx.Err()
		}
		return nil, token, failure.E(failure.Unavailable, op, err)
	}
	defer resp.Body.Close()
	c.clock.observe(resp.Header.Get("Date"), sent, time.Now())
	if resp.StatusCode != http.StatusOK {
		return nil, token, statusError(op, resp)
	}
	body, err := readBody(resp, c.cfg.MaxBodyBytes)
	n.addBytes(len(body))
	if errors.Is(err, errTooLarge) {
		return nil, token, failure.E(failure.Invalid, op, err)
	}
	if err != nil {
		// A cut connection or a body shorter than its Content-Length.
		return nil, token, failure.E(failure.Unavailable, op, fmt.Errorf("read answer: %w", err))
	}
	env, err := parseEnvelope(body)
	if err != nil {
		return nil, token, failure.E(failure.Unavailable, op, err)
	}
	return env, token, nil
}

// statusError classifies a non-200 answer, with the OData error message when there is one.
func statusError(op string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(body))
	var oe struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &oe) == nil && oe.Error.Message != "" {
		msg = oe.Error.Message
		if oe.Error.Code != "" {
			msg = oe.Error.Code + ": " + msg
		}
	}
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	e := failure.E(failure.FromStatus(resp.StatusCode), op, fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg))
	if e.Kind == failure.Other {
		e.Kind = failure.Unavailable // 1xx/3xx: not an answer we can use; a retry may be
	}
	if e.Kind == failure.RateLimited {
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date; zero if absent or bad.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// errTooLarge is wrapped by readBody's error for an answer longer than the bound.
var errTooLarge = errors.New("answer too large")

// readBody reads an answer's body into a string (the rows' texts are substrings of it), at most
// limit bytes: a longer body fails with errTooLarge, before reading when its Content-Length says
// so, else as soon as it passes the bound. What it allocates stays within about twice the
// bound, whatever the body or its declared length.
func readBody(resp *http.Response, limit int64) (string, error) {
	if resp.ContentLength > limit {
		return "", fmt.Errorf("%w: %d bytes declared, the bound is %d (Config.MaxBodyBytes)", errTooLarge, resp.ContentLength, limit)
	}
	var b strings.Builder
	if n := resp.ContentLength; n > 0 {
		b.Grow(int(n))
	}
	n, err := io.Copy(&b, io.LimitReader(resp.Body, limit+1))
	if n > limit {
		return "", fmt.Errorf("%w: more than %d bytes (Config.MaxBodyBytes)", errTooLarge, limit)
	}
	return b.String(), err
}

// sameOrigin reports whether u has the scheme and host (with port) of root.
func sameOrigin(u, root *url.URL) bool {
	return strings.EqualFold(u.Scheme, root.Scheme) && strings.EqualFold(u.Host, root.Host)
}
