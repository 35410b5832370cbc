package testenv_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esutil"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/erpsync/erpsync/internal/testenv"
)

// TestElasticsearchSmoke checks what every later test relies on: the client passes its product
// check against the node, an index with an explicit strict mapping is created, documents are
// bulk-indexed and found again by a search.
func TestElasticsearchSmoke(t *testing.T) {
	t.Parallel()
	es := testenv.Elasticsearch(t)
	ctx := context.Background()

	res, err := es.Nodes.Info(es.Nodes.Info.WithNodeID("_local"), es.Nodes.Info.WithFilterPath("nodes.*.version"))
	if err != nil {
		t.Fatalf("nodes info (product check): %v", err)
	}
	var info struct {
		Nodes map[string]struct{ Version string } `json:"nodes"`
	}
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, n := range info.Nodes {
		t.Logf("Elasticsearch version %s", n.Version)
	}

	index := testenv.Prefix(t, es) + "-smoke"
	mapping := `{"mappings":{"dynamic":"strict","properties":{
		"name":{"type":"text","fields":{"raw":{"type":"keyword"}}},
		"price":{"type":"scaled_float","scaling_factor":100}}}}`
	// scaled_float lives in mapper-extras, which the test distribution lacks: the node must say no.
	res, err = es.Indices.Create(index, es.Indices.Create.WithBody(strings.NewReader(mapping)))
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError() {
		t.Fatalf("creating a mapping with scaled_float succeeded; the test node is not the bare test distribution this project's mappings are written for")
	}
	res.Body.Close()

	mapping = `{"mappings":{"dynamic":"strict","properties":{
		"name":{"type":"text","fields":{"raw":{"type":"keyword"}}},
		"price_minor":{"type":"long"}}}}`
	res, err = es.Indices.Create(index, es.Indices.Create.WithBody(strings.NewReader(mapping)))
	if err != nil || res.IsError() {
		t.Fatalf("create index: %v %v", err, res)
	}
	res.Body.Close()

	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: es, Index: index, Refresh: "wait_for"})
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{
		"usmf:1000": `{"name":"Surface Pro 128GB","price_minor":99900}`,
		"usmf:1001": `{"name":"Surface Pen","price_minor":9999}`,
		"usmf:1002": `{"name":"Wireless Mouse","price_minor":2999}`,
		"usmf:bad":  `{"name":"Unknown field","colour":"red"}`, // strict mapping rejects it
	}
	rejected := 0
	for id, body := range docs {
		err := bi.Add(ctx, esutil.BulkIndexerItem{
			Action: "index", DocumentID: id, Body: strings.NewReader(body),
			OnFailure: func(_ context.Context, item esutil.BulkIndexerItem, r esutil.BulkIndexerResponseItem, err error) {
				if item.DocumentID == "usmf:bad" && r.Error.Type == "strict_dynamic_mapping_exception" {
					rejected++
					return
				}
				t.Errorf("index %s: %v %s %s", item.DocumentID, err, r.Error.Type, r.Error.Reason)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := bi.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := bi.Stats()
	if st.NumAdded != 4 || st.NumIndexed != 3 || st.NumFailed != 1 || rejected != 1 {
		t.Fatalf("bulk stats: added %d indexed %d failed %d, rejected by mapping %d; want 4, 3, 1, 1", st.NumAdded, st.NumIndexed, st.NumFailed, rejected)
	}

	res, err = es.Search(es.Search.WithIndex(index), es.Search.WithBody(strings.NewReader(`{"query":{"match":{"name":"surface"}},"sort":[{"name.raw":"asc"}]}`)))
	if err != nil || res.IsError() {
		t.Fatalf("search: %v %v", err, res)
	}
	defer res.Body.Close()
	var sr struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&sr); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range sr.Hits.Hits {
		got = append(got, h.ID)
	}
	if strings.Join(got, ",") != "usmf:1001,usmf:1000" { // "Surface Pen" sorts before "Surface Pro"
		t.Fatalf("search for surface found %v, want [usmf:1001 usmf:1000]", got)
	}
}

func greet(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, shout, name).Get(ctx, &out)
	return "hello " + out, err
}

func shout(_ context.Context, name string) (string, error) { return strings.ToUpper(name), nil }

// TestTemporalSmoke runs a workflow with one activity on the real dev server through a real worker.
func TestTemporalSmoke(t *testing.T) {
	t.Parallel()
	c := testenv.Temporal(t)
	queue := testenv.TaskQueue(t)
	testenv.EndWorkflowsOn(t, c, queue)

	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(greet)
	w.RegisterActivity(shout)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue, TaskQueue: queue}, greet, "erpsync")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if got != "hello ERPSYNC" {
		t.Fatalf("workflow returned %q, want %q", got, "hello ERPSYNC")
	}
	sys, err := c.WorkflowService().GetSystemInfo(ctx, nil)
	if err == nil {
		t.Logf("Temporal server %s", sys.GetServerVersion())
	}
}

// TestWorkflowsLeftRunningEndWithTheTest: a workflow a test leaves running on its task queue
// (no worker takes it) is terminated when the test ends.
func TestWorkflowsLeftRunningEndWithTheTest(t *testing.T) {
	t.Parallel()
	c := testenv.Temporal(t)
	queue := testenv.TaskQueue(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var id string
	t.Run("leaves one running", func(t *testing.T) {
		testenv.EndWorkflowsOn(t, c, queue)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue + "-left", TaskQueue: queue}, greet, "left")
		if err != nil {
			t.Fatal(err)
		}
		id = run.GetID()
		// The list the cleanup reads is written after the start: wait until it shows the run.
		for {
			res, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = '" + id + "'"})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.GetExecutions()) > 0 {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("%s is %s after its test ended, want terminated", id, st)
	}
}
