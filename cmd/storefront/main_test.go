package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/config"
	"github.com/erpsync/erpsync/storefront"
	"github.com/erpsync/erpsync/webshop"
)

// env is a test's environment.
func env(kv ...string) config.Env {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// webshops is one webshop as ERPSYNC_WEBSHOPS holds it.
const webshops = `[{"id":"us","company":"usmf","languages":["en"],"currencies":["USD"],"template-customer":"US-WEB","token-secret-file":"us.key"}]`

func TestLoadDefaults(t *testing.T) {
	c, err := load(nil, env("ERPSYNC_WEBSHOPS", webshops), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Storefront
	if f.Addr != "127.0.0.1:8080" || f.APIKey != storefront.DefaultAPIKey || len(c.Webshops) != 1 ||
		c.Index.Prefix != "erpsync" || f.Demo || f.PlainHTTP || c.Elasticsearch.URL != "http://127.0.0.1:9200" {
		t.Errorf("defaults: %+v %+v", f, c.Elasticsearch)
	}
	if strings.Join(c.Index.Codes(), ",") != "en,de,nl,fr" {
		t.Errorf("languages %v", c.Index.Codes())
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := load(nil, env("ELASTICSEARCH_PASSWORD", "p", "STOREFRONT_ADDR", "nowhere", "STOREFRONT_DEMO", "maybe",
		"STOREFRONT_PLAIN_HTTP", "perhaps"), &bytes.Buffer{})
	for _, want := range []string{"password is set without a user name", "STOREFRONT_ADDR", "STOREFRONT_DEMO", "STOREFRONT_PLAIN_HTTP", "want at least one webshop"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := load([]string{"--help"}, env(), &out)
	for _, want := range []string{"STOREFRONT_API_KEY", "/api/price", "/api/me", "--plain-http", "--demo", "ERPSYNC_WEBSHOPS", "ERPSYNC_LANGUAGES", "ELASTICSEARCH_CLOUD_ID"} {
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), want) {
			t.Errorf("--help: %v; lacks %s\n%s", err, want, out.String())
		}
	}
}

// TestLoadDemoSwitches: the demo login and plain-http cookies only when asked for, by
// environment (as make dev does) or flag.
func TestLoadDemoSwitches(t *testing.T) {
	c, err := load([]string{"--plain-http"}, env("STOREFRONT_DEMO", "true", "ERPSYNC_WEBSHOPS", webshops), &bytes.Buffer{})
	if err != nil || !c.Storefront.Demo || !c.Storefront.PlainHTTP {
		t.Errorf("demo %v, plain http %v, %v; want both on", c.Storefront.Demo, c.Storefront.PlainHTTP, err)
	}
}

// TestTokenSecrets: each webshop's secret comes from its file, and a file that cannot be read is
// named with its webshop.
func TestTokenSecrets(t *testing.T) {
	dir := t.TempDir()
	us := filepath.Join(dir, "us.key")
	if err := os.WriteFile(us, []byte("  0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := tokenSecrets([]webshop.Webshop{{ID: "us", TokenSecretFile: us}})
	if err != nil || string(got["us"]) != "0123456789abcdef0123456789abcdef" {
		t.Errorf("secrets %q %v", got, err)
	}
	if _, err := tokenSecrets([]webshop.Webshop{{ID: "de", TokenSecretFile: filepath.Join(dir, "none")}}); err == nil || !strings.Contains(err.Error(), "webshop de: token secret") {
		t.Errorf("a missing file: %v", err)
	}
}
