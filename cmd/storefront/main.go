// Command storefront serves erpsync's storefront: the webshop's JSON API over the search index
// (search, facets, autocomplete, product detail, per-customer prices) and a demo shop page.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/erpsync/erpsync/config"
	"github.com/erpsync/erpsync/internal/buildinfo"
	"github.com/erpsync/erpsync/logging"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/storefront"
	"github.com/erpsync/erpsync/webshop"
)

const usage = `storefront serves the webshops' queries against erpsync's search index, and a demo shop.

  GET /                                   the demo shop page (log in with the API key; with --demo, sign in as a demo account)
  POST /api/login, POST /api/logout       start and end a session of the demo page (cookie "session")
  GET /api/search?q=&lang=&webshop=&customer=&category=&color=&size=&price_min=&price_max=
                 &sort=relevance|name|price|price_desc&page=&per_page=&after=
  GET /api/autocomplete?q=&lang=&webshop=
  GET /api/products/{company}/{item}?lang=&webshop=&customer=
  GET /api/price?item=&quantity=&date=&variant=&webshop=&customer=
  GET /api/me?page=&per_page=             the webshop, who is shopping and for whom; an agent's customers
  GET /demo/accounts, POST /demo/token    the demo login (--demo only): tokens for the demo accounts
Every /api/ call needs the API key: header X-Api-Key, or the session cookie POST /api/login sets.
Who is shopping comes with each call as a shopper token signed with the webshop's secret
(Authorization: Bearer <JWT>: kind customer|contact|agent, sub, webshop, iat, exp at most an hour
later); without one the shopper is a guest of webshop= (default the first) and pays the template
customer's prices. customer= names the customer a sales agent acts for. docs/webshops.md.
Wrong keys are limited (10 a minute per client address, 100 a minute overall: then 429) and logged.

`

// load reads the storefront's configuration; --help writes the usage and every setting to
// stderr and returns flag.ErrHelp.
func load(args []string, env config.Env, stderr io.Writer) (*config.Config, error) {
	c, set := config.ForStorefront()
	fs := flag.NewFlagSet("storefront", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); set.PrintSettings(stderr) }
	pos, err := set.Parse(fs, args, env)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected arguments %q", pos)
	}
	return c, err
}

func main() {
	if buildinfo.Asked(os.Args[1:]) {
		fmt.Println(buildinfo.String("storefront"))
		return
	}
	c, err := load(os.Args[1:], config.OSEnv, os.Stderr)
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

// tokenSecrets reads each webshop's token secret from its file (surrounding white space
// dropped).
func tokenSecrets(shops []webshop.Webshop) (map[string][]byte, error) {
	out := map[string][]byte{}
	var errs []error
	for _, w := range shops {
		b, err := os.ReadFile(w.TokenSecretFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("webshop %s: token secret: %w", w.ID, err))
			continue
		}
		out[w.ID] = bytes.TrimSpace(b)
	}
	return out, errors.Join(errs...)
}

// run serves until ctx ends, then drains requests for up to 10 seconds.
func run(ctx context.Context, c *config.Config) error {
	log, err := logging.New(c.Log.Level, c.Log.Format)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	for _, w := range c.Warnings() {
		log.Warn(w)
	}
	es, err := search.NewClient(c.Elasticsearch)
	if err != nil {
		return err
	}
	secrets, err := tokenSecrets(c.Webshops)
	if err != nil {
		return err
	}
	f := c.Storefront
	srv, err := storefront.New(storefront.Config{ES: es, Prefix: c.Index.Prefix, APIKey: f.APIKey, Webshops: c.Webshops, TokenSecrets: secrets,
		Demo: f.Demo, Languages: c.Index.Codes(), PlainHTTP: f.PlainHTTP, Log: log})
	if err != nil {
		return err
	}
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = srv.CheckWebshops(checkCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("webshops: %w", err)
	}
	if f.Demo {
		log.Warn("the demo login is on (storefront.demo): anyone with the API key can shop as the webshops' demo accounts; never in production")
	}
	ln, err := net.Listen("tcp", f.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// 32 KiB of request line and headers: the longest valid API URL is a few KiB (the bounds
	// in storefront/input.go).
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10}
	log.Info("storefront serving", zap.String("url", "http://"+ln.Addr().String()+"/"), zap.String("index_prefix", c.Index.Prefix),
		zap.Bool("demo", f.Demo), zap.Bool("plain_http", f.PlainHTTP))
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
