// Command erpsim runs the ERP simulator: a Dynamics 365 Finance and Operations-shaped OData
// service with a generated catalog, a change driver and injectable faults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/internal/buildinfo"
)

const usage = `erpsim - a Dynamics 365 Finance and Operations-shaped ERP simulator

Usage:
  erpsim [serve] [flags]    serve the OData API (generates the catalog first if the database is empty)
  erpsim generate [flags]   only generate the catalog into an empty database, then exit

Endpoints (see erpsim/README.md and docs/erp-model.md):
  POST /oauth2/token              client credentials -> bearer token
  GET  /data/                     the collections; /data/<Collection>?$filter=...&$orderby=...
  GET|PUT /admin/faults           fault settings as JSON (bearer token)
  GET|PUT /admin/changes          change driver {"rate": N} (bearer token)

Example:
  TOKEN=$(curl -s -d grant_type=client_credentials -d client_id=erpsync \
      -d client_secret=erpsync-dev-secret http://127.0.0.1:8088/oauth2/token | jq -r .access_token)
  curl -H "Authorization: Bearer $TOKEN" \
      "http://127.0.0.1:8088/data/ReleasedProductsV2?\$top=2&\$select=ItemNumber,ProductName"

Flags (each also read from the environment variable shown; a flag wins over the variable):
`

// config is everything main needs.
type config struct {
	listen, db                 string
	clientID, clientSecret     string
	tokenTTL                   time.Duration
	logLevel                   string
	changeRate                 float64
	bumps, deletionLog         string
	behaviour                  store.Behaviour
	gen                        generate.Config
	companies, languages       string
	faults                     erpsim.Faults
	latency, retryAfter        time.Duration
	clockSkew, lateCommitDelay time.Duration
}

// envFlags registers flags whose defaults come from environment variables.
type envFlags struct {
	fs   *flag.FlagSet
	errs []error
}

func (e *envFlags) env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func (e *envFlags) str(p *string, name, env, def, help string) {
	e.fs.StringVar(p, name, e.env(env, def), help+" ($"+env+")")
}

func (e *envFlags) dur(p *time.Duration, name, env string, def time.Duration, help string) {
	v := def
	if s, ok := os.LookupEnv(env); ok {
		d, err := time.ParseDuration(s)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("$%s: %w", env, err))
		}
		v = d
	}
	e.fs.DurationVar(p, name, v, help+" ($"+env+")")
}

func (e *envFlags) float(p *float64, name, env string, def float64, help string) {
	v := def
	if s, ok := os.LookupEnv(env); ok {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("$%s: %w", env, err))
		}
		v = f
	}
	e.fs.Float64Var(p, name, v, help+" ($"+env+")")
}

func (e *envFlags) int(p *int, name, env string, def int, help string) {
	v := def
	if s, ok := os.LookupEnv(env); ok {
		n, err := strconv.Atoi(s)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("$%s: %w", env, err))
		}
		v = n
	}
	e.fs.IntVar(p, name, v, help+" ($"+env+")")
}

