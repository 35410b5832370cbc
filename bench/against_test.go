package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/internal/testenv"
)

// BenchmarkAgainst compares this tree's simulator and worker with those of another revision
// (BENCH_AGAINST, any git revision: a hash, a tag, HEAD~3), or with themselves under other
// settings (BENCH_AGAINST_ENV, "K=V ..." added to the environment of the other side's simulator
// and workers, for example GOGC=100; with both, that revision under those settings), in (2)'s
// setting of BenchmarkImport: a rebuild of BENCH_PRODUCTS (100000) products, no added latency,
// Elasticsearch on CPU 0 alone. BENCH_AGAINST_PARTITIONS (a number; default the worker's, 8) sets
// the partitions at once ((2) runs 4), and BENCH_AGAINST_LATENCY (a duration; default none)
// makes both simulators answer that late: with 150ms and 8, the pairs run in (8)'s setting. It
// ignores b.N; run it with `make bench-against BENCH_AGAINST=<revision>`. Without BENCH_AGAINST
// or BENCH_AGAINST_ENV it is skipped, as `make bench` runs it.
//
// One run of a version against another cannot show a difference of a few percent on this
// machine: its speed drifts by a third within an hour. So the two versions take turns, in
// BENCH_PAIRS (7) pairs whose order alternates (this tree first in the 1st, 3rd, ... pair), each
// pair facing the same state of the machine. The report gives per version the median rate, the
// simulator's and the worker's CPU, and Elasticsearch's CPU for the same documents; then the
// median of the pairs' ratios, how many pairs went each way, and the chance of so uneven a split
// if neither version were faster (SignTest: 5 of 7 is no evidence, 7 of 7 some). On this machine
// two runs of one comparison went 5 of 7 one way and 8 of 9 the other (docs/benchmarks.md). The
// pairs stop early after BENCH_AGAINST_FOR (45m); the report says how many ran.
//
// Each version has a simulator of its own (on its own copy of the catalog) that stays up, and a
// worker started for each of its rebuilds and stopped after it, so that only one worker polls
// the task queue at a time. The starter is this tree's. The other revision is checked out in a
// temporary git worktree and built there; its modules must be in the module cache or reachable.
func BenchmarkAgainst(b *testing.B) {
	rev, env := os.Getenv("BENCH_AGAINST"), strings.Fields(os.Getenv("BENCH_AGAINST_ENV"))
	if rev == "" && len(env) == 0 {
		b.Skip("BENCH_AGAINST=<git revision> compares that revision with this tree, BENCH_AGAINST_ENV='K=V ...' this tree with those settings: make bench-against")
	}
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			b.Fatalf("BENCH_AGAINST_ENV: %q is not K=V", kv)
		}
	}
	products := testenv.EnvInt(b, "BENCH_PRODUCTS", 100_000)
	pairs := testenv.EnvInt(b, "BENCH_PAIRS", 7)
	limit := envDuration(b, "BENCH_AGAINST_FOR", 45*time.Minute)
	command := "make bench-against"
	if rev != "" {
		command += " BENCH_AGAINST=" + rev
	}
	if len(env) > 0 {
		command += " BENCH_AGAINST_ENV='" + strings.Join(env, " ") + "'"
	}
	latency := envDuration(b, "BENCH_AGAINST_LATENCY", 0)
	if latency > 0 {
		command += " BENCH_AGAINST_LATENCY=" + latency.String()
	}
	var extra []string // the starter's flags of every rebuild
	if v := os.Getenv("BENCH_AGAINST_PARTITIONS"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("BENCH_AGAINST_PARTITIONS=%q: want a number of partitions, 1 or more", v)
		}
		extra = append(extra, "--partitions", v)
		command += " BENCH_AGAINST_PARTITIONS=" + v
	}
	r := &Report{Started: time.Now().UTC(), Machine: ThisMachine(), Settings: settings(),
		Command: fmt.Sprintf("%s BENCH_PAIRS=%d", command, pairs)}
	cat := catalog(products)
	r.Catalog = map[string]int{"products": cat.Products, "customers": cat.Customers, "companies": len(cat.Companies)}
	s := newSuite(b)
	r.CPULayout = s.pinCPUs()
	defer func() { s.finish(r) }()

	this := &version{name: "this tree (" + s.describeTree() + ")", worker: s.bins.worker, erpsim: s.bins.erpsim}
	that := &version{name: this.name, worker: this.worker, erpsim: this.erpsim, env: env}
	if rev != "" {
		that.name, that.worker, that.erpsim = s.buildRevision(rev)
	}
	if len(env) > 0 {
		that.name += " with " + strings.Join(env, " ")
	}
	this.sim = s.startSimFrom(this.erpsim, "sim-this", nil, cat)
	that.sim = s.startSimFrom(that.erpsim, "sim-that", that.env, cat)
	if latency > 0 {
		for _, v := range []*version{this, that} {
			newERPHTTP(b, v.sim.url).setLatency(b, latency)
		}
	}
	s.logf("this: %s; that: %s; ERP latency %s, starter flags %q", this.name, that.name, latency, extra)

	// One rebuild of each, not counted: the node and the simulators warm up (see BenchmarkImport).
	for _, v := range []*version{this, that} {
		s.rebuildWith(v, products, extra...)
	}
	deadline := time.Now().Add(limit)
	var ratios, esRatios []float64
	faster, esDearer := 0, 0
	for i := 0; i < pairs && time.Now().Before(deadline); i++ {
		order := []*version{this, that}
		if i%2 == 1 {
			order = []*version{that, this}
		}
		for _, v := range order {
			v.add(s.rebuildWith(v, products, extra...))
		}
		ratio := this.rates[i] / that.rates[i]
		ratios = append(ratios, ratio)
		esRatios = append(esRatios, this.esCPU[i]/that.esCPU[i])
		if ratio > 1 {
			faster++
		}
		if this.esCPU[i] > that.esCPU[i] {
			esDearer++
		}
		s.logf("pair %d of %d (%s first): this %.0f docs/s, that %.0f docs/s; ratio %.3f", i+1, pairs, order[0].short(this), this.rates[i], that.rates[i], ratio)
	}
	n := len(ratios)
	if n < pairs {
		s.logf("BENCH_AGAINST_FOR (%s) ended the run after %d pairs of %d", limit, n, pairs)
	}
	for _, v := range []*version{this, that} {
		key := "against_" + v.short(this)
		r.Add(key+"_docs_per_second", "rebuild rate, "+v.name, Median(v.rates), "docs/s",
			fmt.Sprintf("median of %d samples (%s)", n, rates(v.rates)))
		r.Add(key+"_pipeline_cpu", "simulator and worker CPU a rebuild, "+v.name, Median(v.pipelineCPU), "s",
			"median of "+join(v.pipelineCPU, secondsText, " s"))
		r.Add(key+"_es_cpu", "Elasticsearch CPU a rebuild, "+v.name, Median(v.esCPU), "s",
			"median of "+join(v.esCPU, secondsText, " s"))
	}
	r.Add("against_rate_ratio", "rebuild rate, this tree over "+that.name, Median(ratios), "",
		fmt.Sprintf("median of the %d pairs' ratios (%s); this tree was faster in %d of %d pairs (sign test: p = %.2f)", n, ratiosText(ratios), faster, n, SignTest(faster, n)))
	r.Add("against_es_cpu_ratio", "Elasticsearch CPU for the same documents, this tree over "+that.name, Median(esRatios), "",
		fmt.Sprintf("median of the %d pairs' ratios (%s); it was higher with this tree in %d of %d pairs (sign test: p = %.2f)", n, ratiosText(esRatios), esDearer, n, SignTest(esDearer, n)))
	b.ReportMetric(Median(ratios), "rate-ratio")
}

