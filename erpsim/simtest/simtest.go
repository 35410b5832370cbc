// Package simtest runs an ERP simulator in-process for tests, as net/http/httptest runs a
// server: a generated catalog in an in-memory store behind a real HTTP listener with the
// simulator's real OAuth2 and OData handlers.
package simtest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/store"
)

// Sim is a running simulator. Its URL serves /oauth2/token and /data/ until the test ends.
type Sim struct {
	URL          string
	ClientID     string
	ClientSecret string
	Store        *store.Store
	Server       *erpsim.Server
	Catalog      generate.Config
}

// Catalog returns a small catalog with every entity and child kind over three companies.
func Catalog(seed uint64) generate.Config {
	return generate.Config{
		Seed: seed, Companies: []string{"usmf", "demf", "gbsi"}, Languages: []string{"en-us", "de", "nl"},
		Products: 300, MasterShare: 0.3, VariantsPerMaster: 4, Customers: 30, ContactsPerCust: 2,
		SalesReps: 9, PriceGroups: 3, Categories: 12,
	}
}

// Start generates cat into a fresh in-memory store and serves it. cfg tunes the server (faults,
// change rate); its zero value is a quiet simulator with the default credentials.
func Start(t testing.TB, cat generate.Config, cfg erpsim.Config) *Sim {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, ":memory:")
	if err != nil {
		t.Fatalf("open simulator store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := generate.Run(ctx, st, cat); err != nil {
		t.Fatalf("generate catalog: %v", err)
	}
	srv, err := erpsim.NewServer(st, cfg)
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	id, secret := cfg.ClientID, cfg.ClientSecret
	if id == "" {
		id = erpsim.DefaultClientID
	}
	if secret == "" {
		secret = erpsim.DefaultClientSecret
	}
	return &Sim{URL: hs.URL, ClientID: id, ClientSecret: secret, Store: st, Server: srv, Catalog: cat}
}
