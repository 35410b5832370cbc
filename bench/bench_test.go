package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/search"
)

// BenchmarkImport measures erpsync end to end against its physical limit, in one run (it
// ignores b.N; run it with -benchtime 1x, as `make bench` does):
//
//  1. raw _bulk of the pipeline's own product documents, every one of them (up to
//     BENCH_BASELINE_MAX, 2,000,000), pre-serialised, into a fresh generation with the
//     import's mapping and bulk-load settings;
//  2. a rebuild through the real pipeline (simulator process -> worker process ->
//     Elasticsearch) started with the starter, BENCH_REBUILD_PARTITIONS (4) partitions at
//     once, and its ratio to (1);
//  3. an update run with nothing changed; 4. an update run after 1% of the products changed;
//  5. freshness: ERP edit -> searchable in the products alias, with the change driver on and
//     the update schedule every BENCH_UPDATE_EVERY (2s);
//  6. the worker's peak RSS for a rebuild of 10,000 and of BENCH_PRODUCTS products;
//  7. the share of the rebuild's wall time spent outside activities (from its history);
//  8. the rebuild against an ERP that answers each request BENCH_ERP_LATENCY (150ms) late, as a
//     real D365 does, with each number of partitions at once of BENCH_PARTITIONS (1,2,4,8), and
//     the best one's ratio to (1), and the worker's peak RSS during each (ResetPeakRSS);
//  9. an update run with a backlog of 10% of the products (at most 10,000) against that ERP;
//  10. the simulator's CPU per product of a read of the whole catalog through the connector.
//
// (2) and (8)'s best are sampled BENCH_SAMPLES (3) times, in turn with samples of (1), and
// compared with (1) twice: by the medians, and each sample against the mean of (1)'s taken just
// before and just after it ("bracketed"), which cancels a drift of the machine's speed.
//
// BENCH_PRODUCTS (default 100000) sizes the catalog; BENCH_EDITS (50) the freshness edits;
// BENCH_PPROF=1 saves a CPU profile of the worker during the rebuild in bench-results/;
// BENCH_ES_CPUS (default 0) are the CPUs Elasticsearch gets alone, everything else gets the
// others; BENCH_ES_CPUS=shared puts every process on every CPU (see pinCPUs). The environment's ERPSYNC_* and ERP_* settings reach the worker.
func BenchmarkImport(b *testing.B) {
	products := testenv.EnvInt(b, "BENCH_PRODUCTS", 100_000)
	r := &Report{Started: time.Now().UTC(), Machine: ThisMachine(), Settings: settings(),
		Command: "make bench" + map[bool]string{true: " BENCH_PRODUCTS=" + strconv.Itoa(products), false: ""}[products != 100_000]}
	cat := catalog(products)
	r.Catalog = map[string]int{"products": cat.Products, "customers": cat.Customers, "companies": len(cat.Companies),
		"languages": len(cat.Languages), "variants_per_master": cat.VariantsPerMaster}
	s := newSuite(b)
	r.CPULayout = s.pinCPUs()
	defer func() { s.finish(r) }()

	// BENCH_QUICK=1 measures only (1), (2), (7), (8) and (10): for tuning the import.
	quick := os.Getenv("BENCH_QUICK") != ""

	// (6) small: a worker's peak for 10,000 products, measured first on its own catalog.
	var smallRSS int64 = 1
	if !quick {
		small := s.startSim(catalog(10_000))
		ws := s.startWorker(small, s.prefix+"-small")
		res, took := s.runImport(s.prefix+"-small", "rebuild")
		smallRSS = mustRSS(b, ws.cmd.Process.Pid)
		s.logf("rebuild of 10,000 products: %d indexed in %s, worker peak RSS %d MiB", res.Of(erp.Products).Counts.Indexed, took.Round(time.Millisecond), smallRSS>>20)
		stop(ws.cmd)
		stop(small.cmd)
	}

	sm := s.startSim(cat)

	// (1) raw _bulk, and (10) what the simulator spends per product reading the catalog.
	simCPU0 := mustCPU(b, sm.cmd.Process.Pid)
	// The baseline writes every product, as the import does: Elasticsearch's cost per document
	// grows with the index (at 1,000,000 products a baseline of the first 200,000 ran at 4,334
	// docs/s, one of all of them at 3,600-3,765: BenchmarkBulkOrder). The documents are held in
	// memory, about 6 KB each with their bodies; BENCH_BASELINE_MAX bounds them.
	docs, items := s.readCatalog(sm, testenv.EnvInt(b, "BENCH_BASELINE_MAX", 2_000_000))
	simCPU := mustCPU(b, sm.cmd.Process.Pid) - simCPU0
	bulk := s.rawBulk(docs)
	r.Add("bulk_es_cores", "(1) Elasticsearch busy during raw _bulk", bulk.esWork.cpu.Seconds()/bulk.took.Seconds(), "cores",
		"its CPU time over the wall time; "+bulk.esWork.String())
	docs = nil

	// (2) the full import, with (6) and (7), at BENCH_REBUILD_PARTITIONS (4) partitions at once:
	// against an ERP that answers at once, 4 were faster on this machine than the worker's
	// default of 8, which is for an ERP that answers as late as D365 does (8 is (8)'s setting).
	rebuild := []string{"--partitions", strconv.Itoa(testenv.EnvInt(b, "BENCH_REBUILD_PARTITIONS", 4))}
	w := s.startWorker(sm, s.prefix)
	// The first rebuild after the node warmed up on raw _bulk still meets it colder than those
	// after it (other indexes and requests, a simulator just started): in one run the samples
	// of (2) cost Elasticsearch 30.5, 26.3 and 24.1 s of CPU in turn, the baseline's 22 to 25 s.
	// One rebuild, not counted, warms them up as warmUp does the baseline; at 1,000,000 products
	// a rebuild runs minutes, and its cold start is a small part of it.
	if products <= 200_000 {
		s.importSample("(2) warming up, not counted", "rebuild", rebuild...)
	}
	cpu0 := s.cpu(w, sm)
	idle0, total0 := s.pipelineIdle()
	profile := s.profile(w)
	res, took := s.runImport(s.prefix, "rebuild", rebuild...)
	profile()
	cpu := s.cpu(w, sm).sub(cpu0)
	idle1, total1 := s.pipelineIdle()
	c := res.Of(erp.Products).Counts
	if c.Indexed != products {
		b.Errorf("the rebuild indexed %d products of %d: %+v", c.Indexed, products, c)
	}
	rate := float64(c.Indexed) / took.Seconds()
	r.Add("import_first_docs_per_second", "(2) full import (rebuild), first sample", rate, "docs/s",
		fmt.Sprintf("%d docs in %s, %d pages, %d ERP requests, %d runs; CPU s: worker %.0f, simulator %.0f, Elasticsearch %.0f of %.0f available",
			c.Indexed, took.Round(100*time.Millisecond), c.Pages, c.Requests, res.Runs,
			cpu.worker.Seconds(), cpu.sim.Seconds(), cpu.es.cpu.Seconds(), took.Seconds()*float64(r.Machine.CPUs)))
	r.Add("import_es_cores", "(2) Elasticsearch busy during the import", cpu.es.cpu.Seconds()/took.Seconds(), "cores",
		"its CPU time over the wall time; "+cpu.es.String())
	if total1 > total0 {
		r.Add("import_pipeline_idle", fmt.Sprintf("(2) CPU %s idle during the import", s.pipeline), 100*(idle1-idle0).Seconds()/(total1-total0).Seconds(), "%",
			fmt.Sprintf("the simulator's, the worker's and every other process's CPU (/proc/stat); worker and simulator used %.0f%% of it",
				100*(cpu.worker+cpu.sim).Seconds()/(total1-total0).Seconds()))
	}
	// With Elasticsearch on CPUs of its own, the simulator and the worker share the others: the
	// most they could feed it is what their CPU per document allows on all of those.
	if r.CPULayout != "" && cpu.worker+cpu.sim > 0 {
		feed := float64(c.Indexed) * float64(len(s.pipeline)) / (cpu.worker + cpu.sim).Seconds()
		r.Add("import_feed_ceiling", fmt.Sprintf("(2) most docs/s CPU %s could feed", s.pipeline), feed, "docs/s",
			fmt.Sprintf("the worker and the simulator took %.3f ms of CPU a document; nothing else on those CPUs, no wait", (cpu.worker+cpu.sim).Seconds()*1000/float64(c.Indexed)))
	}
	// On a machine whose cores all three share, the import cannot beat the share of the CPU that
	// Elasticsearch gets: what the simulator and the worker burn is taken from it.
	total := cpu.worker + cpu.sim + cpu.es.cpu
	if r.CPULayout == "" {
		r.Add("cpu_ceiling", "(2) CPU ceiling of the ratio on shared cores", cpu.es.cpu.Seconds()/total.Seconds(), "",
			fmt.Sprintf("Elasticsearch's share of the pipeline's CPU: %.0f of %.0f s", cpu.es.cpu.Seconds(), total.Seconds()))
	}
	bigRSS := mustRSS(b, w.cmd.Process.Pid)
	wall, inAct, runs, acts := s.orchestration(workflowIDRebuild)
	r.Add("orchestration_share", "(7) rebuild time outside activities", 100*(1-inAct.Seconds()/wall.Seconds()), "%",
		fmt.Sprintf("%d activities over %d workflow runs: %s of %s in activities", acts, runs, inAct.Round(time.Millisecond), wall.Round(time.Millisecond)))

	// (1) and (2) in samples taken in turns, compared by their medians. One sample of either
	// says little: on this shared machine Elasticsearch's CPU for the same 100,000 documents
	// ranged from 21 to 26 s within an hour, and it drifts as the node warms up, so samples of
	// the baseline and of the import alternate and face the same drift. The baseline's first
	// sample is the best of its concurrency sweep, which favours the baseline.
	samples := testenv.EnvInt(b, "BENCH_SAMPLES", 3)
	raws, imports := []float64{bulk.rate}, []float64{rate}
	for range samples - 1 {
		raws = append(raws, s.rawBulkAgain(bulk))
		imports = append(imports, s.importSample("(2) sample", "rebuild", rebuild...))
	}
	// One more baseline sample after the last, so that each sample of (2) lies between two: its
	// ratio to their mean cancels the drift that the medians only spread.
	closing := s.rawBulkAgain(bulk)
	importRatios, importBracketed := Bracketed(imports, append(slices.Clone(raws), closing))
	bulkRate, importRate := Median(raws), Median(imports)
	r.Add("bulk_docs_per_second", "(1) raw _bulk baseline", bulkRate, "docs/s",
		fmt.Sprintf("median of %d samples (%s); %d docs (%.1f KB each), %d MB bodies, %d requests in flight (the best of %s)",
			len(raws), rates(raws), bulk.docs, bulk.avgKB, bulk.bodyMB, bulk.best, bulk.tried))
	r.Add("import_docs_per_second", "(2) full import (rebuild)", importRate, "docs/s",
		fmt.Sprintf("median of %d samples (%s), each after one of (1)'s; %s partitions at once", len(imports), rates(imports), rebuild[1]))
	// Issue 16's targets: 0.95 at 100,000 products, 0.9 at 1,000,000.
	target := "0.95"
	if products >= 1_000_000 {
		target = "0.9"
	}
	r.Add("import_ratio", "(2)/(1) ratio", importRate/bulkRate, "", "of the medians; target >= "+target)
	r.Add("import_ratio_bracketed", "(2)/(1), each sample against (1)'s just before and after it", importBracketed, "",
		fmt.Sprintf("median of %s; the closing sample of (1): %s docs/s; target >= %s", ratiosText(importRatios), formatValue(closing), target))
	b.ReportMetric(bulkRate, "bulk-docs/s")
	b.ReportMetric(importRate, "import-docs/s")
	b.ReportMetric(importRate/bulkRate, "ratio")

	// (8) the rebuild against an ERP that answers as a real D365 does, with 1, 2, 4 and 8
	// partitions at once.
	e := newERPHTTP(b, sm.url)
	erpLatency := envDuration(b, "BENCH_ERP_LATENCY", 150*time.Millisecond)
	e.setLatency(b, erpLatency)
	best, bestN := 0.0, 0
	for _, n := range envInts(b, "BENCH_PARTITIONS", "1,2,4,8") {
		work0 := s.esWork()
		idle0, total0 := s.pipelineIdle()
		if err := ResetPeakRSS(w.cmd.Process.Pid); err != nil {
			b.Fatal(err)
		}
		traced := s.traceBusy()
		res, took := s.runImport(s.prefix, "rebuild", "--partitions", strconv.Itoa(n))
		traced()
		peak := mustRSS(b, w.cmd.Process.Pid)
		idle1, total1 := s.pipelineIdle()
		work := s.esWork().sub(work0)
		idle := "?"
		if total1 > total0 {
			idle = fmt.Sprintf("%.0f%%", 100*(idle1-idle0).Seconds()/(total1-total0).Seconds())
		}
		c := res.Of(erp.Products).Counts
		if c.Indexed != products {
			b.Errorf("the rebuild with %d partitions indexed %d products of %d: %+v", n, c.Indexed, products, c)
		}
		rate := float64(c.Indexed) / took.Seconds()
		if rate > best {
			best, bestN = rate, n
		}
		r.Add(fmt.Sprintf("latency_p%d_docs_per_second", n), fmt.Sprintf("(8) rebuild, ERP %s per request, %d partition(s) at once", erpLatency, n), rate, "docs/s",
			fmt.Sprintf("ratio to (1) %.2f; %d docs in %s, %d pages, %d ERP requests; Elasticsearch busy %.2f cores, CPU %s idle %s; %s; worker peak RSS %d MiB",
				rate/bulkRate, c.Indexed, took.Round(100*time.Millisecond), c.Pages, c.Requests, work.cpu.Seconds()/took.Seconds(), s.pipeline, idle, work, peak>>20))
	}
	// The best number of partitions gets as many samples as (2), each after one of (1)'s, and
	// one more of (1) after the last: those samples lie between two of (1)'s.
	bests := []float64{best}
	for range samples - 1 {
		e.setLatency(b, 0)
		raws = append(raws, s.rawBulkAgain(bulk))
		e.setLatency(b, erpLatency)
		bests = append(bests, s.importSample(fmt.Sprintf("(8) sample, %d partitions", bestN), "rebuild", "--partitions", strconv.Itoa(bestN)))
	}
	// (1)'s samples on either side of bests[1:]: those just taken, and the closing one.
	var around []float64
	if samples > 1 {
		e.setLatency(b, 0)
		around = append(slices.Clone(raws[len(raws)-(samples-1):]), s.rawBulkAgain(bulk))
	}
	latencyBaseline, best := Median(raws), Median(bests)
	r.Add("latency_best_docs_per_second", fmt.Sprintf("(8) rebuild, ERP %s per request, %d partitions at once", erpLatency, bestN), best, "docs/s",
		fmt.Sprintf("median of %d samples (%s)", len(bests), rates(bests)))
	r.Add("latency_ratio", fmt.Sprintf("(8) best/(1), ERP %s per request", erpLatency), best/latencyBaseline, "",
		fmt.Sprintf("%d partitions at once; over the median of every sample of (1), %s (%s); target >= 0.9", bestN, formatValue(latencyBaseline), rates(raws)))
	if ratios, median := Bracketed(bests[1:], around); ratios != nil {
		r.Add("latency_ratio_bracketed", "(8) best/(1), each sample against (1)'s just before and after it", median, "",
			fmt.Sprintf("%d partitions at once; median of %s (the samples after the first, which the partition counts' sweep took); the closing sample of (1): %s docs/s",
				bestN, ratiosText(ratios), formatValue(around[len(around)-1])))
	}
	e.setLatency(b, 0)
	r.Add("sim_cpu_ms_per_product", "(10) simulator CPU per product read", float64(simCPU.Microseconds())/1000/float64(len(items)), "ms",
		fmt.Sprintf("%d products read through the connector in one stream: %.1f CPU s", len(items), simCPU.Seconds()))
	b.ReportMetric(best/latencyBaseline, "latency-ratio")
	if quick {
		return
	}
	r.Add("rss_small_mib", "(6) worker peak RSS, 10,000 products", float64(smallRSS)/(1<<20), "MiB", "VmHWM of a fresh worker process")
	r.Add("rss_big_mib", fmt.Sprintf("(6) worker peak RSS, %d products", products), float64(bigRSS)/(1<<20), "MiB", "")
	r.Add("rss_ratio", "(6) RSS ratio big/small", float64(bigRSS)/float64(smallRSS), "", "target <= 1.5")

	// (3) nothing changed.
	res, took = s.runImport(s.prefix, "update")
	c = res.Of(erp.Products).Counts
	wall, inAct, _, acts = s.orchestration(workflowIDUpdate)
	r.Add("update_nothing_ms", "(3) update, nothing changed: wall", float64(took.Milliseconds()), "ms",
		fmt.Sprintf("starter process start to result; the workflow itself %s, of which %d activities %s; %d read",
			wall.Round(time.Millisecond), acts, inAct.Round(time.Millisecond), c.Read))
	r.Add("update_nothing_requests", "(3) update, nothing changed: ERP requests", float64(c.Requests), "requests", "")

	// (4) 1% changed.
	changed := s.editShare(e, items, products/100)
	time.Sleep(safetyLag(b) + time.Second) // the edits are inside the next run's bounds
	res, took = s.runImport(s.prefix, "update")
	c = res.Of(erp.Products).Counts
	r.Add("update_1pct_ms", "(4) update, 1% changed: wall", float64(took.Milliseconds()), "ms", fmt.Sprintf("%d products edited", changed))
	r.Add("update_1pct_requests", "(4) update, 1% changed: ERP requests", float64(c.Requests), "requests", fmt.Sprintf("%d pages", c.Pages))
	r.Add("update_1pct_written", "(4) update, 1% changed: documents written", float64(c.Indexed), "docs", fmt.Sprintf("%d read, %d already current", c.Read, c.Stale+c.Unchanged))

	// (9) an update run with a backlog, one ordered stream, against the ERP of (8): what
	// partitioning the backlog by key range could win is (8)'s gain over one partition, for a
	// backlog of this size.
	backlog := min(products/10, 10_000)
	changed = s.editShare(e, items, backlog)
	time.Sleep(safetyLag(b) + time.Second)
	e.setLatency(b, erpLatency)
	res, took = s.runImport(s.prefix, "update")
	e.setLatency(b, 0)
	c = res.Of(erp.Products).Counts
	r.Add("update_backlog_s", fmt.Sprintf("(9) update, %d products changed, ERP %s per request", changed, erpLatency), took.Seconds(), "s",
		fmt.Sprintf("%.0f docs/s; %d read, %d written, %d pages, %d ERP requests", float64(c.Read)/took.Seconds(), c.Read, c.Indexed, c.Pages, c.Requests))

	// (5) freshness.
	lat, unseen := s.freshness(e, items, testenv.EnvInt(b, "BENCH_EDITS", 50))
	every := updateEvery(b)
	note := fmt.Sprintf("%d edits, change driver at 1/s, update schedule every %s, safety lag %s", len(lat), every, safetyLag(b))
	if unseen > 0 {
		note += fmt.Sprintf("; %d not searchable within %s, counted as that", unseen, freshnessLimit)
	}
	r.Add("freshness_p50_s", "(5) freshness p50", Percentile(lat, 50).Seconds(), "s", note)
	r.Add("freshness_p95_s", "(5) freshness p95", Percentile(lat, 95).Seconds(), "s", "")
	r.Add("freshness_unseen", "(5) edits not searchable within 2 minutes", float64(unseen), "edits", "")
}

