package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/alert"
	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/webshop"
)

// Config is erpsync's configuration. A binary reads the parts it takes (Worker, Starter,
// Storefront); the others keep their zero values.
type Config struct {
	Temporal Temporal
	// Alerts are the worker's channels for failure alerts (none: no alerts).
	Alerts        alert.Notifier
	Elasticsearch search.Config
	Index         Index
	ERP           d365.Config
	Import        activities.Settings
	Schedules     Schedules
	Log           Log
	Worker        Worker
	Storefront    Storefront
	// Webshops are the webshops the index serves (docs/webshops.md): the worker indexes for them,
	// the storefront serves them.
	Webshops []webshop.Webshop

	// erpMaxRequests is erp.max-concurrent-requests, which bounds Import.MaxPartitions.
	erpMaxRequests int
}

// Index is the shape of the search indexes.
type Index struct {
	// Prefix starts every index and alias name.
	Prefix string
	// Languages are the languages of the product texts, each with its analyzer.
	Languages []Language
	// Shards and Replicas of new indexes.
	Shards, Replicas int
	// BulkWorkers, MaxBulkRequests and FlushBytes tune the bulk writer.
	BulkWorkers, MaxBulkRequests, FlushBytes int
}

// Codes returns the language codes.
func (x Index) Codes() []string {
	out := make([]string, len(x.Languages))
	for i, l := range x.Languages {
		out[i] = l.Code
	}
	return out
}

// Options returns the search.Index options of x: languages and analyzers, shards, replicas and
// the bulk writer's settings (zero ones are left to search's defaults).
func (x Index) Options() []search.Option {
	opts := []search.Option{search.WithLanguages(x.Codes()...)}
	for _, l := range x.Languages {
		opts = append(opts, search.WithAnalyzer(l.Code, l.Analyzer))
	}
	if x.Shards > 0 {
		opts = append(opts, search.WithShards(x.Shards))
	}
	opts = append(opts, search.WithReplicas(x.Replicas))
	if x.BulkWorkers > 0 {
		opts = append(opts, search.WithBulkWorkers(x.BulkWorkers))
	}
	if x.MaxBulkRequests > 0 {
		opts = append(opts, search.WithMaxBulkRequests(x.MaxBulkRequests))
	}
	if x.FlushBytes > 0 {
		opts = append(opts, search.WithFlushBytes(x.FlushBytes))
	}
	return opts
}

// Schedules are when starter schedules apply runs the imports.
type Schedules struct {
	// Prefix is put before every schedule ID, so that installations can share a namespace.
	Prefix                      string
	UpdateEvery, ReconcileEvery time.Duration
	RebuildCron, AuditCron      string
}

// Log is how a binary logs.
type Log struct {
	Level, Format string
}

// Worker holds the worker's own endpoints.
type Worker struct {
	// MetricsAddr is where Prometheus scrapes /metrics.
	MetricsAddr string
	// PprofAddr, when set, serves net/http/pprof (off by default).
	PprofAddr string
}

// Storefront holds the storefront's own settings.
type Storefront struct {
	Addr, APIKey string
	// PlainHTTP sends the session cookie without Secure; Demo serves the demo page's login,
	// which issues shopper tokens for the webshops' demo accounts.
	PlainHTTP, Demo bool
}

// DefaultERPMaxConcurrentRequests is D365 F&O's user-based service protection limit on
// concurrent requests per user and application (learn.microsoft.com/dynamics365/
// fin-ops-core/dev-itpro/data-entities/service-protection-api-limits); resource-based
// throttling may answer 429 earlier, which the client waits out (Retry-After).
const DefaultERPMaxConcurrentRequests = 52

// Defaults that are not another package's.
const (
	DefaultTemporalAddress = "127.0.0.1:7233"
	DefaultNamespace       = "default"
	DefaultElasticsearch   = "http://127.0.0.1:9200"
	DefaultMetricsAddr     = "127.0.0.1:9464"
	DefaultStorefrontAddr  = "127.0.0.1:8080"
	DefaultUpdateEvery     = 5 * time.Minute
	DefaultRebuildCron     = "0 2 * * *"
	DefaultReconcileEvery  = time.Hour
	DefaultAuditCron       = "0 3 * * *"
)

// ForWorker returns the worker's settings, bound to a new Config.
func ForWorker() (*Config, *Set) {
	c, s := &Config{}, NewSet("worker")
	c.declareTemporal(s)
	c.declareElasticsearch(s)
	c.declareIndex(s, true)
	c.declareERP(s, true)
	c.declareImport(s)
	c.declareLog(s)
	c.declareWorker(s)
	c.declareAlerts(s)
	c.declareWebshops(s, false)
	return c, s
}

