package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/shopper"
	"github.com/erpsync/erpsync/storefront"
	"github.com/erpsync/erpsync/webshop"
)

// webshopsOf are one webshop per company of cat, named after it, showing English and German and
// the currencies its customers buy in, with the generator's template customer.
func webshopsOf(cat generate.Config) []webshop.Webshop {
	currencies := map[string][]string{"usmf": {"USD", "EUR"}, "demf": {"EUR", "USD"}, "gbsi": {"GBP", "EUR"}}
	var out []webshop.Webshop
	for _, c := range cat.Companies {
		out = append(out, webshop.Webshop{ID: c, Company: c, Languages: []string{"en", "de"}, Currencies: currencies[c],
			TemplateCustomer: generate.TemplateAccount(c)})
	}
	return out
}

// withWebshops returns settings whose documents are built for shops.
func withWebshops(settings activities.Settings, shops []webshop.Webshop) activities.Settings {
	settings.Document.Webshops = shops
	return settings
}

// webshopsJSON is shops as ERPSYNC_WEBSHOPS holds them.
func webshopsJSON(t testing.TB, shops []webshop.Webshop) string {
	b, err := json.Marshal(shops)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// secretOf is the test's token secret of webshop id.
func secretOf(id string) []byte { return []byte("e2e-token-secret-of-" + id + "-0123456789abcdef") }

// storefrontOver serves a storefront over the stack's index for the webshops its documents were
// built for (s.settings.Document.Webshops), with API key "k"; cfg sets the rest.
func (s *stack) storefrontOver(t testing.TB, cfg storefront.Config) *httptest.Server {
	t.Helper()
	cfg.ES, cfg.Prefix, cfg.APIKey, cfg.Webshops = s.es, s.prefix, "k", s.settings.Document.Webshops
	cfg.TokenSecrets = map[string][]byte{}
	for _, w := range cfg.Webshops {
		cfg.TokenSecrets[w.ID] = secretOf(w.ID)
	}
	if cfg.Log == nil {
		cfg.Log = zaptest.NewLogger(t)
	}
	srv, err := storefront.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CheckWebshops(context.Background()); err != nil {
		t.Fatalf("the storefront's webshops: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

// token is a shopper token for id of kind in webshop shop, as its backend issues it.
func token(t testing.TB, shop string, kind shopper.Kind, id string) string {
	t.Helper()
	tok, err := shopper.Issue(secretOf(shop), shop, kind, id, time.Now(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestWorkerRefusesAWebshopWithoutItsTemplateCustomer starts the worker binary against the
// simulator with two webshops, one of whose template customer the ERP does not have: it exits
// at once, naming that webshop and the account, and not the other.
func TestWorkerRefusesAWebshopWithoutItsTemplateCustomer(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(43)
	cat.Products = 30
	s := newStackWithoutWorker(t, cat, erpsim.Config{}, activities.Settings{})
	bin := buildWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--log-format", "console", "--metrics", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "ERPSYNC_TASK_QUEUE="+s.queue, "ERPSYNC_INDEX_PREFIX="+s.prefix, "ERP_URL="+s.sim.URL,
		"ERP_CLIENT_ID="+s.sim.ClientID, "ERP_CLIENT_SECRET="+s.sim.ClientSecret, "XDG_CONFIG_HOME="+t.TempDir(),
		`ERPSYNC_WEBSHOPS=[{"id":"us","company":"usmf","languages":["en"],"currencies":["USD"],"template-customer":"US-WEB"},`+
			`{"id":"de","company":"demf","languages":["de"],"currencies":["EUR"],"template-customer":"DE-GAST"}]`)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the worker did not stop: %s", out)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("the worker ended with %v, want exit status 1:\n%s", err, out)
	}
	if !strings.Contains(string(out), "webshop de: its template customer DE-GAST is not a customer of company demf") ||
		strings.Contains(string(out), "webshop us:") {
		t.Errorf("the worker's message does not name webshop de and DE-GAST alone:\n%s", out)
	}
}