// The IDs the starter gives manual runs of the product import.
const (
	workflowIDRebuild = "product-import-rebuild"
	workflowIDUpdate  = "product-import-update"
)

// finish prints the report and saves it.
func (s *suite) finish(r *Report) {
	if len(r.Figures) == 0 {
		return
	}
	path, err := r.Save(resultsDir)
	if err != nil {
		s.b.Error(err)
	}
	layout := "every process on every CPU"
	if r.CPULayout != "" {
		layout = r.CPULayout
	}
	fmt.Fprintf(os.Stdout, "\nerpsync benchmarks (%d products, %d CPUs %s, %s; %s), saved in %s:\n\n%s\n",
		r.Catalog["products"], r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemTotal, layout, path, r.Table())
}

func envDuration(b *testing.B, k string, def time.Duration) time.Duration {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a duration", k, v)
	}
	return d
}

func safetyLag(b *testing.B) time.Duration {
	d, err := time.ParseDuration(settings()["ERPSYNC_SAFETY_LAG"])
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func updateEvery(b *testing.B) time.Duration {
	return envDuration(b, "BENCH_UPDATE_EVERY", 2*time.Second)
}

// pipelineIdle returns the idle and total time of the pipeline's CPUs so far (zero when every
// process shares every CPU).
func (s *suite) pipelineIdle() (idle, total time.Duration) {
	if s.pipeline == nil {
		return 0, 0
	}
	idle, total, err := s.pipeline.Idle()
	if err != nil {
		s.b.Fatal(err)
	}
	return idle, total
}

func mustCPU(b *testing.B, pid int) time.Duration {
	d, err := CPUTime(pid)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// envInts reads a comma-separated list of positive numbers from k (def when unset).
func envInts(b *testing.B, k, def string) []int {
	v := os.Getenv(k)
	if v == "" {
		v = def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: want positive numbers, comma-separated", k, v)
		}
		out = append(out, n)
	}
	return out
}

func mustRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	rss, err := PeakRSS(pid)
	if err != nil {
		tb.Fatal(err)
	}
	return rss
}