// ForStarter returns the starter's settings, bound to a new Config.
func ForStarter() (*Config, *Set) {
	c, s := &Config{}, NewSet("starter")
	c.declareTemporal(s)
	c.declareElasticsearch(s)
	c.declareIndex(s, false)
	c.declareERP(s, false)
	c.declareDetection(s)
	c.declareSchedules(s)
	return c, s
}

// ForStorefront returns the storefront's settings, bound to a new Config.
func ForStorefront() (*Config, *Set) {
	c, s := &Config{}, NewSet("storefront")
	c.declareElasticsearch(s)
	c.declareIndex(s, false)
	s.Add(c.languagesSetting())
	c.declareLog(s)
	c.declareStorefront(s)
	c.declareWebshops(s, true)
	return c, s
}

// Warnings are settings that work but that a production installation should not have.
func (c *Config) Warnings() []string {
	var w []string
	if c.Elasticsearch.Insecure {
		w = append(w, "ELASTICSEARCH_INSECURE is on: the Elasticsearch certificate is not verified, so anyone on the path can read and change what erpsync sends; set ELASTICSEARCH_CA_CERT instead")
	}
	if c.Storefront.APIKey == defaultStorefrontKey {
		w = append(w, "the storefront uses the development API key: set STOREFRONT_API_KEY outside development")
	}
	return w
}

const defaultStorefrontKey = "erpsync-dev-key"

func (c *Config) declareElasticsearch(s *Set) {
	es := &c.Elasticsearch
	s.Section("elasticsearch", "Elasticsearch")
	s.Add(
		&Setting{Key: "elasticsearch.url", Env: []string{"ELASTICSEARCH_URL"}, Flag: "elasticsearch-url", Aliases: []string{"elasticsearch"},
			Help: "Node addresses, comma-separated.", DefaultText: DefaultElasticsearch + " unless a Cloud ID is set",
			Value: String(&es.URL)},
		&Setting{Key: "elasticsearch.cloud-id", Env: []string{"ELASTICSEARCH_CLOUD_ID"}, Flag: "elasticsearch-cloud-id",
			Help: "An Elastic Cloud deployment's Cloud ID (on the deployment's page), instead of the URL.", Value: String(&es.CloudID)},
		&Setting{Key: "elasticsearch.api-key", Env: []string{"ELASTICSEARCH_API_KEY"}, Flag: "elasticsearch-api-key", Secret: true,
			Help:  "An API key, the base64 \"encoded\" value Elasticsearch returns when it creates one; wins over user and password.",
			Value: String(&es.APIKey)},
		&Setting{Key: "elasticsearch.api-key-file", Env: []string{"ELASTICSEARCH_API_KEY_FILE"}, Flag: "elasticsearch-api-key-file",
			Help:  "A file holding the API key, when no key is set (a container secret; the image has no shell to read it).",
			Value: String(&es.APIKeyFile)},
		&Setting{Key: "elasticsearch.username", Env: []string{"ELASTICSEARCH_USERNAME"}, Flag: "elasticsearch-username",
			Help: "User for basic authentication.", Value: String(&es.Username)},
		&Setting{Key: "elasticsearch.password", Env: []string{"ELASTICSEARCH_PASSWORD"}, Flag: "elasticsearch-password", Secret: true,
			Help: "Password for basic authentication.", Value: String(&es.Password)},
		&Setting{Key: "elasticsearch.ca-cert", Env: []string{"ELASTICSEARCH_CA_CERT"}, Flag: "elasticsearch-ca-cert",
			Help: "PEM file of the CA that signed the cluster's certificate.", Value: String(&es.CACertPath)},
		&Setting{Key: "elasticsearch.insecure", Env: []string{"ELASTICSEARCH_INSECURE"}, Flag: "elasticsearch-insecure", Default: "false",
			Help: "Skip the TLS certificate check (self-signed development clusters only; logs a warning).", Value: Bool(&es.Insecure)},
	)
	s.Derive(func() error {
		if es.URL == "" && es.CloudID == "" {
			return s.SetDerived("elasticsearch.url", DefaultElasticsearch, "default")
		}
		return nil
	})
	s.Check(func() error {
		if err := es.Validate(); err != nil {
			return fmt.Errorf("elasticsearch: %w", err)
		}
		return nil
	})
}