// version is one side of BenchmarkAgainst: its binaries, its simulator and its counted
// rebuilds' figures, the i-th of each from the same rebuild.
type version struct {
	name           string
	worker, erpsim string
	env            []string // added to the environment of its simulator and its workers
	sim            *sim
	// rates are docs/s; pipelineCPU the simulator's and the worker's CPU seconds, esCPU
	// Elasticsearch's.
	rates, pipelineCPU, esCPU []float64
}

// rebuildSample is what one rebuild took: docs/s, and the CPU seconds of the simulator and the
// worker together and of Elasticsearch.
type rebuildSample struct{ rate, pipelineCPU, esCPU float64 }

func (v *version) add(x rebuildSample) {
	v.rates = append(v.rates, x.rate)
	v.pipelineCPU = append(v.pipelineCPU, x.pipelineCPU)
	v.esCPU = append(v.esCPU, x.esCPU)
}

// short is "this" for this tree's side and "that" for the other.
func (v *version) short(this *version) string {
	if v == this {
		return "this"
	}
	return "that"
}

// rebuildWith starts v's worker on v's simulator, runs one rebuild of the products (extra goes
// to the starter), stops the worker and returns what the rebuild took; it logs how busy
// Elasticsearch and the pipeline's CPUs were (traceBusy). Both versions write under the
// suite's index prefix: a rebuild replaces the generation behind the alias whichever wrote it.
func (s *suite) rebuildWith(v *version, products int, extra ...string) rebuildSample {
	w := s.startWorkerFrom(v.worker, v.sim, s.prefix, v.env...)
	defer stop(w.cmd)
	cpu0 := s.cpu(w, v.sim)
	traced := s.traceBusy()
	res, took := s.runImport(s.prefix, "rebuild", extra...)
	traced()
	cpu := s.cpu(w, v.sim).sub(cpu0)
	c := res.Of(erp.Products).Counts
	if c.Indexed != products {
		s.b.Fatalf("%s: the rebuild indexed %d products of %d: %+v", v.name, c.Indexed, products, c)
	}
	x := rebuildSample{rate: float64(c.Indexed) / took.Seconds(), pipelineCPU: (cpu.worker + cpu.sim).Seconds(), esCPU: cpu.es.cpu.Seconds()}
	s.logf("%s: %d docs in %s, %.0f docs/s; simulator and worker CPU %.1f s; %s", v.name, c.Indexed,
		took.Round(time.Millisecond), x.rate, x.pipelineCPU, cpu.es)
	return x
}

