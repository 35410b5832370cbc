// Package testenv gives end-to-end tests the real services that `make test` provisions:
// Elasticsearch and the Temporal dev server. A test that needs one and cannot reach it fails
// with a message that says how to start it; it is never skipped.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/erpsync/erpsync/config"
	"github.com/erpsync/erpsync/logging"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/visibility"
)

const howToStart = "run the tests with `make test`, which starts the services, or start them with " +
	"`scripts/services.sh up` and export what `scripts/services.sh env` prints"

// Elasticsearch returns a client for ELASTICSEARCH_URL after checking that the cluster answers
// and passes the client's product check. It fails t when it cannot.
func Elasticsearch(t testing.TB) *elasticsearch.Client {
	t.Helper()
	if os.Getenv("ELASTICSEARCH_URL") == "" {
		t.Fatalf("ELASTICSEARCH_URL is not set: %s", howToStart)
	}
	cfg, err := config.ElasticsearchFromEnv(config.OSEnv)
	if err != nil {
		t.Fatalf("elasticsearch settings: %v", err)
	}
	es, err := search.NewClient(cfg)
	if err != nil {
		t.Fatalf("elasticsearch client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := es.Cluster.Health(es.Cluster.Health.WithContext(ctx))
	if err != nil {
		t.Fatalf("Elasticsearch at %s does not answer (%v): %s", cfg.URL, err, howToStart)
	}
	defer res.Body.Close()
	if res.IsError() {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("Elasticsearch at %s: cluster health: %s %s", cfg.URL, res.Status(), body)
	}
	return es
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// Prefix returns an index prefix of t's own, so tests can run in parallel, and deletes every
// index that starts with it when t ends.
func Prefix(t testing.TB, es *elasticsearch.Client) string {
	t.Helper()
	name := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	prefix := fmt.Sprintf("t-%s-%s", name, randomHex(3))
	t.Cleanup(func() { DeleteIndexes(t, es, prefix+"-*") })
	return prefix
}

// DeleteIndexes deletes the indexes matching pattern, naming each (clusters may refuse
// wildcard deletes).
func DeleteIndexes(t testing.TB, es *elasticsearch.Client, pattern string) {
	t.Helper()
	res, err := es.Cat.Indices(es.Cat.Indices.WithIndex(pattern), es.Cat.Indices.WithFormat("json"), es.Cat.Indices.WithH("index"))
	if err != nil {
		t.Errorf("list indexes %s: %v", pattern, err)
		return
	}
	defer res.Body.Close()
	var rows []struct {
		Index string `json:"index"`
	}
	if err := json.NewDecoder(res.Body).Decode(&rows); err != nil {
		t.Errorf("list indexes %s: %v", pattern, err)
		return
	}
	for _, r := range rows {
		del, err := es.Indices.Delete([]string{r.Index})
		if err != nil {
			t.Errorf("delete index %s: %v", r.Index, err)
			continue
		}
		del.Body.Close()
	}
}

// TemporalAddress returns TEMPORAL_ADDRESS or fails t.
func TemporalAddress(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Fatalf("TEMPORAL_ADDRESS is not set: %s", howToStart)
	}
	return addr
}

// Temporal returns a client of the Temporal server at TEMPORAL_ADDRESS (namespace
// TEMPORAL_NAMESPACE or "default"), closed when t ends, logging through t. It registers
// erpsync's search attributes on the namespace first (idempotently): the import workflows set
// them.
func Temporal(t testing.TB) client.Client {
	t.Helper()
	addr := TemporalAddress(t)
	ns := os.Getenv("TEMPORAL_NAMESPACE")
	if ns == "" {
		ns = "default"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  addr,
		Namespace: ns,
		Logger:    logging.Temporal(zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel))),
	})
	if err != nil {
		t.Fatalf("Temporal at %s does not answer (%v): %s", addr, err, howToStart)
	}
	t.Cleanup(c.Close)
	if err := visibility.Register(ctx, c, ns); err != nil {
		t.Fatalf("register erpsync's search attributes: %v", err)
	}
	return c
}

// TaskQueue returns a task queue name of t's own, so tests' workers never take each other's work.
func TaskQueue(t testing.TB) string {
	return fmt.Sprintf("test-%s-%s", strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-"), randomHex(4))
}

// EndWorkflowsOn terminates, when t ends, the workflows still running on task queue queue. A
// test that fails, or stops waiting, would leave them running in the Temporal server that
// every run on this machine shares (the services' cache): 47 were found running there, some
// from the day before, among them the runs a test's schedule started before it was deleted.
func EndWorkflowsOn(t testing.TB, c client.Client, queue string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		query := fmt.Sprintf("TaskQueue = '%s' AND ExecutionStatus = 'Running'", queue)
		if _, err := TerminateRunning(ctx, c, "", query, "the test ended"); err != nil {
			t.Logf("end the workflows left running on %s: %v", queue, err)
		}
	})
}

// TerminateRunning terminates the workflows of namespace (the client's when "") that the
// visibility query finds, page by page, with reason, and returns those it terminated. It goes on
// past a workflow it cannot terminate, and returns those errors with the ones it did.
func TerminateRunning(ctx context.Context, c client.Client, namespace, query, reason string) ([]*commonpb.WorkflowExecution, error) {
	var done []*commonpb.WorkflowExecution
	var errs []error
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: query}
	for {
		res, err := c.ListWorkflow(ctx, req)
		if err != nil {
			return done, errors.Join(append(errs, fmt.Errorf("list the workflows running (%s): %w", query, err))...)
		}
		for _, w := range res.GetExecutions() {
			e := w.GetExecution()
			if err := c.TerminateWorkflow(ctx, e.GetWorkflowId(), e.GetRunId(), reason); err != nil {
				errs = append(errs, fmt.Errorf("terminate %s: %w", e.GetWorkflowId(), err))
				continue
			}
			done = append(done, e)
		}
		if req.NextPageToken = res.GetNextPageToken(); len(req.NextPageToken) == 0 {
			return done, errors.Join(errs...)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

// EnvInt returns the positive whole number in environment variable k (a benchmark's size or
// concurrency), def when it is not set; anything else fails the benchmark.
func EnvInt(t testing.TB, k string, def int) int {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive whole number", k, v)
	}
	return n
}