// declareIndex declares the index prefix and, for the worker, the indexes' shape.
func (c *Config) declareIndex(s *Set, shape bool) {
	x := &c.Index
	s.Section("index", "Search index")
	s.Add(&Setting{Key: "index.prefix", Env: []string{"ERPSYNC_INDEX_PREFIX"}, Flag: "index-prefix", Default: search.DefaultPrefix,
		Help:  "Starts every index and alias name: <prefix>-products, -customers, -contacts, -salesreps, -sync-state, -dead-letters.",
		Value: String(&x.Prefix),
		Check: func() error {
			if x.Prefix == "" || x.Prefix != strings.ToLower(x.Prefix) || strings.ContainsAny(x.Prefix, ` "*\<|,>/?#:`) || strings.HasPrefix(x.Prefix, "_") {
				return errors.New("want lower-case letters, digits and dashes (an Elasticsearch index name)")
			}
			return nil
		}})
	if !shape {
		return
	}
	s.Add(c.languagesSetting(),
		&Setting{Key: "index.shards", Env: []string{"ERPSYNC_SHARDS"}, Flag: "shards", Default: strconv.Itoa(search.DefaultShards),
			Help: "Primary shards of each new index generation.", Value: Int(&x.Shards), Check: atLeast(&x.Shards, 1)},
		&Setting{Key: "index.replicas", Env: []string{"ERPSYNC_REPLICAS"}, Flag: "replicas", Default: strconv.Itoa(search.DefaultReplicas),
			Help:  "Replicas of each index: 0 is all a single node can place; a cluster of several nodes wants at least 1.",
			Value: Int(&x.Replicas), Check: atLeast(&x.Replicas, 0)},
		&Setting{Key: "index.bulk-workers", Env: []string{"ERPSYNC_BULK_WORKERS"}, Flag: "bulk-workers", Default: strconv.Itoa(search.DefaultBulkWorkers()),
			DefaultText: "the number of CPUs, at most 8", Help: "Bulk requests in flight per write.",
			Value: Int(&x.BulkWorkers), Check: atLeast(&x.BulkWorkers, 1)},
		&Setting{Key: "index.max-bulk-requests", Env: []string{"ERPSYNC_MAX_BULK_REQUESTS"}, Flag: "max-bulk-requests", Default: strconv.Itoa(search.DefaultMaxBulkRequests),
			Help:  "Bulk requests in flight per process, over all its writes: a node's CPU per document grows with the requests it indexes at once.",
			Value: Int(&x.MaxBulkRequests), Check: atLeast(&x.MaxBulkRequests, 1)},
		&Setting{Key: "index.flush-bytes", Env: []string{"ERPSYNC_FLUSH_BYTES"}, Flag: "flush-bytes", Default: strconv.Itoa(search.DefaultFlushBytes),
			Help: "Most bytes of one bulk request; a larger document goes alone.", Value: Int(&x.FlushBytes), Check: atLeast(&x.FlushBytes, 1024)},
	)
}

func (c *Config) languagesSetting() *Setting {
	def := make([]string, 0, 4)
	for _, l := range document.DefaultLanguages() {
		def = append(def, l+"="+DefaultAnalyzer)
	}
	s := &Setting{Key: "index.languages", Env: []string{"ERPSYNC_LANGUAGES"}, Flag: "languages", Default: strings.Join(def, ","),
		Help: "Languages of the product texts, each with its Elasticsearch analyzer: code=analyzer, comma-separated " +
			"(en=english,de=german,nl=dutch,fr=french stems words; standard needs no plugin). Translations in other " +
			"languages are not indexed. A change needs a rebuild.",
		Value: Languages(&c.Index.Languages),
		Check: func() error {
			if len(c.Index.Languages) == 0 {
				return errors.New("want at least one language")
			}
			return nil
		}}
	return s
}

func (c *Config) companyLanguagesSetting() *Setting {
	return &Setting{Key: "erp.company-languages", Env: []string{"ERPSYNC_COMPANY_LANGUAGES"}, Flag: "company-languages",
		DefaultText: "read from the ERP's LegalEntities",
		Help:        "Language of each company's own product texts, company=language: usmf=en-us,demf=de.",
		Value:       Map(&c.Import.Document.CompanyLanguages)}
}

