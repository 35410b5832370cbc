package d365

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/erpsync/erpsync/erp"
)

// Config configures a Client. The zero value of a field takes the default named in its
// comment; New fills them in. Validate reports every problem at once.
type Config struct {
	// BaseURL is the service root without "/data", e.g. "https://contoso.operations.dynamics.com"
	// or "http://127.0.0.1:8088" for the simulator.
	BaseURL string
	// TenantID is the Microsoft Entra tenant (directory) id of a real D365 environment. With it
	// TokenURL defaults to EntraTokenURL(TenantID) and Scope to EntraScope(BaseURL).
	TenantID string
	// TokenURL is the OAuth2 token endpoint: EntraTokenURL(TenantID) with a tenant, else
	// BaseURL + "/oauth2/token" (the simulator's).
	TokenURL     string
	ClientID     string
	ClientSecret string
	// Scope is the OAuth2 scope: EntraScope(BaseURL) with a tenant, else none.
	Scope string
	// Companies are the dataAreaIds to read (case does not matter); empty reads every company.
	// Reads always send cross-company=true (without it D365 shows only the user's default
	// company) and restrict to Companies with a dataAreaId filter when it is set.
	Companies []string
	// PageSize is the default number of roots per page; default 1000, at most 10,000 (D365's cap).
	PageSize int
	// Timeout bounds one HTTP request including reading its body; default 60s.
	Timeout time.Duration
	// MaxRetries is how often one request is retried inside the client when it is rate limited
	// or the service is unavailable; default 3. Negative means none. After that the classified
	// error is returned and the caller's (Temporal's) retry policy takes over.
	MaxRetries int
	// RetryWait is the base of the exponential backoff between retries; default 250ms.
	RetryWait time.Duration
	// MaxRetryWait caps one wait, including a Retry-After the service asked for; default 30s.
	MaxRetryWait time.Duration
	// Concurrency bounds the child-collection requests of one page in flight; default 4. A
	// read that asks for a width of its own (erp.ReadRequest.Width, a partitioned rebuild's
	// share of what the ERP allows) takes that instead. A partition plan reads with its slots
	// times this many (Client.Partitions).
	Concurrency int
	// MaxURLLength bounds the length of a request URL; longer "in (...)" lists are split over
	// several requests. Default 7000 bytes (IIS and proxies in front of D365 reject long URLs).
	// An @odata.nextLink longer than twice this is refused as invalid.
	MaxURLLength int
	// MaxBodyBytes bounds one answer's body; a longer one fails as invalid before it is read
	// past the bound (an import then reads smaller pages). Default 64 MiB: a page of 1,000
	// products with every child is a few MiB.
	MaxBodyBytes int64
	// MaxPagesPerFetch bounds how many @odata.nextLink pages one query may follow; more, or a
	// link back to a page already read, fails as invalid. Default 1000.
	MaxPagesPerFetch int
	// Names maps collection and field names; the zero value is D365's names.
	Names Names
}

// Defaults for Config.
const (
	DefaultPageSize     = 1000
	MaxPageSize         = 10_000
	DefaultTimeout      = 60 * time.Second
	DefaultMaxRetries   = 3
	DefaultRetryWait    = 250 * time.Millisecond
	DefaultMaxRetryWait = 30 * time.Second
	DefaultConcurrency  = 4
	DefaultMaxURLLength = 7000
	DefaultMaxBodyBytes = 64 << 20
	DefaultMaxPages     = 1000
)

// Names are the OData collection names the client reads, and per-collection field-name
// overrides, so that an environment whose entities differ from D365's public ones is configured,
// not patched. Both are keyed by D365's names (the constants of erp/model.go and
// docs/erp-model.md); what is not listed keeps D365's name.
type Names struct {
	// Collections renames collections, e.g. {"CustomersV3": "CustomersV2"}.
	Collections map[string]string
	// Fields renames fields: Fields[collection][field] is the environment's name of a field,
	// e.g. {"CustomersV3": {"OrganizationName": "Name"}}.
	Fields map[string]map[string]string
}

