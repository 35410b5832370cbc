// Command storefront serves erpsync's storefront: the webshop's JSON API over the search index
// (search, facets, autocomplete, product detail, per-customer prices) and a demo shop page.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/erpsync/erpsync/internal/buildinfo"
	"github.com/erpsync/erpsync/logging"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/storefront"
)

const usage = `storefront serves the webshop's queries against erpsync's search index, and a demo shop.

  GET /                                   the demo shop page (log in with the API key)
  POST /api/login, POST /api/logout       start and end a session of the demo page (cookie "session")
  GET /api/search?q=&lang=&company=&customer=&category=&color=&size=&price_min=&price_max=
                 &sort=relevance|name|price|price_desc&page=&per_page=&after=
  GET /api/autocomplete?q=&company=&lang=
  GET /api/products/{company}/{item}?customer=&lang=
  GET /api/price?company=&item=&customer=&quantity=&date=&variant=
  GET /api/customers?company=             account numbers and names (demo picker; --customer-list)
Every /api/ call needs the API key: header X-Api-Key, or the session cookie POST /api/login sets.
Wrong keys are limited (10 a minute per client address, 100 a minute overall: then 429) and logged.

Configuration comes from the environment (flags override):
  STOREFRONT_ADDR          listen address (default 127.0.0.1:8080)
  STOREFRONT_API_KEY       the API key (default erpsync-dev-key: set your own outside development)
  STOREFRONT_COMPANY       default company (default usmf)
  STOREFRONT_CUSTOMER_LIST true or false: serve /api/customers for the demo page's customer
                           picker (default false; make dev turns it on)
  STOREFRONT_PLAIN_HTTP    true or false: the session cookie without Secure, for a page served
                           over plain http (default false; make dev turns it on). Keep it off
                           behind https, including a TLS-terminating proxy
  ELASTICSEARCH_URL        e.g. http://127.0.0.1:9200 (required), with ELASTICSEARCH_API_KEY (or _FILE) or
                           ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD, ELASTICSEARCH_CA_CERT
  ERPSYNC_INDEX_PREFIX     index prefix (default "erpsync")
  ERPSYNC_LOG_LEVEL        debug, info, warn, error (default info; debug logs every request)
  ERPSYNC_LOG_FORMAT       json or console (default json)

Flags:
`

// config is everything main needs; load reads it and reports every problem at once.
type config struct {
	addr, apiKey, company, prefix string
	customerList, plainHTTP       bool
	logLevel, logFormat           string
	es                            search.Config
}

func load(args []string, stderr io.Writer) (config, error) {
	c := config{
		addr:      getenv("STOREFRONT_ADDR", "127.0.0.1:8080"),
		apiKey:    getenv("STOREFRONT_API_KEY", storefront.DefaultAPIKey),
		company:   getenv("STOREFRONT_COMPANY", storefront.DefaultCompany),
		prefix:    getenv("ERPSYNC_INDEX_PREFIX", search.DefaultPrefix),
		logLevel:  getenv("ERPSYNC_LOG_LEVEL", "info"),
		logFormat: getenv("ERPSYNC_LOG_FORMAT", "json"),
		es:        search.ConfigFromEnv(),
	}
	var errs []error
	for name, dst := range map[string]*bool{"STOREFRONT_CUSTOMER_LIST": &c.customerList, "STOREFRONT_PLAIN_HTTP": &c.plainHTTP} {
		switch v := strings.ToLower(getenv(name, "false")); v {
		case "true", "1", "yes":
			*dst = true
		case "false", "0", "no":
		default:
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
		}
	}
	fs := flag.NewFlagSet("storefront", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	fs.StringVar(&c.addr, "addr", c.addr, "listen address")
	fs.StringVar(&c.company, "company", c.company, "default company")
	fs.StringVar(&c.prefix, "index-prefix", c.prefix, "Elasticsearch index prefix")
	fs.StringVar(&c.es.URL, "elasticsearch", c.es.URL, "Elasticsearch URL")
	fs.BoolVar(&c.customerList, "customer-list", c.customerList, "serve /api/customers for the demo page's customer picker")
	fs.BoolVar(&c.plainHTTP, "plain-http", c.plainHTTP, "send the session cookie without Secure (a page served over plain http)")
	fs.StringVar(&c.logLevel, "log-level", c.logLevel, "log level")
	fs.StringVar(&c.logFormat, "log-format", c.logFormat, "log format: json or console")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if err := c.es.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.apiKey == "" {
		errs = append(errs, errors.New("STOREFRONT_API_KEY is empty"))
	}
	if _, _, err := net.SplitHostPort(c.addr); err != nil {
		errs = append(errs, fmt.Errorf("STOREFRONT_ADDR=%q: %w", c.addr, err))
	}
	return c, errors.Join(errs...)
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func main() {
	if buildinfo.Asked(os.Args[1:]) {
		fmt.Println(buildinfo.String("storefront"))
		return
	}
	c, err := load(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "storefront: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintf(os.Stderr, "storefront: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then drains requests for up to 10 seconds.
func run(ctx context.Context, c config) error {
	log, err := logging.New(c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	es, err := search.NewClient(c.es)
	if err != nil {
		return err
	}
	srv, err := storefront.New(storefront.Config{ES: es, Prefix: c.prefix, APIKey: c.apiKey, DefaultCompany: c.company,
		CustomerList: c.customerList, PlainHTTP: c.plainHTTP, Log: log})
	if err != nil {
		return err
	}
	if c.apiKey == storefront.DefaultAPIKey {
		log.Warn("using the development API key: set STOREFRONT_API_KEY outside development")
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// 32 KiB of request line and headers: the longest valid API URL is a few KiB (the bounds
	// in storefront/input.go).
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10}
	log.Info("storefront serving", zap.String("url", "http://"+ln.Addr().String()+"/"), zap.String("index_prefix", c.prefix),
		zap.String("company", c.company), zap.Bool("customer_list", c.customerList), zap.Bool("plain_http", c.plainHTTP))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("storefront shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
