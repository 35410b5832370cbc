package bench

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/internal/testenv"
)

// BenchmarkBulkBesideLoad measures what work on the other CPUs costs Elasticsearch on a CPU of
// its own. A rebuild keeps those CPUs busy (the simulator and the worker) and raw _bulk does
// not; when Elasticsearch pays more CPU a document while they work, that part of (2)/(1)'s gap
// belongs to the machine, not to the pipeline. It sends BenchmarkImport's raw _bulk (1), every
// document of BENCH_PRODUCTS (100000), with Elasticsearch on CPU 0 alone (pinCPUs), while the
// other CPUs run, in turn:
//
//   - nothing ("idle");
//   - a shell loop that only counts, one a CPU ("spin"): work that shares no memory with
//     Elasticsearch;
//   - the catalog read through the d365 connector from the simulator and encoded, over and over,
//     as a rebuild's worker reads it, with nothing written ("read").
//
// The three take turns in BENCH_PAIRS (7) rounds whose order rotates, so that each faces the
// same drift of the machine. The report gives for each the median rate, Elasticsearch's CPU,
// the time the hypervisor took from Elasticsearch's CPU (steal) and how busy the other CPUs
// were; then, for each load against idle, the median of the rounds' ratios of Elasticsearch's
// CPU, how many rounds it was higher, and the sign test's p. It ignores b.N (-benchtime 1x):
//
//	make bench BENCH_PKGS=./bench/ BENCH_FLAGS="-p 1 -run ^$$ -bench ^BenchmarkBulkBesideLoad$$ -benchtime 1x -timeout 2h"
func BenchmarkBulkBesideLoad(b *testing.B) {
	products := testenv.EnvInt(b, "BENCH_PRODUCTS", 100_000)
	rounds := testenv.EnvInt(b, "BENCH_PAIRS", 7)
	r := &Report{Started: time.Now().UTC(), Machine: ThisMachine(), Settings: settings(),
		Command: fmt.Sprintf("make bench BENCH_PKGS=./bench/ BENCH_FLAGS=\"... -bench ^BenchmarkBulkBesideLoad$$\" BENCH_PAIRS=%d BENCH_PRODUCTS=%d", rounds, products)}
	cat := catalog(products)
	r.Catalog = map[string]int{"products": cat.Products, "customers": cat.Customers, "companies": len(cat.Companies)}
	s := newSuite(b)
	r.CPULayout = s.pinCPUs()
	if r.CPULayout == "" {
		b.Fatal("BenchmarkBulkBesideLoad needs Elasticsearch on CPUs of its own on this machine (BENCH_ES_CPUS, not shared)")
	}
	defer s.finish(r)
	esCPUs := s.pipeline.Others(runtime.NumCPU())
	sm := s.startSim(cat)
	docs, _ := s.readCatalog(sm, products)
	bulk := s.rawBulk(docs)
	docs = nil

	loads := []*besideLoad{
		{name: "idle", start: func() func() error { return func() error { return nil } }},
		{name: "spin", start: func() func() error { return s.spin(len(s.pipeline)) }},
		{name: "read", start: func() func() error { return readForever(sm) }},
	}
	for i := range rounds {
		for j := range loads {
			l := loads[(i+j)%len(loads)]
			x := s.bulkBeside(bulk, l, esCPUs)
			l.add(x)
			s.logf("round %d of %d, %s: %.0f docs/s; Elasticsearch CPU %.1f s, its CPU stolen %.1f s; CPU %s busy %.0f%%",
				i+1, rounds, l.name, x.rate, x.esCPU, x.stolen, s.pipeline, 100*x.busy)
		}
	}
	percent := func(x float64) string { return fmt.Sprintf("%.0f", 100*x) }
	for _, l := range loads {
		r.Add("beside_"+l.name+"_docs_per_second", "raw _bulk, other CPUs "+l.name, Median(l.rates), "docs/s",
			fmt.Sprintf("median of %d samples (%s); %d requests in flight", len(l.rates), rates(l.rates), bulk.best))
		r.Add("beside_"+l.name+"_es_cpu", "Elasticsearch CPU a run, other CPUs "+l.name, Median(l.esCPU), "s",
			fmt.Sprintf("median of %s; its CPU stolen by the hypervisor: %s; CPU %s busy: %s", join(l.esCPU, secondsText, " s"),
				join(l.stolen, secondsText, " s"), s.pipeline, join(l.busy, percent, "%")))
	}
	idle := loads[0]
	for _, l := range loads[1:] {
		var esRatios, rateRatios []float64
		dearer := 0
		for i := range l.esCPU {
			esRatios = append(esRatios, l.esCPU[i]/idle.esCPU[i])
			rateRatios = append(rateRatios, l.rates[i]/idle.rates[i])
			if l.esCPU[i] > idle.esCPU[i] {
				dearer++
			}
		}
		r.Add("beside_"+l.name+"_es_cpu_ratio", "Elasticsearch CPU for the same documents, other CPUs "+l.name+" over idle", Median(esRatios), "",
			fmt.Sprintf("median of the %d rounds' ratios (%s); higher in %d of %d (sign test: p = %.2f)",
				len(esRatios), ratiosText(esRatios), dearer, len(esRatios), SignTest(dearer, len(esRatios))))
		r.Add("beside_"+l.name+"_rate_ratio", "raw _bulk rate, other CPUs "+l.name+" over idle", Median(rateRatios), "",
			fmt.Sprintf("median of the %d rounds' ratios (%s)", len(rateRatios), ratiosText(rateRatios)))
		b.ReportMetric(Median(esRatios), l.name+"-es-cpu-ratio")
	}
}