// declareERP declares the ERP's settings; required makes the URL and the credentials required
// (the worker); the starter needs them only for explain, which checks them then.
func (c *Config) declareERP(s *Set, required bool) {
	e := &c.ERP
	s.Section("erp", "ERP (Dynamics 365 Finance and Operations over OData)")
	s.Add(
		&Setting{Key: "erp.url", Env: []string{"ERP_URL"}, Flag: "erp-url",
			Help:  "The environment's URL, the OData service root without /data: https://contoso.operations.dynamics.com, or the simulator's http://127.0.0.1:8088.",
			Value: String(&e.BaseURL)},
		&Setting{Key: "erp.tenant", Env: []string{"ERP_TENANT_ID"}, Flag: "erp-tenant",
			Help:  "Microsoft Entra tenant id (Directory ID) of a real D365: derives the token URL and the scope.",
			Value: String(&e.TenantID)},
		&Setting{Key: "erp.token-url", Env: []string{"ERP_TOKEN_URL"}, Flag: "erp-token-url",
			DefaultText: "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token with a tenant, else <erp.url>/oauth2/token (the simulator's)",
			Help:        "OAuth2 token endpoint (client credentials).", Value: String(&e.TokenURL)},
		&Setting{Key: "erp.scope", Env: []string{"ERP_SCOPE"}, Flag: "erp-scope",
			DefaultText: "<erp.url>/.default with a tenant, else none",
			Help:        "OAuth2 scope of the token.", Value: String(&e.Scope)},
		&Setting{Key: "erp.client-id", Env: []string{"ERP_CLIENT_ID"}, Flag: "erp-client-id",
			Help: "Application (client) id of the Entra app registration.", Value: String(&e.ClientID)},
		&Setting{Key: "erp.client-secret", Env: []string{"ERP_CLIENT_SECRET"}, Flag: "erp-client-secret", Secret: true,
			Help: "Its client secret.", Value: String(&e.ClientSecret)},
		&Setting{Key: "erp.companies", Env: []string{"ERP_COMPANIES"}, Flag: "erp-companies", DefaultText: "every company",
			Help: "Companies (dataAreaId) to read, comma-separated.", Value: List(&e.Companies)},
		&Setting{Key: "erp.page-size", Env: []string{"ERPSYNC_PAGE_SIZE", "ERP_PAGE_SIZE"}, Flag: "page-size",
			Default: strconv.Itoa(activities.DefaultSettings().PageSize),
			Help:    fmt.Sprintf("ERP roots per page (at most %d, D365's cap); children are read per page of roots.", d365.MaxPageSize),
			Value:   Int(&c.Import.PageSize), Check: between(&c.Import.PageSize, 1, d365.MaxPageSize)},
		&Setting{Key: "erp.max-body-bytes", Env: []string{"ERP_MAX_BODY_BYTES"}, Flag: "erp-max-body-bytes", Default: strconv.Itoa(d365.DefaultMaxBodyBytes),
			Help:  "The largest ERP answer read; a larger one fails as invalid and the import reads smaller pages.",
			Value: Int64(&e.MaxBodyBytes), Check: func() error {
				if e.MaxBodyBytes < 4096 {
					return errors.New("want at least 4096")
				}
				return nil
			}},
		&Setting{Key: "erp.concurrency", Env: []string{"ERP_CONCURRENCY"}, Flag: "erp-concurrency", Default: strconv.Itoa(d365.DefaultConcurrency),
			Help: "Child-collection requests of one page in flight (a partitioned rebuild's pages take their share of erp.max-concurrent-requests where that is more).", Value: Int(&e.Concurrency), Check: between(&e.Concurrency, 1, 64)},
		&Setting{Key: "erp.max-concurrent-requests", Env: []string{"ERP_MAX_CONCURRENT_REQUESTS"}, Flag: "erp-max-concurrent-requests",
			Default: strconv.Itoa(DefaultERPMaxConcurrentRequests),
			Help: "Requests the ERP allows one integration to have in flight (D365's user-based service protection limit is 52); " +
				"a rebuild reads at most this over erp.concurrency partitions at once, and each page of a partition with its share of it.",
			Value: Int(&c.erpMaxRequests), Check: atLeast(&c.erpMaxRequests, 1)},
		&Setting{Key: "erp.collections", Env: []string{"ERP_COLLECTIONS"}, Flag: "erp-collections", DefaultText: "D365's public names",
			Help:  "Collection names of this environment that differ from D365's, keyed by D365's name: CustomersV3=CustomersV2 (docs/erp-model.md lists them).",
			Value: Map(&e.Names.Collections)},
		&Setting{Key: "erp.fields", Env: []string{"ERP_FIELDS"}, Flag: "erp-fields", DefaultText: "D365's public names",
			Help:  "Field names that differ from D365's, keyed by D365's collection and field name: CustomersV3.OrganizationName=Name.",
			Value: Maps(&e.Names.Fields)},
		c.companyLanguagesSetting(),
	)
	s.Derive(func() error {
		e.PageSize = c.Import.PageSize
		c.Import.MaxPartitions = max(c.erpMaxRequests/max(e.Concurrency, 1), 1)
		c.Import.ERPRequests = c.erpMaxRequests
		// The default partitions in flight give way to what the ERP allows; a number asked for
		// is checked instead (import.partitions), and refused when the ERP allows fewer.
		if c.Import.Partitions > c.Import.MaxPartitions {
			if err := s.SetDerived("import.partitions", strconv.Itoa(c.Import.MaxPartitions),
				"bounded by erp.max-concurrent-requests over erp.concurrency"); err != nil {
				return err
			}
		}
		if e.TenantID != "" {
			if err := s.SetDerived("erp.token-url", d365.EntraTokenURL(e.TenantID), "derived from erp.tenant"); err != nil {
				return err
			}
			return s.SetDerived("erp.scope", d365.EntraScope(e.BaseURL), "derived from erp.url")
		}
		if e.BaseURL != "" {
			return s.SetDerived("erp.token-url", strings.TrimRight(e.BaseURL, "/")+"/oauth2/token", "derived: the simulator's (no erp.tenant)")
		}
		return nil
	})
	s.Check(func() error {
		var errs []error
		if !required && e.BaseURL == "" && e.ClientID == "" && e.ClientSecret == "" {
			return nil
		}
		if e.BaseURL == "" {
			errs = append(errs, errors.New("ERP_URL is empty: set the ERP's URL, e.g. https://contoso.operations.dynamics.com or the simulator's http://127.0.0.1:8088"))
		}
		if e.ClientID == "" {
			errs = append(errs, errors.New("ERP_CLIENT_ID is empty"))
		}
		if e.ClientSecret == "" {
			errs = append(errs, errors.New("ERP_CLIENT_SECRET is empty"))
		}
		if e.BaseURL != "" && e.ClientID != "" && e.ClientSecret != "" {
			if err := e.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("erp: %w", err))
			}
		}
		return errors.Join(errs...)
	})
}

