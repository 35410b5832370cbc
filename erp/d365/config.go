package d365

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config configures a Client. The zero value of a field takes the default named in its
// comment; New fills them in. Validate reports every problem at once.
type Config struct {
	// BaseURL is the service root without "/data", e.g. "https://contoso.operations.dynamics.com"
	// or "http://127.0.0.1:8088" for the simulator.
	BaseURL string
	// TokenURL is the OAuth2 token endpoint; default BaseURL + "/oauth2/token" (the simulator).
	// For D365 it is "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token".
	TokenURL     string
	ClientID     string
	ClientSecret string
	// Scope is the OAuth2 scope, for D365 "<BaseURL>/.default"; empty sends none.
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
	// Concurrency bounds the child-collection requests of one page in flight; default 4.
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
// not patched. An empty collection name takes D365's name (the default in its comment, see
// docs/erp-model.md).
type Names struct {
	ReleasedProducts           string // ReleasedProductsV2
	ProductDimensionValues     string // ProductMasterDimensionValues
	ProductVariants            string // ReleasedProductVariantsV2
	ProductTranslations        string // ProductTranslations
	ProductAttachments         string // ProductAttachments
	ProductCategories          string // ProductCategories
	ProductCategoryAssignments string // ProductCategoryAssignments
	RelatedProducts            string // RelatedProducts
	ProductBarcodes            string // ProductBarcodes
	ItemOrderSettings          string // ItemDefaultOrderSettings
	SalesPrices                string // SalesPriceAgreements
	Customers                  string // CustomersV3
	CustomerAddresses          string // CustomerPostalAddresses
	ContactPersons             string // ContactPersonsV2
	SalesRepresentatives       string // SalesRepresentatives
	SalesGroupMembers          string // CommissionSalesRepresentatives
	DeletedRecords             string // DeletedRecords
	LegalEntities              string // LegalEntities

	// Fields renames fields: Fields[collection][field] is the environment's name of a field,
	// both keyed by D365's names (the defaults above and docs/erp-model.md), e.g.
	// {"CustomersV3": {"OrganizationName": "Name"}}. Unlisted fields keep D365's name.
	Fields map[string]map[string]string
}

// D365's collection names, the defaults of Names.
const (
	collReleasedProducts   = "ReleasedProductsV2"
	collDimensionValues    = "ProductMasterDimensionValues"
	collVariants           = "ReleasedProductVariantsV2"
	collTranslations       = "ProductTranslations"
	collAttachments        = "ProductAttachments"
	collCategories         = "ProductCategories"
	collCategoryAssignment = "ProductCategoryAssignments"
	collRelated            = "RelatedProducts"
	collBarcodes           = "ProductBarcodes"
	collOrderSettings      = "ItemDefaultOrderSettings"
	collPrices             = "SalesPriceAgreements"
	collCustomers          = "CustomersV3"
	collAddresses          = "CustomerPostalAddresses"
	collContacts           = "ContactPersonsV2"
	collSalesReps          = "SalesRepresentatives"
	collGroupMembers       = "CommissionSalesRepresentatives"
	collDeleted            = "DeletedRecords"
	collLegalEntities      = "LegalEntities"
)

// collections pairs each D365 name with its configured name.
func (n Names) collections() map[string]string {
	m := map[string]string{
		collReleasedProducts:   n.ReleasedProducts,
		collDimensionValues:    n.ProductDimensionValues,
		collVariants:           n.ProductVariants,
		collTranslations:       n.ProductTranslations,
		collAttachments:        n.ProductAttachments,
		collCategories:         n.ProductCategories,
		collCategoryAssignment: n.ProductCategoryAssignments,
		collRelated:            n.RelatedProducts,
		collBarcodes:           n.ProductBarcodes,
		collOrderSettings:      n.ItemOrderSettings,
		collPrices:             n.SalesPrices,
		collCustomers:          n.Customers,
		collAddresses:          n.CustomerAddresses,
		collContacts:           n.ContactPersons,
		collSalesReps:          n.SalesRepresentatives,
		collGroupMembers:       n.SalesGroupMembers,
		collDeleted:            n.DeletedRecords,
		collLegalEntities:      n.LegalEntities,
	}
	for d365, name := range m {
		if name == "" {
			m[d365] = d365
		}
	}
	return m
}

// ConfigFromEnv reads a Config from ERP_URL, ERP_TOKEN_URL, ERP_CLIENT_ID, ERP_CLIENT_SECRET,
// ERP_SCOPE, ERP_COMPANIES (a comma-separated list), ERP_PAGE_SIZE and ERP_MAX_BODY_BYTES.
// Unset variables leave the defaults; a malformed number is reported by Validate (as an
// invalid page size or body bound).
func ConfigFromEnv() Config {
	c := Config{
		BaseURL:      os.Getenv("ERP_URL"),
		TokenURL:     os.Getenv("ERP_TOKEN_URL"),
		ClientID:     os.Getenv("ERP_CLIENT_ID"),
		ClientSecret: os.Getenv("ERP_CLIENT_SECRET"),
		Scope:        os.Getenv("ERP_SCOPE"),
	}
	for _, co := range strings.Split(os.Getenv("ERP_COMPANIES"), ",") {
		if co = strings.TrimSpace(co); co != "" {
			c.Companies = append(c.Companies, co)
		}
	}
	if v := strings.TrimSpace(os.Getenv("ERP_PAGE_SIZE")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			n = -1
		}
		c.PageSize = n
	}
	if v := strings.TrimSpace(os.Getenv("ERP_MAX_BODY_BYTES")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			n = -1
		}
		c.MaxBodyBytes = n
	}
	return c
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
	for coll, fields := range c.Names.Fields {
		if _, ok := (Names{}).collections()[coll]; !ok {
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
	if c.TokenURL == "" {
		c.TokenURL = c.BaseURL + "/oauth2/token"
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
