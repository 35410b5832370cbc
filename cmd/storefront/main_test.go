package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestLoadDefaults(t *testing.T) {
	t.Setenv("ELASTICSEARCH_URL", "http://127.0.0.1:9200")
	for _, k := range []string{"STOREFRONT_ADDR", "STOREFRONT_API_KEY", "STOREFRONT_COMPANY", "ERPSYNC_INDEX_PREFIX", "STOREFRONT_CUSTOMER_LIST", "STOREFRONT_PLAIN_HTTP"} {
		t.Setenv(k, "")
	}
	c, err := load(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:8080" || c.apiKey != "erpsync-dev-key" || c.company != "usmf" || c.prefix != "erpsync" || c.customerList || c.plainHTTP {
		t.Errorf("defaults: %+v", c)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	t.Setenv("ELASTICSEARCH_URL", "")
	t.Setenv("STOREFRONT_ADDR", "nowhere")
	t.Setenv("STOREFRONT_CUSTOMER_LIST", "maybe")
	t.Setenv("STOREFRONT_PLAIN_HTTP", "perhaps")
	_, err := load(nil, &bytes.Buffer{})
	for _, want := range []string{"ELASTICSEARCH_URL", "STOREFRONT_ADDR", "STOREFRONT_CUSTOMER_LIST", "STOREFRONT_PLAIN_HTTP"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := load([]string{"--help"}, &out)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "STOREFRONT_API_KEY") || !strings.Contains(out.String(), "/api/price") {
		t.Errorf("--help: %v\n%s", err, out.String())
	}
}

// TestLoadDemoSwitches: the customer list and plain-http cookies only when asked for, by
// environment (as make dev does) or flag.
func TestLoadDemoSwitches(t *testing.T) {
	t.Setenv("ELASTICSEARCH_URL", "http://127.0.0.1:9200")
	t.Setenv("STOREFRONT_CUSTOMER_LIST", "true")
	t.Setenv("STOREFRONT_PLAIN_HTTP", "")
	c, err := load([]string{"--plain-http"}, &bytes.Buffer{})
	if err != nil || !c.customerList || !c.plainHTTP {
		t.Errorf("customer list %v, plain http %v, %v; want both on", c.customerList, c.plainHTTP, err)
	}
}