func parseConfig(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("erpsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	c := &config{}
	e := &envFlags{fs: fs}
	d := generate.Defaults()
	e.str(&c.listen, "listen", "ERPSIM_ADDR", "127.0.0.1:8088", "address to serve on")
	e.str(&c.db, "db", "ERPSIM_DB", "erpsim.db", "SQLite database file (\":memory:\" for a throw-away one)")
	e.str(&c.clientID, "client-id", "ERPSIM_CLIENT_ID", erpsim.DefaultClientID, "OAuth2 client id")
	e.str(&c.clientSecret, "client-secret", "ERPSIM_CLIENT_SECRET", erpsim.DefaultClientSecret, "OAuth2 client secret")
	e.dur(&c.tokenTTL, "token-ttl", "ERPSIM_TOKEN_TTL", erpsim.DefaultTokenTTL, "lifetime of bearer tokens")
	e.str(&c.logLevel, "log-level", "ERPSIM_LOG_LEVEL", "info", "debug, info, warn or error (debug logs every request)")
	e.float(&c.changeRate, "change-rate", "ERPSIM_CHANGE_RATE", 1, "random creates/edits/deletes per second over every entity kind (0: none)")
	e.str(&c.bumps, "bumps", "ERPSIM_BUMPS", "on", "on: a child change stamps the roots it belongs to (an ERP add-on such as Sana's); off: it stamps only its own row (stock D365)")
	e.str(&c.deletionLog, "deletion-log", "ERPSIM_DELETION_LOG", "on", "on: deleting a root writes DeletedRecords (an ERP add-on); off: no deletion log (stock D365)")

	seed := int(d.Seed)
	e.int(&seed, "seed", "ERPSIM_SEED", seed, "generator seed: the same seed gives the same catalog")
	e.str(&c.companies, "companies", "ERPSIM_COMPANIES", strings.Join(d.Companies, ","), "companies (dataAreaId), comma separated; usmf is the default company")
	e.str(&c.languages, "languages", "ERPSIM_LANGUAGES", strings.Join(d.Languages, ","), "translation languages, comma separated (en-us, de, nl, fr have real words)")
	e.int(&c.gen.Products, "products", "ERPSIM_PRODUCTS", d.Products, "released products in total, spread over the companies")
	e.float(&c.gen.MasterShare, "master-share", "ERPSIM_MASTER_SHARE", d.MasterShare, "fraction of products that are masters with variants (negative: none)")
	e.int(&c.gen.VariantsPerMaster, "variants-per-master", "ERPSIM_VARIANTS_PER_MASTER", d.VariantsPerMaster, "most variants (colour x size) per master")
	e.int(&c.gen.Customers, "customers", "ERPSIM_CUSTOMERS", d.Customers, "customers in total, spread over the companies")
	e.int(&c.gen.ContactsPerCust, "contacts-per-customer", "ERPSIM_CONTACTS_PER_CUSTOMER", d.ContactsPerCust, "contact persons per customer (negative: none)")
	e.int(&c.gen.SalesReps, "sales-reps", "ERPSIM_SALES_REPS", d.SalesReps, "sales representatives in total (about three per commission group)")
	e.int(&c.gen.PriceGroups, "price-groups", "ERPSIM_PRICE_GROUPS", d.PriceGroups, "customer price groups per company")
	e.int(&c.gen.Categories, "categories", "ERPSIM_CATEGORIES", d.Categories, "product categories per company (8 top categories, the rest below them)")

	e.dur(&c.latency, "latency", "ERPSIM_LATENCY", 0, "fault: latency added to every /data request")
	e.float(&c.faults.ErrorShare, "error-share", "ERPSIM_ERROR_SHARE", 0, "fault: share of /data requests answered 500 or 503")
	e.float(&c.faults.RateLimitShare, "rate-limit-share", "ERPSIM_RATE_LIMIT_SHARE", 0, "fault: share of /data requests answered 429")
	e.dur(&c.retryAfter, "retry-after", "ERPSIM_RETRY_AFTER", time.Second, "fault: Retry-After of the 429 answers")
	e.float(&c.faults.TruncateShare, "truncate-share", "ERPSIM_TRUNCATE_SHARE", 0, "fault: share of /data responses cut short")
	e.dur(&c.clockSkew, "clock-skew", "ERPSIM_CLOCK_SKEW", 0, "fault: offset added to ModifiedDateTime stamps (may be negative)")
	e.float(&c.faults.LateCommitShare, "late-commit-share", "ERPSIM_LATE_COMMIT_SHARE", 0, "fault: share of driver changes committed late (stamped in the past)")
	e.dur(&c.lateCommitDelay, "late-commit-delay", "ERPSIM_LATE_COMMIT_DELAY", 5*time.Second, "fault: how late a late commit becomes visible")

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (flags go after the subcommand)", fs.Args())
	}
	c.gen.Seed = uint64(seed)
	c.gen.Companies = splitList(c.companies)
	c.gen.Languages = splitList(c.languages)
	c.faults.Latency = erpsim.Duration(c.latency)
	c.faults.RetryAfter = erpsim.Duration(c.retryAfter)
	c.faults.ClockSkew = erpsim.Duration(c.clockSkew)
	c.faults.LateCommitDelay = erpsim.Duration(c.lateCommitDelay)

	errs := e.errs
	if err := c.faults.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, o := range []struct{ name, v string }{{"-bumps", c.bumps}, {"-deletion-log", c.deletionLog}} {
		if o.v != "on" && o.v != "off" {
			errs = append(errs, fmt.Errorf("%s %q: want on or off", o.name, o.v))
		}
	}
	c.behaviour = store.Behaviour{NoBumps: c.bumps == "off", NoDeletionLog: c.deletionLog == "off"}
	if c.changeRate < 0 {
		errs = append(errs, errors.New("-change-rate must not be negative"))
	}
	if c.gen.Products < 0 || c.gen.Customers < 0 || c.gen.SalesReps < 0 {
		errs = append(errs, errors.New("sizes must not be negative"))
	}
	if len(c.gen.Companies) == 0 {
		errs = append(errs, errors.New("-companies is empty"))
	}
	if _, err := parseLevel(c.logLevel); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.ToLower(p))
		}
	}
	return out
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("-log-level: %w", err)
	}
	return l, nil
}