func (c *Config) declareDetection(s *Set) {
	s.Section("import", "Imports")
	s.Add(&Setting{Key: "import.change-detection", Env: []string{"ERPSYNC_CHANGE_DETECTION"}, Flag: "change-detection",
		Default: string(activities.ParentStamps),
		Help: "How update runs find changes: parent-stamps (an ERP add-on stamps a product or customer on every change " +
			"below it and logs deletes) or child-stamps (stock D365: every collection by its own stamps; reconcile and audit " +
			"runs find deletes, so starter schedules apply adds their schedules).",
		Value: String((*string)(&c.Import.Detection)),
		Check: func() error {
			if d := c.Import.Detection; d == "" || !d.Valid() {
				return errors.New("want parent-stamps or child-stamps")
			}
			return nil
		}})
}

func (c *Config) declareImport(s *Set) {
	c.declareDetection(s)
	d := activities.DefaultSettings()
	i := &c.Import
	s.Add(
		&Setting{Key: "import.safety-lag", Env: []string{"ERPSYNC_SAFETY_LAG"}, Flag: "safety-lag", Default: d.SafetyLag.String(),
			Help:  "A run reads only what was stamped before its start minus this, so late commits and skewed clocks are read by the next run.",
			Value: Duration(&i.SafetyLag), Check: positive(&i.SafetyLag)},
		&Setting{Key: "import.overlap", Env: []string{"ERPSYNC_OVERLAP"}, Flag: "overlap", Default: d.Overlap.String(),
			Help:  "An update run re-reads this much before the watermark.",
			Value: Duration(&i.Overlap), Check: positive(&i.Overlap)},
		&Setting{Key: "import.chunk-pages", Env: []string{"ERPSYNC_CHUNK_PAGES"}, Flag: "chunk-pages", Default: strconv.Itoa(d.ChunkPages),
			Help:  "Pages per chunk activity (pause, cancel and progress act between chunks).",
			Value: Int(&i.ChunkPages), Check: between(&i.ChunkPages, 1, 1000)},
		&Setting{Key: "import.partitions", Env: []string{"ERPSYNC_PARTITIONS"}, Flag: "partitions", Default: strconv.Itoa(d.Partitions),
			Help: "Partitions of a rebuild read at once, each a stream of pages on whichever worker is free " +
				"(at most erp.max-concurrent-requests over erp.concurrency: the default gives way to that bound, a number set above it is refused).",
			Value: Int(&i.Partitions),
			Check: func() error {
				if i.Partitions < 1 {
					return errors.New("want at least 1")
				}
				if i.MaxPartitions > 0 && i.Partitions > i.MaxPartitions {
					return fmt.Errorf("%d partitions of %d requests each (erp.concurrency) exceed the %d requests the ERP allows (erp.max-concurrent-requests): want at most %d",
						i.Partitions, c.ERP.Concurrency, c.erpMaxRequests, i.MaxPartitions)
				}
				return nil
			}},
		&Setting{Key: "import.partition-size", Env: []string{"ERPSYNC_PARTITION_SIZE"}, Flag: "partition-size", Default: strconv.Itoa(d.PartitionSize),
			Help:  "About how many roots one partition of a rebuild holds at most; each company has at least one partition, and their number is a multiple of import.partitions.",
			Value: Int(&i.PartitionSize), Check: atLeast(&i.PartitionSize, 1)},
		&Setting{Key: "import.max-delete-share", Env: []string{"ERPSYNC_MAX_DELETE_SHARE"}, Flag: "max-delete-share",
			Default: strconv.FormatFloat(d.MaxDeleteShare, 'g', -1, 64),
			Help:    "A reconcile run refuses (deleting nothing) when the documents the ERP no longer has exceed this share of the index.",
			Value:   Float(&i.MaxDeleteShare),
			Check: func() error {
				if i.MaxDeleteShare <= 0 || i.MaxDeleteShare > 1 {
					return errors.New("want a share above 0 and at most 1, e.g. 0.1")
				}
				return nil
			}},
	)
	s.Add(&Setting{Key: "import.dead-letter-max-age", Env: []string{"ERPSYNC_DEAD_LETTER_MAX_AGE"}, Flag: "dead-letter-max-age",
		Default: d.DeadLetterMaxAge.String(),
		Help:    "Dead letters older than this are deleted at the end of each run.",
		Value:   Duration(&i.DeadLetterMaxAge), Check: positive(&i.DeadLetterMaxAge)})
	s.Derive(func() error {
		i.Document.Languages = c.Index.Codes()
		return nil
	})
}