// besideLoad is one of BenchmarkBulkBesideLoad's loads: start starts it on the CPUs of this
// process and returns what stops it, which reports an error the load met. The i-th of each of
// its figures comes from its raw _bulk run of the i-th round: rates in docs/s, esCPU
// Elasticsearch's CPU seconds, stolen the seconds the hypervisor took from Elasticsearch's CPUs,
// busy how busy the other CPUs were (0 to 1).
type besideLoad struct {
	name                       string
	start                      func() (stop func() error)
	rates, esCPU, stolen, busy []float64
}

// besideSample is one raw _bulk run beside a load (see besideLoad).
type besideSample struct{ rate, esCPU, stolen, busy float64 }

func (l *besideLoad) add(x besideSample) {
	l.rates = append(l.rates, x.rate)
	l.esCPU = append(l.esCPU, x.esCPU)
	l.stolen = append(l.stolen, x.stolen)
	l.busy = append(l.busy, x.busy)
}

// bulkBeside sends the baseline's documents once, at its best concurrency, while l runs.
func (s *suite) bulkBeside(bulk bulkResult, l *besideLoad, esCPUs CPUSet) besideSample {
	stop := l.start()
	time.Sleep(time.Second) // the load reaches its pace
	idle0, total0 := s.pipelineIdle()
	stolen0, err := esCPUs.Stolen()
	if err != nil {
		s.b.Fatal(err)
	}
	took, work := s.rawBulkRun(bulk, bulk.best)
	idle1, total1 := s.pipelineIdle()
	stolen1, err := esCPUs.Stolen()
	if err != nil {
		s.b.Fatal(err)
	}
	if err := stop(); err != nil {
		s.b.Fatalf("the load %s: %v", l.name, err)
	}
	x := besideSample{rate: float64(bulk.docs) / took.Seconds(), esCPU: work.cpu.Seconds(), stolen: (stolen1 - stolen0).Seconds()}
	if total1 > total0 {
		x.busy = 1 - (idle1-idle0).Seconds()/(total1-total0).Seconds()
	}
	return x
}

// spin starts n shells that only count, on this process's CPUs, and returns what stops them;
// a benchmark that fails meanwhile stops them too (suite.start).
func (s *suite) spin(n int) func() error {
	var cmds []*exec.Cmd
	for range n {
		cmds = append(cmds, s.start("spin", "sh", nil, "-c", "i=0; while :; do i=$((i+1)); done"))
	}
	return func() error {
		for _, cmd := range cmds {
			stop(cmd)
		}
		return nil
	}
}

// readForever reads and encodes the simulator's catalog over and over (eachProduct) until the
// function it returns is called; that function returns the first error of a read.
func readForever(sm *sim) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var err error
		for ctx.Err() == nil && err == nil {
			err = eachProduct(ctx, sm, func(erp.Product, []byte) {})
		}
		if ctx.Err() != nil {
			err = nil // the read that stop cancelled
		}
		done <- err
	}()
	return func() error {
		cancel()
		return <-done
	}
}