func main() {
	if buildinfo.Asked(os.Args[1:]) {
		fmt.Println(buildinfo.String("erpsim"))
		return
	}
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	if cmd != "serve" && cmd != "generate" && cmd != "help" {
		fmt.Fprintf(os.Stderr, "erpsim: unknown command %q (use serve or generate; -help for help)\n", cmd)
		os.Exit(2)
	}
	if cmd == "help" {
		args = []string{"-help"}
	}
	cfg, err := parseConfig(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "erpsim: %v\n", err)
		os.Exit(2)
	}
	level, _ := parseLevel(cfg.logLevel)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cmd, cfg, log); err != nil {
		log.Error("erpsim stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd string, cfg *config, log *slog.Logger) error {
	st, err := store.Open(ctx, cfg.db)
	if err != nil {
		return err
	}
	defer st.Close()

	n, err := st.Count(ctx, store.LegalEntities)
	if err != nil {
		return err
	}
	switch {
	case n == 0:
		log.Info("generating the catalog", "db", cfg.db, "products", cfg.gen.Products, "customers", cfg.gen.Customers,
			"companies", cfg.gen.Companies, "seed", cfg.gen.Seed)
		stats, err := generate.Run(ctx, st, cfg.gen)
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		log.Info("generated", "records", stats.Total(), "took", stats.Took.Round(time.Millisecond),
			"records_per_second", int(float64(stats.Total())/stats.Took.Seconds()))
	case cmd == "generate":
		return fmt.Errorf("%s already holds a catalog: remove it to generate a new one", cfg.db)
	default:
		log.Info("using the existing catalog", "db", cfg.db)
	}
	if cmd == "generate" {
		return nil
	}

	srv, err := erpsim.NewServer(st, erpsim.Config{
		ClientID: cfg.clientID, ClientSecret: cfg.clientSecret, TokenTTL: cfg.tokenTTL,
		Faults: cfg.faults, Seed: cfg.gen.Seed, ChangeRate: cfg.changeRate, Behaviour: cfg.behaviour, Logger: log,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- srv.Driver().Run(ctx) }()
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			done <- err
			return
		}
		done <- nil
	}()
	log.Info("serving", "url", "http://"+ln.Addr().String(), "client_id", cfg.clientID, "change_rate", cfg.changeRate)

	var first error
	select {
	case <-ctx.Done():
	case first = <-done:
	}
	log.Info("shutting down")
	cancel()
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer shutCancel()
	if err := hs.Shutdown(shutCtx); err != nil && first == nil {
		first = err
	}
	return first
}