// knownCollections lists every collection the client reads, by D365's name: those of the model
// plus the company list and the deletion log.
func knownCollections() []string {
	out := []string{erp.LegalEntities, erp.DeletedRecords}
	seen := map[string]bool{erp.LegalEntities: true, erp.DeletedRecords: true}
	for _, r := range erp.Roots() {
		for _, c := range r.Collections() {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// collections pairs each D365 name with its configured name.
func (n Names) collections() map[string]string {
	m := map[string]string{}
	for _, d365 := range knownCollections() {
		m[d365] = d365
		if name := n.Collections[d365]; name != "" {
			m[d365] = name
		}
	}
	return m
}

// EntraTokenURL returns Microsoft Entra ID's OAuth 2.0 token endpoint of tenant, where a D365
// integration gets its token with the client credentials grant: "Microsoft identity platform
// and the OAuth 2.0 client credentials flow",
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
// ("POST https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token").
func EntraTokenURL(tenant string) string {
	return "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
}

// EntraScope returns the scope that asks Entra ID for a token of the D365 environment at
// baseURL: the resource's identifier with "/.default", which the client credentials flow
// requires (same page: "The value passed for the scope parameter in this request should be the
// resource identifier (application ID URI) of the resource you want, affixed with the .default
// suffix"); a finance and operations environment's resource is its URL.
func EntraScope(baseURL string) string {
	return strings.TrimRight(baseURL, "/") + "/.default"
}

// simulatorTokenURL is the token endpoint of the simulator (erpsim) at baseURL, the default
// without a tenant.
func simulatorTokenURL(baseURL string) string {
	return strings.TrimRight(baseURL, "/") + "/oauth2/token"
}

// Validate reports every problem of c, joined.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.BaseURL); c.BaseURL == "" || err != nil || u.Scheme == "" || u.Host == "" {
		errs = append(errs, fmt.Errorf("ERP URL %q must be an absolute http(s) URL", c.BaseURL))
	}
	if c.TokenURL != "" {
		if u, err := url.Parse(c.TokenURL); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("token URL %q must be an absolute http(s) URL", c.TokenURL))
		}
	}
	if c.TenantID != "" && strings.ContainsAny(c.TenantID, "/?# ") {
		errs = append(errs, fmt.Errorf("tenant %q is not a tenant id (a GUID) or domain", c.TenantID))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("client id is missing"))
	}
	if c.ClientSecret == "" {
		errs = append(errs, errors.New("client secret is missing"))
	}
	for _, co := range c.Companies {
		if co == "" || strings.ContainsAny(co, "', ") {
			errs = append(errs, fmt.Errorf("company %q is not a dataAreaId", co))
		}
	}
	if c.PageSize < 0 || c.PageSize > MaxPageSize {
		errs = append(errs, fmt.Errorf("page size %d must be within 1..%d (0 for the default)", c.PageSize, MaxPageSize))
	}
	if c.Timeout < 0 || c.RetryWait < 0 || c.MaxRetryWait < 0 {
		errs = append(errs, errors.New("timeouts and waits must not be negative"))
	}
	if c.Concurrency < 0 {
		errs = append(errs, errors.New("concurrency must not be negative"))
	}
	if c.MaxURLLength != 0 && c.MaxURLLength < 512 {
		errs = append(errs, fmt.Errorf("max URL length %d is too small (at least 512)", c.MaxURLLength))
	}
	if c.MaxBodyBytes < 0 || c.MaxBodyBytes > 0 && c.MaxBodyBytes < 4096 {
		errs = append(errs, fmt.Errorf("max body bytes %d must be at least 4096 (0 for the default)", c.MaxBodyBytes))
	}
	if c.MaxPagesPerFetch < 0 {
		errs = append(errs, errors.New("max pages per fetch must not be negative"))
	}
	known := (Names{}).collections()
	for coll := range c.Names.Collections {
		if _, ok := known[coll]; !ok {
			errs = append(errs, fmt.Errorf("collection name given for unknown collection %q (use D365's name)", coll))
		}
	}
	for coll, fields := range c.Names.Fields {
		if _, ok := known[coll]; !ok {
			errs = append(errs, fmt.Errorf("field names given for unknown collection %q (use D365's name)", coll))
		}
		for from, to := range fields {
			if from == "" || to == "" {
				errs = append(errs, fmt.Errorf("collection %s: empty field name in mapping %q -> %q", coll, from, to))
			}
		}
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	switch {
	case c.TokenURL != "":
	case c.TenantID != "":
		c.TokenURL = EntraTokenURL(c.TenantID)
	default:
		c.TokenURL = simulatorTokenURL(c.BaseURL)
	}
	if c.Scope == "" && c.TenantID != "" {
		c.Scope = EntraScope(c.BaseURL)
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.RetryWait == 0 {
		c.RetryWait = DefaultRetryWait
	}
	if c.MaxRetryWait == 0 {
		c.MaxRetryWait = DefaultMaxRetryWait
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxURLLength == 0 {
		c.MaxURLLength = DefaultMaxURLLength
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxPagesPerFetch == 0 {
		c.MaxPagesPerFetch = DefaultMaxPages
	}
	companies := make([]string, 0, len(c.Companies))
	for _, co := range c.Companies {
		companies = append(companies, strings.ToLower(strings.TrimSpace(co)))
	}
	c.Companies = companies
	return c
}