// declareAlerts declares the channels of the worker's failure alerts: an e-mail and/or a
// webhook when an import fails, ends with dead letters or a reconcile refuses.
func (c *Config) declareAlerts(s *Set) {
	var smtpAddr, from, user, password, webhook string
	var to []string
	n := &c.Alerts
	s.Section("alerts", "Alerts (when an import fails, ends partial or is refused)")
	s.Add(
		&Setting{Key: "alerts.installation", Env: []string{"ERPSYNC_INSTALLATION"}, Flag: "installation", DefaultText: "the index prefix",
			Help: "This installation's name in alerts.", Value: String(&n.Installation)},
		&Setting{Key: "alerts.smtp-addr", Env: []string{"ERPSYNC_ALERT_SMTP_ADDR"}, Flag: "alert-smtp-addr", DefaultText: "no e-mail",
			Help: "host:port of an SMTP server for alert e-mails (STARTTLS when offered).", Value: String(&smtpAddr)},
		&Setting{Key: "alerts.email-from", Env: []string{"ERPSYNC_ALERT_EMAIL_FROM"}, Flag: "alert-email-from",
			Help: "Sender of alert e-mails.", Value: String(&from)},
		&Setting{Key: "alerts.email-to", Env: []string{"ERPSYNC_ALERT_EMAIL_TO"}, Flag: "alert-email-to",
			Help: "Recipients of alert e-mails, comma-separated.", Value: List(&to)},
		&Setting{Key: "alerts.smtp-username", Env: []string{"ERPSYNC_ALERT_SMTP_USERNAME"}, Flag: "alert-smtp-username",
			Help: "SMTP user (optional).", Value: String(&user)},
		&Setting{Key: "alerts.smtp-password", Env: []string{"ERPSYNC_ALERT_SMTP_PASSWORD"}, Flag: "alert-smtp-password", Secret: true,
			Help: "SMTP password (optional).", Value: String(&password)},
		&Setting{Key: "alerts.webhook-url", Env: []string{"ERPSYNC_ALERT_WEBHOOK_URL"}, Flag: "alert-webhook-url", DefaultText: "none",
			Help: "The same alerts as a JSON POST to this URL.", Value: String(&webhook)},
	)
	s.Derive(func() error {
		if n.Installation == "" {
			n.Installation = c.Index.Prefix
		}
		n.UIURL = c.Temporal.UIURL
		n.Channels = nil
		if smtpAddr != "" {
			n.Channels = append(n.Channels, &alert.Email{Addr: smtpAddr, From: from, To: to, Username: user, Password: password})
		}
		if webhook != "" {
			n.Channels = append(n.Channels, &alert.Webhook{URL: webhook})
		}
		return nil
	})
	s.Check(func() error {
		var errs []error
		if smtpAddr != "" && (from == "" || len(to) == 0) {
			errs = append(errs, errors.New("ERPSYNC_ALERT_SMTP_ADDR is set: set ERPSYNC_ALERT_EMAIL_FROM and ERPSYNC_ALERT_EMAIL_TO too"))
		}
		if webhook != "" && !strings.HasPrefix(webhook, "https://") && !strings.HasPrefix(webhook, "http://") {
			errs = append(errs, errors.New("ERPSYNC_ALERT_WEBHOOK_URL: want an http(s) URL"))
		}
		return errors.Join(errs...)
	})
}