// cpuUse is the CPU time the three processes of the pipeline used, with what Elasticsearch did.
type cpuUse struct {
	worker, sim time.Duration
	es          esWork
}

func (c cpuUse) sub(d cpuUse) cpuUse {
	return cpuUse{worker: c.worker - d.worker, sim: c.sim - d.sim, es: c.es.sub(d.es)}
}

func (s *suite) cpu(w *worker, sm *sim) cpuUse {
	wc, err1 := CPUTime(w.cmd.Process.Pid)
	sc, err2 := CPUTime(sm.cmd.Process.Pid)
	if err1 != nil || err2 != nil {
		s.b.Fatal(err1, err2)
	}
	return cpuUse{worker: wc, sim: sc, es: s.esWork()}
}

// profile starts a CPU profile of the worker when BENCH_PPROF is set (30 s, from 3 s into the
// rebuild) and returns a function that waits for it and saves it in bench-results/.
func (s *suite) profile(w *worker) func() {
	if w.pprofAddr == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(3 * time.Second)
		res, err := http.Get("http://" + w.pprofAddr + "/debug/pprof/profile?seconds=30")
		if err != nil {
			s.logf("worker profile: %v", err)
			return
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		path := filepath.Join(resultsDir, "worker-cpu-"+time.Now().UTC().Format("20060102-150405")+".prof")
		if err := os.WriteFile(path, raw, 0o644); err == nil {
			s.logf("worker CPU profile: %s (go tool pprof -top %s)", path, path)
		}
	}()
	return func() { <-done }
}

