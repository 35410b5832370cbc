package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.temporal.io/sdk/client"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/storefront"
	"github.com/erpsync/erpsync/workflows"
)

// TestSecuredElasticsearch runs erpsync against a node with security on, each part with
// credentials that hold only what it needs (the privileges docker-compose.yml gives its keys):
// the worker binary imports with its own; the storefront searches with read on the aliases it joins and
// can neither write nor read anything else; `worker config check` names the privileges a
// read-only user lacks and a wrong password. The users are file-realm users with roles of
// roles.yml (testenv.StartSecuredElasticsearch says why not API keys).
func TestSecuredElasticsearch(t *testing.T) {
	t.Parallel()
	prefix := "t-secured-" + strings.ToLower(testenv.TaskQueue(t))[len("test-testsecuredelasticsearch-"):]
	node := testenv.StartSecuredElasticsearch(t, map[string]search.Privileges{
		"erpsync-worker":     search.WorkerPrivileges(prefix),
		"erpsync-storefront": search.StorefrontPrivileges(prefix),
		"erpsync-reader":     {Indices: []search.IndexPrivileges{{Names: []string{prefix + "-*"}, Privileges: []string{"read", "view_index_metadata"}}}},
	}, map[string]string{"worker": "erpsync-worker", "storefront": "erpsync-storefront", "reader": "erpsync-reader"})
	admin := node.Client(t, testenv.AdminUser)

	sim := simtest.Start(t, simtest.Catalog(43), erpsim.Config{})
	shops := webshopsOf(simtest.Catalog(43))
	tc := testenv.Temporal(t)
	queue := testenv.TaskQueue(t)
	testenv.EndWorkflowsOn(t, tc, queue)
	bin := buildWorker(t)
	env := func(user, password string, extra ...string) []string {
		return append(append(os.Environ(),
			"ELASTICSEARCH_URL="+node.URL, "ELASTICSEARCH_USERNAME="+user, "ELASTICSEARCH_PASSWORD="+password,
			"ERPSYNC_INDEX_PREFIX="+prefix, "ERPSYNC_TASK_QUEUE="+queue,
			"ERP_URL="+sim.URL, "ERP_CLIENT_ID="+sim.ClientID, "ERP_CLIENT_SECRET="+sim.ClientSecret,
			"ERPSYNC_LOG_LEVEL=warn", "ERPSYNC_METRICS_ADDR=127.0.0.1:0", "XDG_CONFIG_HOME="+t.TempDir(),
			"ERPSYNC_WEBSHOPS="+webshopsJSON(t, shops)), extra...)
	}

	t.Run("config check", func(t *testing.T) {
		check := func(user, password string) (string, int) {
			cmd := exec.Command(bin, "config", "check")
			cmd.Env = env(user, password)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			var exit *exec.ExitError
			if err := cmd.Run(); err != nil && !errors.As(err, &exit) {
				t.Fatal(err)
			}
			return out.String(), cmd.ProcessState.ExitCode()
		}
		out, code := check("worker", node.Password)
		if code != 0 || !strings.Contains(out, "ok    Elasticsearch    "+node.URL+": user worker (file) holds create_index, delete_index, manage, read, write, view_index_metadata on "+prefix+"-*") {
			t.Errorf("the worker's user: exit %d\n%s", code, out)
		}
		out, code = check("reader", node.Password)
		want := "FAIL  Elasticsearch    " + node.URL + ": user reader (file) lacks cluster monitor, create_index on " + prefix +
			"-*, delete_index on " + prefix + "-*, manage on " + prefix + "-*, write on " + prefix + "-*"
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("a user without write privilege: exit %d, want 1 and\n%s\ngot\n%s", code, want, out)
		}
		out, code = check("worker", "not-the-password")
		if code != 1 || !strings.Contains(out, "FAIL  Elasticsearch") || !strings.Contains(out, "the credentials were refused") {
			t.Errorf("a wrong password: exit %d\n%s", code, out)
		}
	})

	// The worker imports with its own user.
	worker := exec.Command(bin)
	worker.Env = env("worker", node.Password)
	worker.Stdout, worker.Stderr = os.Stderr, os.Stderr
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = worker.Process.Kill(); _ = worker.Wait() })
	for _, wf := range []string{workflows.ProductImportName, workflows.CustomerImportName} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%s", queue, wf), TaskQueue: queue}, wf,
			workflows.ImportInput{Mode: activities.Rebuild})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		var res workflows.ImportResult
		err = run.Get(ctx, &res)
		cancel()
		if err != nil {
			t.Fatalf("%s with the worker's user: %v", wf, err)
		}
	}
	x := search.New(admin, prefix)
	if err := x.Refresh(context.Background(), x.Alias(erp.Products)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, admin, x.Alias(erp.Products)); n != simtest.Catalog(43).Products {
		t.Errorf("%d products in the secured index, want the ERP's %d", n, simtest.Catalog(43).Products)
	}

	t.Run("storefront", func(t *testing.T) {
		es := node.Client(t, "storefront")
		secrets := map[string][]byte{}
		for _, w := range shops {
			secrets[w.ID] = secretOf(w.ID)
		}
		srv, err := storefront.New(storefront.Config{ES: es, Prefix: prefix, APIKey: "k", Webshops: shops, TokenSecrets: secrets})
		if err != nil {
			t.Fatal(err)
		}
		// It reads each webshop's template customer with its own user.
		if err := srv.CheckWebshops(context.Background()); err != nil {
			t.Errorf("the storefront's webshops with its read-only user: %v", err)
		}
		hs := httptest.NewServer(srv)
		defer hs.Close()
		req, _ := http.NewRequest(http.MethodGet, hs.URL+"/api/search?company=usmf&per_page=5", nil)
		req.Header.Set("X-Api-Key", "k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sr storefront.SearchResult
		if err := json.NewDecoder(resp.Body).Decode(&sr); err != nil || resp.StatusCode != http.StatusOK || sr.Total == 0 || len(sr.Hits) == 0 {
			t.Errorf("the storefront with its read-only user: %d, %d products, %v", resp.StatusCode, sr.Total, err)
		}
		// It may read the aliases it searches and joins and nothing else, and write nothing.
		if a, err := search.CheckAccess(context.Background(), es, search.StorefrontPrivileges(prefix)); err != nil || len(a.Missing) > 0 {
			t.Errorf("the storefront's privileges: %+v %v", a, err)
		}
		res, err := es.Index(x.Alias(erp.Products), strings.NewReader(`{"id":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("the storefront's user writing a product: HTTP %d, want 403", res.StatusCode)
		}
		res, err = es.Search(es.Search.WithIndex(x.DeadLetterIndex()))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("the storefront's user reading the dead letters: HTTP %d, want 403", res.StatusCode)
		}
	})
}

// count returns the number of live documents of index.
func count(t *testing.T, es *elasticsearch.Client, index string) int {
	t.Helper()
	res, err := es.Count(es.Count.WithIndex(index), es.Count.WithQuery("NOT deleted:true"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var c struct {
		Count int `json:"count"`
	}
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil || res.IsError() {
		t.Fatalf("count %s: %s %v", index, res.Status(), err)
	}
	return c.Count
}