func (c *Config) declareSchedules(s *Set) {
	sc := &c.Schedules
	s.Section("schedules", "Schedules (starter schedules apply)")
	s.Add(
		&Setting{Key: "schedules.prefix", Env: []string{"ERPSYNC_SCHEDULE_PREFIX"}, Flag: "schedule-prefix",
			Help: "Put before every schedule ID, so that several installations can share a Temporal namespace.", Value: String(&sc.Prefix)},
		&Setting{Key: "schedules.update-every", Env: []string{"ERPSYNC_UPDATE_EVERY"}, Flag: "update-every", Default: DefaultUpdateEvery.String(),
			Help: "Interval of the update runs.", Value: Duration(&sc.UpdateEvery), Check: minDuration(&sc.UpdateEvery, time.Second)},
		&Setting{Key: "schedules.rebuild-cron", Env: []string{"ERPSYNC_REBUILD_CRON"}, Flag: "rebuild-cron", Default: DefaultRebuildCron,
			Help: "Cron expression (UTC) of the rebuild runs.", Value: String(&sc.RebuildCron), Check: cron(&sc.RebuildCron)},
		&Setting{Key: "schedules.reconcile-every", Env: []string{"ERPSYNC_RECONCILE_EVERY"}, Flag: "reconcile-every", Default: DefaultReconcileEvery.String(),
			Help: "Interval of the reconcile runs (child-stamps).", Value: Duration(&sc.ReconcileEvery), Check: minDuration(&sc.ReconcileEvery, time.Second)},
		&Setting{Key: "schedules.audit-cron", Env: []string{"ERPSYNC_AUDIT_CRON"}, Flag: "audit-cron", Default: DefaultAuditCron,
			Help: "Cron expression (UTC) of the audit runs (child-stamps).", Value: String(&sc.AuditCron), Check: cron(&sc.AuditCron)},
	)
}

func (c *Config) declareLog(s *Set) {
	s.Section("log", "Logging")
	s.Add(
		&Setting{Key: "log.level", Env: []string{"ERPSYNC_LOG_LEVEL"}, Flag: "log-level", Default: "info",
			Help: "debug, info, warn or error.", Value: String(&c.Log.Level),
			Check: oneOf(&c.Log.Level, "debug", "info", "warn", "error")},
		&Setting{Key: "log.format", Env: []string{"ERPSYNC_LOG_FORMAT"}, Flag: "log-format", Default: "json",
			Help: "json or console.", Value: String(&c.Log.Format), Check: oneOf(&c.Log.Format, "json", "console")},
	)
}

func (c *Config) declareWorker(s *Set) {
	w := &c.Worker
	s.Section("worker", "Worker")
	s.Add(
		&Setting{Key: "worker.metrics-addr", Env: []string{"ERPSYNC_METRICS_ADDR"}, Flag: "metrics-addr", Aliases: []string{"metrics"},
			Default: DefaultMetricsAddr, Help: "Prometheus metrics at http://ADDR/metrics (0.0.0.0:9464 to be scraped from elsewhere).",
			Value: String(&w.MetricsAddr), Check: hostPort(&w.MetricsAddr)},
		&Setting{Key: "worker.pprof-addr", Env: []string{"ERPSYNC_PPROF_ADDR"}, Flag: "pprof-addr", Aliases: []string{"pprof"}, DefaultText: "off",
			Help: "Go profiles at http://ADDR/debug/pprof/, on a listener of their own.", Value: String(&w.PprofAddr),
			Check: func() error {
				if w.PprofAddr == "" {
					return nil
				}
				return hostPort(&w.PprofAddr)()
			}},
	)
}

