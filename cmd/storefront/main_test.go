package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/config"
	"github.com/erpsync/erpsync/storefront"
)

// env is a test's environment.
func env(kv ...string) config.Env {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadDefaults(t *testing.T) {
	c, err := load(nil, env(), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Storefront
	if f.Addr != "127.0.0.1:8080" || f.APIKey != storefront.DefaultAPIKey || f.Company != storefront.DefaultCompany ||
		c.Index.Prefix != "erpsync" || f.CustomerList || f.PlainHTTP || c.Elasticsearch.URL != "http://127.0.0.1:9200" {
		t.Errorf("defaults: %+v %+v", f, c.Elasticsearch)
	}
	if strings.Join(c.Index.Codes(), ",") != "en,de,nl,fr" {
		t.Errorf("languages %v", c.Index.Codes())
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := load(nil, env("ELASTICSEARCH_PASSWORD", "p", "STOREFRONT_ADDR", "nowhere", "STOREFRONT_CUSTOMER_LIST", "maybe",
		"STOREFRONT_PLAIN_HTTP", "perhaps"), &bytes.Buffer{})
	for _, want := range []string{"password is set without a user name", "STOREFRONT_ADDR", "STOREFRONT_CUSTOMER_LIST", "STOREFRONT_PLAIN_HTTP"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := load([]string{"--help"}, env(), &out)
	for _, want := range []string{"STOREFRONT_API_KEY", "/api/price", "--plain-http", "ERPSYNC_LANGUAGES", "ELASTICSEARCH_CLOUD_ID"} {
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), want) {
			t.Errorf("--help: %v; lacks %s\n%s", err, want, out.String())
		}
	}
}

// TestLoadDemoSwitches: the customer list and plain-http cookies only when asked for, by
// environment (as make dev does) or flag.
func TestLoadDemoSwitches(t *testing.T) {
	c, err := load([]string{"--plain-http"}, env("STOREFRONT_CUSTOMER_LIST", "true"), &bytes.Buffer{})
	if err != nil || !c.Storefront.CustomerList || !c.Storefront.PlainHTTP {
		t.Errorf("customer list %v, plain http %v, %v; want both on", c.Storefront.CustomerList, c.Storefront.PlainHTTP, err)
	}
}