// rawDoc is one pre-serialised document.
type rawDoc struct {
	id      string
	version int64
	body    []byte
}

// itemKey names a product.
type itemKey struct{ company, item string }

// readCatalog reads every product once through the d365 connector and encodes the documents
// the pipeline sends, byte for byte (with their content hash); it keeps at most max documents
// (the baseline is a rate) and every product's key.
func (s *suite) readCatalog(sm *sim, maxDocs int) ([]rawDoc, []itemKey) {
	var docs []rawDoc
	var items []itemKey
	start := time.Now()
	err := eachProduct(context.Background(), sm, func(pr erp.Product, body []byte) {
		items = append(items, itemKey{pr.Company, pr.ItemNumber})
		if len(docs) < maxDocs {
			docs = append(docs, rawDoc{id: document.ID(pr.Company, pr.ItemNumber), version: document.Version(pr.Modified), body: body})
		}
	})
	if err != nil {
		s.b.Fatal(err)
	}
	s.logf("read %d products through the connector in %s", len(items), time.Since(start).Round(time.Millisecond))
	return docs, items
}

// eachProduct reads every product of the simulator once through the d365 connector, a page of
// 1,000 at a time, encodes each as the pipeline does (the bytes the import sends) and hands it
// to fn. It stops at the first error, or when ctx ends.
func eachProduct(ctx context.Context, sm *sim, fn func(erp.Product, []byte)) error {
	src, err := d365.New(d365.Config{BaseURL: sm.url, ClientID: erpsim.DefaultClientID, ClientSecret: erpsim.DefaultClientSecret})
	if err != nil {
		return err
	}
	opts := document.Options{CompanyLanguages: companyLanguages}
	req := erp.ReadRequest{PageSize: 1000}
	for pages := 0; pages < 100_000; pages++ {
		p, err := src.Read(ctx, erp.Products, req)
		if err != nil {
			return err
		}
		for _, r := range p.Records {
			body, _, err := document.Encode(r, opts)
			if err != nil {
				return err
			}
			fn(r.Value.(erp.Product), body)
		}
		if p.Done {
			return nil
		}
		req.After = p.Next
	}
	return fmt.Errorf("the catalog did not end after 100,000 pages")
}

