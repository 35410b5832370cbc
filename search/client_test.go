package search_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/search"
)

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
	t.Setenv("ELASTICSEARCH_URL", srv.URL)
	t.Setenv("ELASTICSEARCH_API_KEY", "")
	t.Setenv("ELASTICSEARCH_API_KEY_FILE", file)
	es, err := search.NewClient(search.ConfigFromEnv())
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
