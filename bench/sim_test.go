package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/internal/testenv"
)

// BenchmarkSimulatorReads measures what the simulator spends per product while the connector
// reads its whole catalog of BENCH_PRODUCTS (default 100000) products, in one stream and in the
// partitions of a rebuild (it ignores b.N: run it with -benchtime 1x, as make bench does). The
// simulator stands in for an ERP on machines of its own: it should cost per product at
// 1,000,000 products what it costs at 100,000. It needs neither Elasticsearch nor Temporal.
func BenchmarkSimulatorReads(b *testing.B) {
	products := testenv.EnvInt(b, "BENCH_PRODUCTS", 100_000)
	r := &Report{Started: time.Now().UTC(), Machine: ThisMachine(), Settings: settings(),
		Command: fmt.Sprintf("make bench BENCH_PKGS=./bench/ BENCH_PRODUCTS=%d (BenchmarkSimulatorReads)", products)}
	cat := catalog(products)
	r.Catalog = map[string]int{"products": cat.Products, "customers": cat.Customers, "companies": len(cat.Companies)}
	s := &suite{b: b, tmp: b.TempDir()}
	cmd := exec.Command("go", "build", "-o", s.tmp+"/", "../cmd/erpsim")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("build erpsim: %v", err)
	}
	s.bins.erpsim = filepath.Join(s.tmp, "erpsim")
	defer func() { s.finish(r) }()
	sm := s.startSim(cat)
	src, err := d365.New(d365.Config{BaseURL: sm.url, ClientID: erpsim.DefaultClientID, ClientSecret: erpsim.DefaultClientSecret})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	read := func(p *erp.Partition) (n, requests int) {
		req := erp.ReadRequest{PageSize: 1000, Partition: p}
		for {
			page, err := src.Read(ctx, erp.Products, req)
			if err != nil {
				b.Fatal(err)
			}
			n += len(page.Records)
			requests += page.Requests
			if page.Done {
				return n, requests
			}
			req.After = page.Next
		}
	}
	measure := func(key, name string, fn func() (int, int)) {
		cpu0, start := mustCPU(b, sm.cmd.Process.Pid), time.Now()
		n, requests := fn()
		cpu, took := mustCPU(b, sm.cmd.Process.Pid)-cpu0, time.Since(start)
		if n != products {
			b.Errorf("%s read %d products of %d", name, n, products)
		}
		r.Add(key, name, float64(cpu.Microseconds())/1000/float64(n), "ms",
			fmt.Sprintf("CPU of the simulator per product: %.1f CPU s for %d products, %d requests, in %s", cpu.Seconds(), n, requests, took.Round(100*time.Millisecond)))
	}
	measure("sim_stream_ms_per_product", "simulator CPU per product, one stream", func() (int, int) { return read(nil) })
	d := activities.DefaultSettings()
	parts, _, err := src.Partitions(ctx, erp.Products, time.Time{}, erp.PartitionPlan{Size: d.PartitionSize, Slots: d.Partitions})
	if err != nil {
		b.Fatal(err)
	}
	measure("sim_partitions_ms_per_product", fmt.Sprintf("simulator CPU per product, %d partitions one after the other", len(parts)), func() (n, requests int) {
		for i := range parts {
			pn, pr := read(&parts[i])
			n, requests = n+pn, requests+pr
		}
		return n, requests
	})
}