// bulkResult is the baseline's outcome.
type bulkResult struct {
	docs   int
	bodies [][]byte // the _bulk request bodies
	rate   float64  // docs/s of the best concurrency
	took   time.Duration
	best   int
	tried  string
	avgKB  float64
	bodyMB int
	esWork esWork // what Elasticsearch did in the best run
}

// rawBulk sends the documents with _bulk into fresh generations (same mapping and bulk-load
// settings as a rebuild), at each concurrency of BENCH_BULK_CONCURRENCY (default 1,2,4,8), and
// keeps the best. The time runs from the first request to the finished generation (refresh
// and settings restored), as a rebuild's does up to its alias swap.
func (s *suite) rawBulk(docs []rawDoc) bulkResult {
	const flush = 5 << 20 // the bulk writer's default request size
	var bodies [][]byte
	var buf bytes.Buffer
	total := 0
	warm := bulkResult{} // the first bodies, of at most about 100,000 documents
	for i, d := range docs {
		fmt.Fprintf(&buf, `{"index":{"_id":%q,"version":%d,"version_type":"external"}}`+"\n", d.id, d.version)
		buf.Write(d.body)
		buf.WriteByte('\n')
		total += len(d.body)
		if buf.Len() >= flush {
			bodies = append(bodies, bytes.Clone(buf.Bytes()))
			buf.Reset()
			if i < 100_000 {
				warm.bodies, warm.docs = bodies, i+1
			}
		}
	}
	if buf.Len() > 0 {
		bodies = append(bodies, bytes.Clone(buf.Bytes()))
	}
	if warm.docs == 0 {
		warm.bodies, warm.docs = bodies, len(docs)
	}
	out := bulkResult{docs: len(docs), bodies: bodies, avgKB: float64(total) / float64(len(docs)) / 1024, bodyMB: flush >> 20, tried: os.Getenv("BENCH_BULK_CONCURRENCY")}
	if out.tried == "" {
		out.tried = "1,2,4,8"
	}
	s.warmUp(warm)
	for _, f := range strings.Split(out.tried, ",") {
		conc, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || conc < 1 {
			s.b.Fatalf("BENCH_BULK_CONCURRENCY=%q", out.tried)
		}
		took, work := s.rawBulkRun(out, conc)
		if rate := float64(len(docs)) / took.Seconds(); rate > out.rate {
			out.rate, out.took, out.best, out.esWork = rate, took, conc, work
		}
	}
	return out
}