func (c *Config) declareStorefront(s *Set) {
	f := &c.Storefront
	s.Section("storefront", "Storefront")
	s.Add(
		&Setting{Key: "storefront.addr", Env: []string{"STOREFRONT_ADDR"}, Flag: "addr", Default: DefaultStorefrontAddr,
			Help: "Listen address.", Value: String(&f.Addr), Check: hostPort(&f.Addr)},
		&Setting{Key: "storefront.api-key", Env: []string{"STOREFRONT_API_KEY"}, Flag: "api-key", Default: defaultStorefrontKey, Secret: true,
			Help:  "The API key of every /api/ call (header X-Api-Key, or the demo page's login); set your own outside development.",
			Value: String(&f.APIKey), Check: func() error {
				if f.APIKey == "" {
					return errors.New("is empty")
				}
				return nil
			}},
		&Setting{Key: "storefront.demo", Env: []string{"STOREFRONT_DEMO"}, Flag: "demo", Default: "false",
			Help: "Serve the demo page's login, which issues shopper tokens for the webshops' demo accounts (make dev turns it on); " +
				"never on a production storefront: anyone with the API key could shop as those accounts.",
			Value: Bool(&f.Demo)},
		&Setting{Key: "storefront.plain-http", Env: []string{"STOREFRONT_PLAIN_HTTP"}, Flag: "plain-http", Default: "false",
			Help:  "Send the session cookie without Secure, for a page served over plain http (make dev turns it on); keep it off behind https, including a TLS-terminating proxy.",
			Value: Bool(&f.PlainHTTP)},
	)
}

// declareWebshops declares the webshops; storefront makes at least one required, each with its
// token secret file. For the worker they decide which records are indexed and, when erp.companies
// is not set, which companies are read.
func (c *Config) declareWebshops(s *Set, storefront bool) {
	s.Section("webshops", "Webshops (docs/webshops.md)")
	s.Add(&Setting{Key: "webshops", Env: []string{"ERPSYNC_WEBSHOPS"}, Flag: "webshops", DefaultText: "none: every record is indexed",
		Help: "The webshops the index serves: in the file a list of maps with id, company, languages, default-language, currencies, " +
			"template-customer, products {item-groups, root-category}, customers {groups, accounts}, token-secret-file and demo " +
			"{customer, contact, agent}; from a flag or the environment the same list as JSON. A new webshop or a changed " +
			"item-groups or customers filter needs a rebuild (an update refuses to run until then).",
		Value: Webshops(&c.Webshops),
		Check: func() error {
			var errs []error
			if storefront && len(c.Webshops) == 0 {
				errs = append(errs, errors.New("want at least one webshop: the storefront serves webshops"))
			}
			if err := webshop.Validate(c.Webshops, c.Index.Codes()); err != nil {
				errs = append(errs, err)
			}
			for _, w := range c.Webshops {
				if storefront && w.TokenSecretFile == "" {
					errs = append(errs, fmt.Errorf("webshop %s: no token-secret-file: the storefront verifies its shoppers' tokens with that secret", w.ID))
				}
			}
			return errors.Join(errs...)
		}})
	s.Derive(func() error {
		c.Import.Document.Webshops = c.Webshops
		if _, reads := s.Lookup("erp.companies"); !reads || len(c.Webshops) == 0 {
			return nil
		}
		return s.SetDerived("erp.companies", strings.Join(webshop.Companies(c.Webshops), ","), "derived from webshops")
	})
}

func atLeast(p *int, lo int) func() error {
	return func() error {
		if *p < lo {
			return fmt.Errorf("want at least %d", lo)
		}
		return nil
	}
}

func between(p *int, lo, hi int) func() error {
	return func() error {
		if *p < lo || *p > hi {
			return fmt.Errorf("want %d to %d", lo, hi)
		}
		return nil
	}
}

func positive(p *time.Duration) func() error {
	return func() error {
		if *p <= 0 {
			return errors.New("want a positive duration")
		}
		return nil
	}
}

func minDuration(p *time.Duration, lo time.Duration) func() error {
	return func() error {
		if *p < lo {
			return fmt.Errorf("want at least %s", lo)
		}
		return nil
	}
}

func oneOf(p *string, choices ...string) func() error {
	return func() error {
		if !slices.Contains(choices, *p) {
			return fmt.Errorf("want one of %s", strings.Join(choices, ", "))
		}
		return nil
	}
}

func hostPort(p *string) func() error {
	return func() error {
		if _, _, err := net.SplitHostPort(*p); err != nil {
			return errors.New("want host:port, e.g. 127.0.0.1:8080")
		}
		return nil
	}
}

// cron checks the shape of a cron expression: five fields (Temporal parses the rest).
func cron(p *string) func() error {
	return func() error {
		if f := strings.Fields(*p); len(f) != 5 && !strings.HasPrefix(*p, "@") {
			return errors.New(`want a cron expression of five fields, e.g. "0 2 * * *"`)
		}
		return nil
	}
}

// ElasticsearchFromEnv reads only the Elasticsearch settings, from env (tests and tools).
func ElasticsearchFromEnv(env Env) (search.Config, error) {
	c, s := &Config{}, NewSet("elasticsearch")
	c.declareElasticsearch(s)
	fs := flag.NewFlagSet("elasticsearch", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err := s.Parse(fs, nil, env)
	return c.Elasticsearch, err
}
