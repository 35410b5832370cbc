package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/shopper"
	"github.com/erpsync/erpsync/storefront"
	"github.com/erpsync/erpsync/webshop"
	"github.com/erpsync/erpsync/workflows"
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

// TestCustomerFilterExclusions: a webshop's customer filter ("index only the accounts you
// need") keeps the accounts it does not take out of the index, and the ERP-vs-index checker
// counts them as intended exclusions, not as missing: after a rebuild, and after an update run
// that moves one account into the filter and another out of it. The usmf webshop takes customer
// group 10 and US-002; demf's takes every customer; no webshop is of gbsi, so none of its
// customers, contacts or sales representatives is indexed.
func TestCustomerFilterExclusions(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(44)
	cat.Products = 20
	shops := webshopsOf(cat)[:2]
	shops[0].Customers = webshop.CustomerFilter{Groups: []string{"10"}, Accounts: []string{"US-002"}}
	s := newStack(t, cat, erpsim.Config{}, withWebshops(activities.Settings{PageSize: 50, SafetyLag: time.Second}, shops))
	res := s.run(workflows.CustomerImportName, activities.Rebuild)

	// The accounts the filter leaves out, by the ERP's rows: usmf customers neither in group 10
	// nor US-002 nor the template customer, and everything of gbsi.
	var outUS, inUS []string
	gbsi := map[erp.Entity]int{}
	for _, c := range s.erp.All(t, "CustomersV3") {
		a := c.S("CustomerAccount")
		switch strings.ToLower(c.S("dataAreaId")) {
		case "usmf":
			if c.S("CustomerGroupId") != "10" && a != "US-002" && a != shops[0].TemplateCustomer {
				outUS = append(outUS, a)
			} else if c.S("CustomerGroupId") == "10" && a != "US-002" && a != shops[0].TemplateCustomer {
				inUS = append(inUS, a)
			}
		case "gbsi":
			gbsi[erp.Customers]++
		}
	}
	for collection, e := range map[string]erp.Entity{"ContactPersonsV2": erp.Contacts, "SalesRepresentatives": erp.SalesReps} {
		for _, r := range s.erp.All(t, collection) {
			if strings.EqualFold(r.S("dataAreaId"), "gbsi") {
				gbsi[e]++
			}
		}
	}
	if len(outUS) == 0 || len(inUS) == 0 || gbsi[erp.Customers] == 0 {
		t.Fatalf("the catalog does not exercise the filter: %d usmf customers out, %d in; %d gbsi customers", len(outUS), len(inUS), gbsi[erp.Customers])
	}
	slices.Sort(outUS)
	slices.Sort(inUS)

	check := func(when string, res workflows.ImportResult, wantCustomers int) {
		t.Helper()
		excluded := s.checkCustomers()
		if excluded[erp.Customers] != wantCustomers || excluded[erp.Contacts] != gbsi[erp.Contacts] || excluded[erp.SalesReps] != gbsi[erp.SalesReps] {
			t.Errorf("%s: the checker counts %v intended exclusions; want %d customers (%d of usmf), %d contacts, %d sales representatives",
				when, excluded, wantCustomers, wantCustomers-gbsi[erp.Customers], gbsi[erp.Contacts], gbsi[erp.SalesReps])
		}
		for _, r := range res.Entities {
			t.Logf("%s: %s %+v", when, r.Entity, r.Counts)
		}
	}
	check("rebuild", res, len(outUS)+gbsi[erp.Customers])
	if got := res.Of(erp.Customers).Counts.Excluded; got != len(outUS)+gbsi[erp.Customers] {
		t.Errorf("the rebuild excluded %d customers, want %d", got, len(outUS)+gbsi[erp.Customers])
	}

	// One account moves into the filter's group, another out of it.
	joins, leaves := outUS[0], inUS[0]
	s.erp.Write(t, "PATCH", "CustomersV3"+key("usmf", "CustomerAccount", joins), map[string]any{"CustomerGroupId": "10"})
	s.erp.Write(t, "PATCH", "CustomersV3"+key("usmf", "CustomerAccount", leaves), map[string]any{"CustomerGroupId": "20"})
	s.pastSafetyLag()
	res = s.run(workflows.CustomerImportName, activities.Update)
	check("update", res, len(outUS)+gbsi[erp.Customers])
	got := s.docs(erp.Customers)
	if _, ok := got["usmf:"+joins]; !ok {
		t.Errorf("%s joined group 10 and is not in the index", joins)
	}
	if _, ok := got["usmf:"+leaves]; ok {
		t.Errorf("%s left group 10 and is still in the index", leaves)
	}
}