// importSample runs an import of products (as runImport), logs its rate and what it cost
// Elasticsearch, and returns the rate: a sample's CPU a document says whether it met the node in
// the state the baseline's samples did.
func (s *suite) importSample(name, mode string, extra ...string) float64 {
	work0 := s.esWork()
	res, took := s.runImport(s.prefix, mode, extra...)
	work := s.esWork().sub(work0)
	n := res.Of(erp.Products).Counts.Indexed
	s.logf("%s: %d docs in %s, %.0f docs/s; Elasticsearch busy %.2f cores; %s", name, n, took.Round(time.Millisecond),
		float64(n)/took.Seconds(), work.cpu.Seconds()/took.Seconds(), work)
	return float64(n) / took.Seconds()
}

// maxWarmPasses bounds warmUp: passes of about 25 s each on this machine.
const maxWarmPasses = 6

// warmUp sends warm (the first 100,000 documents or so) into fresh generations until
// Elasticsearch's CPU a document settles: until a pass costs it more than 95% of the CPU the pass
// before it did, at most maxWarmPasses times. A node that has just started runs its code cold,
// and it warms up over several passes, not one, when it has one CPU to compile with as well:
// in one run, after a single pass, the baseline's samples cost it 27.9, 26.4, 24.5, 23.7 and
// 19.9 s of CPU per 100,000 documents one after the other, with the imports' samples between
// them, and those met a colder node than the baseline's later samples. None of this is counted.
func (s *suite) warmUp(warm bulkResult) {
	s.logf("raw _bulk, warming Elasticsearch up (not counted):")
	last := time.Duration(0)
	for pass := 1; pass <= maxWarmPasses; pass++ {
		_, work := s.rawBulkRun(warm, 2)
		if last > 0 && work.cpu > last*95/100 {
			return
		}
		last = work.cpu
	}
	s.logf("raw _bulk: Elasticsearch's CPU a document still fell after %d passes", maxWarmPasses)
}