// buildRevision checks rev out in a temporary worktree, builds its worker and simulator, and
// returns its short hash and the two binaries' paths.
func (s *suite) buildRevision(rev string) (name, worker, erpsim string) {
	hash := strings.TrimSpace(s.git("rev-parse", "--verify", rev+"^{commit}"))
	dir := filepath.Join(s.tmp, "against-src")
	s.git("worktree", "add", "--detach", dir, hash)
	s.b.Cleanup(func() { _, _ = exec.Command("git", "worktree", "remove", "--force", dir).CombinedOutput() })
	out := filepath.Join(s.tmp, "against-bin")
	cmd := exec.Command("go", "build", "-o", out+"/", "./worker", "./cmd/erpsim")
	cmd.Dir, cmd.Stderr = dir, os.Stderr
	if err := cmd.Run(); err != nil {
		s.b.Fatalf("build the worker and erpsim of %s: %v", rev, err)
	}
	line := strings.TrimSpace(s.git("log", "-1", "--format=%h %s", hash))
	s.logf("%s is %s", rev, line)
	short, _, _ := strings.Cut(line, " ")
	return short, filepath.Join(out, "worker"), filepath.Join(out, "erpsim")
}

// describeTree names this tree's revision, with "+ changes" when it has uncommitted ones.
func (s *suite) describeTree() string {
	name := strings.TrimSpace(s.git("log", "-1", "--format=%h"))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		name += " + changes"
	}
	return name
}

// git runs git in the package's directory (inside the repository) and returns its output.
func (s *suite) git(args ...string) string {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		s.b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return string(out)
}
