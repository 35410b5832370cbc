package search_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"

	"github.com/erpsync/erpsync/search"
)

// TestCloudID: an Elastic Cloud ID ("name:base64(host$es-id$kibana-id)", as the deployment's
// page shows it) is the address https://<es-id>.<host>; one of URL and Cloud ID is required.
func TestCloudID(t *testing.T) {
	id := "shop:" + base64.StdEncoding.EncodeToString([]byte("westeurope.azure.elastic-cloud.com:443$abc123$def456"))
	es, err := search.NewClient(search.Config{CloudID: id, APIKey: "a2V5"})
	if err != nil {
		t.Fatal(err)
	}
	urls := es.Transport.(*elastictransport.Client).URLs()
	if len(urls) != 1 || urls[0].String() != "https://abc123.westeurope.azure.elastic-cloud.com:443" {
		t.Errorf("Cloud ID %s: addresses %v", id, urls)
	}
	if w := (search.Config{CloudID: id}).Where(); w != "Elastic Cloud deployment shop" {
		t.Errorf("where: %q", w)
	}
	for _, c := range []search.Config{{}, {URL: "http://127.0.0.1:9200", CloudID: id}} {
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "Cloud ID") {
			t.Errorf("%+v: %v; want a problem naming the URL and the Cloud ID", c, err)
		}
	}
}

// TestAPIKeyFromAFile: ELASTICSEARCH_API_KEY_FILE is read (trimmed) when no key is set, for
// images without a shell; a missing or empty file is a configuration error.
func TestAPIKeyFromAFile(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Write([]byte(`{"cluster_name":"x","status":"green"}`))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte("aWQ6c2VjcmV0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	es, err := search.NewClient(search.Config{URL: srv.URL, APIKeyFile: file})
	if err != nil {
		t.Fatal(err)
	}
	res, err := es.Cluster.Health()
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got != "APIKey aWQ6c2VjcmV0" {
		t.Fatalf("Authorization %q, want the key from the file", got)
	}
	for _, bad := range []string{filepath.Join(t.TempDir(), "missing"), filepath.Join(t.TempDir(), "empty")} {
		if strings.HasSuffix(bad, "empty") {
			os.WriteFile(bad, []byte(" \n"), 0o600)
		}
		_, err := search.NewClient(search.Config{URL: srv.URL, APIKeyFile: bad})
		if err == nil || !strings.Contains(err.Error(), "ELASTICSEARCH_API_KEY_FILE") {
			t.Errorf("key file %s: error %v, want one naming ELASTICSEARCH_API_KEY_FILE", bad, err)
		}
	}
}