// rawBulkAgain sends the baseline's documents once more, at its best concurrency, and returns
// the rate.
func (s *suite) rawBulkAgain(bulk bulkResult) float64 {
	took, _ := s.rawBulkRun(bulk, bulk.best)
	return float64(bulk.docs) / took.Seconds()
}

// rawBulkRun sends the baseline's bodies into a fresh generation with conc requests in flight,
// finishes it and deletes it.
func (s *suite) rawBulkRun(bulk bulkResult, conc int) (time.Duration, esWork) {
	ctx := context.Background()
	x := search.New(s.es, s.prefix+"-raw")
	gen, err := x.CreateGeneration(ctx, erp.Products)
	if err != nil {
		s.b.Fatal(err)
	}
	start, work0 := time.Now(), s.esWork()
	s.sendBulk(gen, bulk.bodies, conc)
	if err := x.FinishGeneration(ctx, gen); err != nil {
		s.b.Fatal(err)
	}
	took, work := time.Since(start), s.esWork().sub(work0)
	if n, err := x.Count(ctx, gen); err != nil || n != bulk.docs {
		s.b.Fatalf("raw _bulk left %d documents of %d in %s (%v)", n, bulk.docs, gen, err)
	}
	s.logf("raw _bulk, %d in flight: %d docs in %s, %.0f docs/s; %s", conc, bulk.docs, took.Round(time.Millisecond), float64(bulk.docs)/took.Seconds(), work)
	if res, err := s.es.Indices.Delete([]string{gen}); err == nil {
		res.Body.Close()
	}
	return took, work
}

// rates lists rates for a note: "3,922, 4,011 and 3,850 docs/s".
func rates(xs []float64) string { return join(xs, formatValue, " docs/s") }

// ratiosText lists ratios as "0.91, 0.88 and 0.72".
func ratiosText(xs []float64) string {
	return join(xs, func(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }, "")
}

// join lists xs, each formatted by f, as "a, b and c", then unit; "none" for none.
func join(xs []float64, f func(float64) string, unit string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = f(x)
	}
	switch len(parts) {
	case 0:
		return "none"
	case 1:
		return parts[0] + unit
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1] + unit
}

// sendBulk sends bodies to index from conc goroutines and fails on any item error.
func (s *suite) sendBulk(index string, bodies [][]byte, conc int) {
	work := make(chan []byte)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range work {
				if err := s.bulkOnce(index, body); err != nil {
					errs <- err
					for range work {
					}
					return
				}
			}
		}()
	}
	for _, body := range bodies {
		work <- body
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		s.b.Fatal(err)
	}
}

