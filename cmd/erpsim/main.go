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
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	erpconfig "github.com/erpsync/erpsync/config"
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
  GET  /data/$metadata            the collections' entity types and keys (OData CSDL XML)
  GET|PUT /admin/faults           fault settings as JSON (bearer token)
  GET|PUT /admin/changes          change driver {"rate": N} (bearer token)

Example:
  TOKEN=$(curl -s -d grant_type=client_credentials -d client_id=erpsync \
      -d client_secret=erpsync-dev-secret http://127.0.0.1:8088/oauth2/token | jq -r .access_token)
  curl -H "Authorization: Bearer $TOKEN" \
      "http://127.0.0.1:8088/data/ReleasedProductsV2?\$top=2&\$select=ItemNumber,ProductName"

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

func parseConfig(args []string, stderr io.Writer) (*config, error) {
	c, set := declare()
	fs := flag.NewFlagSet("erpsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		set.PrintSettings(stderr)
	}
	pos, err := set.Parse(fs, args, erpconfig.OSEnv)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (flags go after the subcommand)", pos)
	}
	return c, nil
}

// declare returns the simulator's settings, bound to a new config.
func declare() (*config, *erpconfig.Set) {
	c := &config{}
	set := erpconfig.NewSet("erpsim")
	d := generate.Defaults()
	seed := int(d.Seed)
	set.Section("simulator", "Simulator")
	str := func(p *string, name, env, def, help string) *erpconfig.Setting {
		return &erpconfig.Setting{Key: "simulator." + name, Flag: name, Env: []string{env}, Default: def, Help: help, Value: erpconfig.String(p)}
	}
	dur := func(p *time.Duration, name, env string, def time.Duration, help string) *erpconfig.Setting {
		return &erpconfig.Setting{Key: "simulator." + name, Flag: name, Env: []string{env}, Default: def.String(), Help: help, Value: erpconfig.Duration(p)}
	}
	num := func(p *float64, name, env string, def float64, help string) *erpconfig.Setting {
		return &erpconfig.Setting{Key: "simulator." + name, Flag: name, Env: []string{env}, Default: strconv.FormatFloat(def, 'g', -1, 64), Help: help, Value: erpconfig.Float(p)}
	}
	whole := func(p *int, name, env string, def int, help string) *erpconfig.Setting {
		return &erpconfig.Setting{Key: "simulator." + name, Flag: name, Env: []string{env}, Default: strconv.Itoa(def), Help: help, Value: erpconfig.Int(p)}
	}
	onOff := func(p *string, name, env, help string) *erpconfig.Setting {
		st := str(p, name, env, "on", help)
		st.Check = func() error {
			if *p != "on" && *p != "off" {
				return errors.New("want on or off")
			}
			return nil
		}
		return st
	}
	secret := str(&c.clientSecret, "client-secret", "ERPSIM_CLIENT_SECRET", erpsim.DefaultClientSecret, "OAuth2 client secret.")
	secret.Secret = true
	changeRate := num(&c.changeRate, "change-rate", "ERPSIM_CHANGE_RATE", 1, "Random creates, edits and deletes per second over every entity kind (0: none).")
	changeRate.Check = func() error {
		if c.changeRate < 0 {
			return errors.New("must not be negative")
		}
		return nil
	}
	set.Add(
		str(&c.listen, "listen", "ERPSIM_ADDR", "127.0.0.1:8088", "Address to serve on."),
		str(&c.db, "db", "ERPSIM_DB", "erpsim.db", `SQLite database file (":memory:" for a throw-away one).`),
		str(&c.clientID, "client-id", "ERPSIM_CLIENT_ID", erpsim.DefaultClientID, "OAuth2 client id."),
		secret,
		dur(&c.tokenTTL, "token-ttl", "ERPSIM_TOKEN_TTL", erpsim.DefaultTokenTTL, "Lifetime of bearer tokens."),
		str(&c.logLevel, "log-level", "ERPSIM_LOG_LEVEL", "info", "debug, info, warn or error (debug logs every request)."),
		changeRate,
		onOff(&c.bumps, "bumps", "ERPSIM_BUMPS", "on: a child change stamps the roots it belongs to (an ERP add-on such as Sana's); off: it stamps only its own row (stock D365)."),
		onOff(&c.deletionLog, "deletion-log", "ERPSIM_DELETION_LOG", "on: deleting a root writes DeletedRecords (an ERP add-on); off: no deletion log (stock D365)."),
		whole(&seed, "seed", "ERPSIM_SEED", seed, "Generator seed: the same seed gives the same catalog."),
		str(&c.companies, "companies", "ERPSIM_COMPANIES", strings.Join(d.Companies, ","), "Companies (dataAreaId), comma-separated; usmf is the default company."),
		str(&c.languages, "languages", "ERPSIM_LANGUAGES", strings.Join(d.Languages, ","), "Translation languages, comma-separated (en-us, de, nl, fr have real words)."),
		whole(&c.gen.Products, "products", "ERPSIM_PRODUCTS", d.Products, "Released products in total, spread over the companies."),
		num(&c.gen.MasterShare, "master-share", "ERPSIM_MASTER_SHARE", d.MasterShare, "Fraction of products that are masters with variants (negative: none)."),
		whole(&c.gen.VariantsPerMaster, "variants-per-master", "ERPSIM_VARIANTS_PER_MASTER", d.VariantsPerMaster, "Most variants (colour x size) per master."),
		whole(&c.gen.Customers, "customers", "ERPSIM_CUSTOMERS", d.Customers, "Customers in total, spread over the companies."),
		whole(&c.gen.ContactsPerCust, "contacts-per-customer", "ERPSIM_CONTACTS_PER_CUSTOMER", d.ContactsPerCust, "Contact persons per customer (negative: none)."),
		whole(&c.gen.SalesReps, "sales-reps", "ERPSIM_SALES_REPS", d.SalesReps, "Sales representatives in total (about three per commission group)."),
		whole(&c.gen.PriceGroups, "price-groups", "ERPSIM_PRICE_GROUPS", d.PriceGroups, "Customer price groups per company."),
		whole(&c.gen.Categories, "categories", "ERPSIM_CATEGORIES", d.Categories, "Product categories per company (8 top categories, the rest below them)."),
		dur(&c.latency, "latency", "ERPSIM_LATENCY", 0, "Fault: latency added to every /data request."),
		num(&c.faults.ErrorShare, "error-share", "ERPSIM_ERROR_SHARE", 0, "Fault: share of /data requests answered 500 or 503."),
		num(&c.faults.RateLimitShare, "rate-limit-share", "ERPSIM_RATE_LIMIT_SHARE", 0, "Fault: share of /data requests answered 429."),
		dur(&c.retryAfter, "retry-after", "ERPSIM_RETRY_AFTER", time.Second, "Fault: Retry-After of the 429 answers."),
		num(&c.faults.TruncateShare, "truncate-share", "ERPSIM_TRUNCATE_SHARE", 0, "Fault: share of /data responses cut short."),
		dur(&c.clockSkew, "clock-skew", "ERPSIM_CLOCK_SKEW", 0, "Fault: offset added to ModifiedDateTime stamps (may be negative)."),
		num(&c.faults.LateCommitShare, "late-commit-share", "ERPSIM_LATE_COMMIT_SHARE", 0, "Fault: share of driver changes committed late (stamped in the past)."),
		dur(&c.lateCommitDelay, "late-commit-delay", "ERPSIM_LATE_COMMIT_DELAY", 5*time.Second, "Fault: how late a late commit becomes visible."),
	)
	set.Derive(func() error {
		c.gen.Seed = uint64(seed)
		c.gen.Companies = splitList(c.companies)
		c.gen.Languages = splitList(c.languages)
		c.faults.Latency = erpsim.Duration(c.latency)
		c.faults.RetryAfter = erpsim.Duration(c.retryAfter)
		c.faults.ClockSkew = erpsim.Duration(c.clockSkew)
		c.faults.LateCommitDelay = erpsim.Duration(c.lateCommitDelay)
		c.behaviour = store.Behaviour{NoBumps: c.bumps == "off", NoDeletionLog: c.deletionLog == "off"}
		return nil
	})
	set.Check(func() error {
		var errs []error
		if err := c.faults.Validate(); err != nil {
			errs = append(errs, err)
		}
		if c.gen.Products < 0 || c.gen.Customers < 0 || c.gen.SalesReps < 0 {
			errs = append(errs, errors.New("sizes must not be negative"))
		}
		if len(c.gen.Companies) == 0 {
			errs = append(errs, errors.New("--companies is empty"))
		}
		if _, err := parseLevel(c.logLevel); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	return c, set
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
	if os.Getenv("GOGC") == "" {
		// The simulator stands in for an ERP on hardware of its own, and in the benchmarks it
		// shares a CPU with the worker: its GC should not be what limits them. Its live heap is
		// the pages it is encoding; at GOGC=400 it took 9% less CPU serving a rebuild of 100,000
		// products at 150 ms a request than at the default 100 (8.5 to 9.7 s against 9.8 to
		// 10.4 s, 3 runs each), its peak RSS 143 MB. GOGC in the environment wins.
		debug.SetGCPercent(400)
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
