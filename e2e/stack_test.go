package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/alert"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/workflows"
)

// stack is one test's erpsync: a simulator, an index prefix of its own on the real
// Elasticsearch, a task queue of its own on the real Temporal dev server, and an in-process
// worker on it.
type stack struct {
	t        testing.TB
	sim      *simtest.Sim
	es       *elasticsearch.Client
	index    *search.Index
	prefix   string
	temporal client.Client
	queue    string
	erp      *erpReader
	settings activities.Settings
	source   *d365.Client
	worker   worker.Worker
	// esURL is the Elasticsearch worker and starter processes use ("" for ELASTICSEARCH_URL).
	esURL string
	// workerLog, when set, takes the output of worker processes (else the test's stderr).
	workerLog io.Writer
	// alerts, when set before startWorker, are the worker's alert channels.
	alerts *alert.Notifier
}

func newStack(t testing.TB, cat generate.Config, simCfg erpsim.Config, settings activities.Settings) *stack {
	t.Helper()
	s := newStackWithoutWorker(t, cat, simCfg, settings)
	s.startWorker()
	return s
}

// newStackWithoutWorker is newStack for tests that run worker processes of their own.
func newStackWithoutWorker(t testing.TB, cat generate.Config, simCfg erpsim.Config, settings activities.Settings) *stack {
	t.Helper()
	return newStackOn(t, testenv.Elasticsearch(t), "", cat, simCfg, settings)
}

// newStackOn is newStackWithoutWorker on an Elasticsearch of the test's own at esURL.
func newStackOn(t testing.TB, es *elasticsearch.Client, esURL string, cat generate.Config, simCfg erpsim.Config, settings activities.Settings) *stack {
	t.Helper()
	s := &stack{t: t, settings: settings, es: es, esURL: esURL}
	s.sim = simtest.Start(t, cat, simCfg)
	s.erp = &erpReader{s.sim.Reader(t)}
	s.prefix = testenv.Prefix(t, s.es)
	s.index = search.New(s.es, s.prefix)
	ctx := context.Background()
	if err := s.index.Setup(ctx); err != nil {
		t.Fatalf("set up indexes: %v", err)
	}
	s.temporal = testenv.Temporal(t)
	s.queue = testenv.TaskQueue(t)
	testenv.EndWorkflowsOn(t, s.temporal, s.queue)
	src, err := d365.New(d365.Config{BaseURL: s.sim.URL, ClientID: s.sim.ClientID, ClientSecret: s.sim.ClientSecret, RetryWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.source = src
	return s
}

// startWorker starts an in-process worker on the stack's task queue, stopped when the test ends.
func (s *stack) startWorker() {
	w := worker.New(s.temporal, s.queue, worker.Options{})
	w.RegisterWorkflow(workflows.ProductImport)
	w.RegisterWorkflow(workflows.CustomerImport)
	w.RegisterWorkflow(workflows.DeadLetterRetry)
	w.RegisterActivity(&activities.Import{Source: s.source, Index: s.index, Log: zaptest.NewLogger(s.t), Settings: s.settings, Alerts: s.alerts})
	if err := w.Start(); err != nil {
		s.t.Fatalf("start worker: %v", err)
	}
	s.worker = w
	s.t.Cleanup(w.Stop)
}

// start starts an import and returns its handle.
func (s *stack) start(wf string, in workflows.ImportInput) client.WorkflowRun {
	s.t.Helper()
	run, err := s.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: fmt.Sprintf("%s-%s-%d", s.queue, in.Mode, time.Now().UnixNano()), TaskQueue: s.queue,
	}, wf, in)
	if err != nil {
		s.t.Fatalf("start %s: %v", wf, err)
	}
	return run
}

// run runs an import to its end and returns its result.
func (s *stack) run(wf string, mode activities.Mode) workflows.ImportResult {
	s.t.Helper()
	return s.wait(s.start(wf, workflows.ImportInput{Mode: mode}))
}

func (s *stack) wait(run client.WorkflowRun) workflows.ImportResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var res workflows.ImportResult
	if err := s.temporal.GetWorkflow(ctx, run.GetID(), "").Get(ctx, &res); err != nil {
		s.t.Fatalf("%s: %v", run.GetID(), err)
	}
	return res
}