func (s *suite) bulkOnce(index string, body []byte) error {
	// The answer is filtered as the bulk writer filters its own: what it does not ask for,
	// Elasticsearch need not write.
	res, err := esapi.BulkRequest{Index: index, Body: bytes.NewReader(body), FilterPath: search.BulkFilterPath}.Do(context.Background(), s.es)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var out struct {
		Errors bool              `json:"errors"`
		Items  []json.RawMessage `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.IsError() {
		return fmt.Errorf("_bulk: %s %v", res.Status(), err)
	}
	if out.Errors {
		for _, it := range out.Items {
			if bytes.Contains(it, []byte(`"error"`)) {
				return fmt.Errorf("_bulk item failed: %.500s", it)
			}
		}
	}
	return nil
}

// editShare renames n products spread evenly over the catalog through OData, 4 at a time, and
// returns how many edits the ERP took.
func (s *suite) editShare(e *erpHTTP, items []itemKey, n int) int {
	n = min(max(n, 1), len(items))
	step := len(items) / n
	work := make(chan itemKey)
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	ctx := context.Background()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if _, err := e.do(ctx, http.MethodPatch, productPath(it.company, it.item), map[string]any{"ProductName": "Bench renamed " + it.item}, nil); err != nil {
					s.b.Errorf("edit %s/%s: %v", it.company, it.item, err)
					continue
				}
				mu.Lock()
				done++
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		work <- items[i*step]
	}
	close(work)
	wg.Wait()
	return done
}

// freshnessLimit is how long freshness waits for one edit to be searchable.
const freshnessLimit = 2 * time.Minute

// freshness turns on the change driver (1 change/s) and the update schedule, then edits n
// products one a second and measures for each how long until the products alias finds the
// edit's version; it turns both off again before it returns. An edit not found within
// freshnessLimit counts as freshnessLimit and as unseen: it is a figure of the report, not a
// failure of the benchmark (it happens with a catalog where one change bumps thousands of
// products, see docs/benchmarks.md).
func (s *suite) freshness(e *erpHTTP, items []itemKey, n int) (lat []time.Duration, unseen int) {
	ctx := context.Background()
	if _, err := e.do(ctx, http.MethodPut, "/admin/changes", map[string]any{"rate": 1}, nil); err != nil {
		s.b.Fatal(err)
	}
	s.starter(s.prefix, "schedules", "apply", "--update-every", updateEvery(s.b).String())
	defer func() {
		_, _ = e.do(ctx, http.MethodPut, "/admin/changes", map[string]any{"rate": 0}, nil)
		for _, id := range []string{"product-import-update", "product-import-rebuild", "customer-import-update", "customer-import-rebuild"} {
			_ = s.temporal.ScheduleClient().GetHandle(ctx, s.queue+"-"+id).Delete(ctx)
		}
		s.terminateScheduled()
	}()
	alias := s.prefix + "-products"
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		it := items[(i*7919+13)%len(items)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			stamp, err := e.editProduct(ctx, it.company, it.item, fmt.Sprintf("Fresh edit %d", i))
			if err != nil { // the change driver may have deleted it
				s.logf("freshness edit of %s/%s: %v", it.company, it.item, err)
				return
			}
			id, version := document.ID(it.company, it.item), document.Version(stamp)
			for deadline := start.Add(freshnessLimit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if s.searchVersion(alias, id) >= version {
					mu.Lock()
					lat = append(lat, time.Since(start))
					mu.Unlock()
					return
				}
			}
			s.logf("the edit of %s was not searchable within %s", id, freshnessLimit)
			mu.Lock()
			lat = append(lat, freshnessLimit)
			unseen++
			mu.Unlock()
		}()
		time.Sleep(time.Second)
	}
	wg.Wait()
	slices.Sort(lat)
	return lat, unseen
}

// terminateScheduled ends the runs the benchmark's schedules started that are still open, so
// none is left waiting for a worker that is gone.
func (s *suite) terminateScheduled() {
	ctx := context.Background()
	q := fmt.Sprintf(`WorkflowId STARTS_WITH %q and ExecutionStatus = "Running"`, s.queue)
	res, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: q, PageSize: 100})
	if err != nil {
		s.logf("list the scheduled runs left open: %v", err)
		return
	}
	for _, e := range res.GetExecutions() {
		_ = s.temporal.TerminateWorkflow(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId(), "benchmark ends")
	}
}

// searchVersion returns the version of document id as a search of target finds it, 0 when it
// finds none.
func (s *suite) searchVersion(target, id string) int64 {
	q := fmt.Sprintf(`{"query":{"ids":{"values":[%q]}},"version":true,"_source":false}`, id)
	res, err := s.es.Search(s.es.Search.WithIndex(target), s.es.Search.WithBody(strings.NewReader(q)))
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	var out struct {
		Hits struct {
			Hits []struct {
				Version int64 `json:"_version"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if json.NewDecoder(res.Body).Decode(&out) != nil || len(out.Hits.Hits) == 0 {
		return 0
	}
	return out.Hits.Hits[0].Version
}