// docs returns every live document of an entity's alias by id.
func (s *stack) docs(e erp.Entity) map[string]json.RawMessage {
	s.t.Helper()
	// What the last run wrote becomes searchable within the refresh interval; the checker does
	// not wait for it.
	if err := s.index.Refresh(context.Background(), s.index.Alias(e)); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]json.RawMessage{}
	var after []any
	for {
		body := map[string]any{"size": 1000, "sort": []any{map[string]string{"id": "asc"}},
			"query": map[string]any{"bool": map[string]any{"must_not": map[string]any{"term": map[string]any{"deleted": true}}}}}
		if after != nil {
			body["search_after"] = after
		}
		raw, _ := json.Marshal(body)
		res, err := s.es.Search(s.es.Search.WithIndex(s.index.Alias(e)), s.es.Search.WithBody(strings.NewReader(string(raw))))
		if err != nil {
			s.t.Fatal(err)
		}
		var sr struct {
			Hits struct {
				Hits []struct {
					ID     string          `json:"_id"`
					Source json.RawMessage `json:"_source"`
					Sort   []any           `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		err = json.NewDecoder(res.Body).Decode(&sr)
		res.Body.Close()
		if err != nil || res.IsError() {
			s.t.Fatalf("search %s: %s %v", s.index.Alias(e), res.Status(), err)
		}
		for _, h := range sr.Hits.Hits {
			out[h.ID] = h.Source
		}
		if len(sr.Hits.Hits) < 1000 {
			return out
		}
		after = sr.Hits.Hits[len(sr.Hits.Hits)-1].Sort
	}
}

// checkProducts compares the products index with the ERP, every product and every field the
// checker derives, and so the indexes of the company-wide data the product import writes too
// (categories, line discounts for item groups and all items, activations); it reports at most a
// few differences in full.
func (s *stack) checkProducts() {
	s.t.Helper()
	s.checkProductsExcept(nil)
}

// checkProductsExcept is checkProducts leaving out the products whose ids are in except (the
// poison records a test planted, which are dead letters and not in the index).
func (s *stack) checkProductsExcept(except map[string]bool) {
	s.t.Helper()
	// The worker reads the companies' languages from the ERP itself (LegalEntities).
	want := s.erp.expectedProducts(s.t)
	got := s.docs(erp.Products)
	for id := range except {
		delete(want, id)
		delete(got, id)
	}
	stamps := map[string]row{}
	for _, p := range s.erp.All(s.t, "ReleasedProductsV2") {
		stamps[idOf(p.S("dataAreaId"), p.S("ItemNumber"))] = p
	}
	diffs := 0
	report := func(format string, args ...any) {
		diffs++
		if diffs <= 10 {
			s.t.Errorf(format, args...)
		}
	}
	// The comparison means something only if the catalog has every child kind.
	filled := map[string]int{}
	for _, w := range want {
		for k, v := range w {
			if v != "" && v != "false" && v != "0" {
				filled[k]++
			}
		}
	}
	for _, k := range []string{"variants", "barcodes", "categories", "related", "attachments", "prices", "line_discounts", "from_prices",
		"discount_group", "translations", "sales_stopped", "minimum_quantity", "unit_conversions"} {
		if filled[k] == 0 {
			s.t.Fatalf("no product in the ERP has %s: the catalog cannot show that the index carries them", k)
		}
	}
	for id, w := range want {
		src, ok := got[id]
		if !ok {
			report("product %s is in the ERP but not in the index", id)
			continue
		}
		g := actualProduct(s.t, src)
		for k, wv := range w {
			if g[k] != wv {
				report("product %s: %s is %q in the index, %q in the ERP", id, k, g[k], wv)
			}
		}
		if erpStamp, doc := modifiedAt(s.t, stamps[id], src); doc.After(erpStamp) || doc.IsZero() {
			report("product %s: modified_at %s in the index, after the ERP's %s", id, doc, erpStamp)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			report("product %s is in the index but not in the ERP", id)
		}
	}
	if diffs > 0 {
		s.t.Fatalf("%d differences between the products index and the ERP (%d products in the ERP, %d in the index)", diffs, len(want), len(got))
	}
	s.t.Logf("products index equals the ERP: %d products compared field by field", len(want))
	s.checkCompanyData()
}

// checkCompanyData compares the indexes of categories, line discounts for item groups and all
// items, and activations with the ERP, document by document.
func (s *stack) checkCompanyData() {
	s.t.Helper()
	want := s.erp.expectedCompanyData(s.t)
	diffs := 0
	report := func(format string, args ...any) {
		diffs++
		if diffs <= 10 {
			s.t.Errorf(format, args...)
		}
	}
	for _, e := range []erp.Entity{erp.Categories, erp.LineDiscounts, erp.Activations} {
		got := s.docs(e)
		if len(want[e]) == 0 {
			s.t.Fatalf("the ERP has no %s: the catalog cannot show that the index carries them", e)
		}
		for id, w := range want[e] {
			src, ok := got[id]
			if !ok {
				report("%s %s is in the ERP but not in the index", e, id)
				continue
			}
			g := actualCompanyData(s.t, e, src)
			for k, wv := range w {
				if g[k] != wv {
					report("%s %s: %s is %q in the index, %q in the ERP", e, id, k, g[k], wv)
				}
			}
		}
		for id := range got {
			if _, ok := want[e][id]; !ok {
				report("%s %s is in the index but not in the ERP", e, id)
			}
		}
		s.t.Logf("%s index equals the ERP: %d documents", e, len(want[e]))
	}
	if diffs > 0 {
		s.t.Fatalf("%d differences between the company-wide indexes and the ERP", diffs)
	}
}

// saveHistory writes a workflow's history as the Temporal CLI's JSON, for replay tests.
func (s *stack) saveHistory(id, path string) {
	s.t.Helper()
	var events []*historypb.HistoryEvent
	it := s.temporal.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		events = append(events, ev)
	}
	raw, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&historypb.History{Events: events})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("wrote %d events of %s to %s", len(events), id, path)
}

// pastSafetyLag waits until what the ERP stamped before the call is within the bounds of the
// next run: the stack's safety lag, and two seconds more, because the worker reads the ERP's
// clock from the Date header of its answers, whole seconds, so its time may be a second behind.
func (s *stack) pastSafetyLag() {
	lag := s.settings.SafetyLag
	if lag == 0 {
		lag = activities.DefaultSettings().SafetyLag
	}
	time.Sleep(lag + 2*time.Second)
}
