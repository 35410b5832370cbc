package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/internal/testenv"
)

// BenchmarkChangeDetection measures what each change detection costs on one catalog (it ignores
// b.N; run it with -benchtime 1x, as `make bench` does), each mode against a simulator playing
// the ERP it is for: parent-stamps (an ERP add-on bumps roots, logs deletes) and child-stamps
// (stock D365: -bumps=off -deletion-log=off). For each: a rebuild; an update with nothing
// changed; an update after 1% of the products had one child edit (their German translation
// renamed); an audit, set against the rebuild's ERP requests, bytes and time.
//
// BENCH_PRODUCTS (default 100000) sizes the catalog.
func BenchmarkChangeDetection(b *testing.B) {
	products := testenv.EnvInt(b, "BENCH_PRODUCTS", 100_000)
	r := &Report{Started: time.Now().UTC(), Machine: ThisMachine(), Settings: settings(), Command: "make bench BENCH_PKGS=./bench/ (BenchmarkChangeDetection)"}
	cat := catalog(products)
	r.Catalog = map[string]int{"products": cat.Products, "customers": cat.Customers, "companies": len(cat.Companies)}
	s := newSuite(b)
	r.CPULayout = s.pinCPUs()
	defer func() { s.finish(r) }()

	for _, mode := range []struct {
		detection activities.Detection
		simArgs   []string
	}{
		{activities.ParentStamps, nil},
		{activities.ChildStamps, []string{"--bumps", "off", "--deletion-log", "off"}},
	} {
		d := string(mode.detection)
		sm := s.startSim(cat, mode.simArgs...)
		prefix := s.prefix + "-" + strings.SplitN(d, "-", 2)[0]
		w := s.startWorker(sm, prefix, "ERPSYNC_CHANGE_DETECTION="+d)

		reb, rebTook := s.runImport(prefix, "rebuild")
		rc := reb.Of(erp.Products).Counts
		r.Add(d+"_rebuild_s", d+": rebuild", rebTook.Seconds(), "s",
			fmt.Sprintf("%d written, %d ERP requests, %.1f MB read", rc.Indexed, rc.Requests, float64(rc.Bytes)/1e6))

		time.Sleep(safetyLag(b) + time.Second)
		upd, took := s.runImport(prefix, "update")
		uc := upd.Of(erp.Products).Counts
		r.Add(d+"_nothing_ms", d+": update, nothing changed", float64(took.Milliseconds()), "ms",
			fmt.Sprintf("%d ERP requests, %d written", uc.Requests, uc.Indexed))

		edited := s.editTranslations(sm, products/100)
		time.Sleep(safetyLag(b) + time.Second)
		upd, took = s.runImport(prefix, "update")
		uc = upd.Of(erp.Products).Counts
		r.Add(d+"_1pct_child_ms", d+": update after 1% child edits", float64(took.Milliseconds()), "ms",
			fmt.Sprintf("%d translations edited; %d ERP requests, %d read, %d written", edited, uc.Requests, uc.Read, uc.Indexed))
		if uc.Indexed < edited {
			b.Errorf("%s: the update wrote %d documents after %d products' translations changed", d, uc.Indexed, edited)
		}

		aud, audTook := s.runImport(prefix, "audit")
		ac := aud.Of(erp.Products).Counts
		r.Add(d+"_audit_s", d+": audit", audTook.Seconds(), "s",
			fmt.Sprintf("%d compared, %d repaired, %d ERP requests, %.1f MB read", ac.Changed, ac.Repaired, ac.Requests, float64(ac.Bytes)/1e6))
		r.Add(d+"_audit_bytes_share", d+": audit bytes / rebuild bytes", float64(ac.Bytes)/float64(rc.Bytes), "", "")
		r.Add(d+"_audit_time_share", d+": audit time / rebuild time", audTook.Seconds()/rebTook.Seconds(), "", "")
		stop(w.cmd)
		stop(sm.cmd)
	}
}

// editTranslations renames the German translation of n products spread over the catalog through
// OData, and returns how many edits the ERP took.
func (s *suite) editTranslations(sm *sim, n int) int {
	src, err := d365.New(d365.Config{BaseURL: sm.url, ClientID: erpsim.DefaultClientID, ClientSecret: erpsim.DefaultClientSecret})
	if err != nil {
		s.b.Fatal(err)
	}
	var items []itemKey
	for req := (erp.KeyRequest{Entity: erp.Products, PageSize: 10_000}); ; {
		p, err := src.Keys(context.Background(), req)
		if err != nil {
			s.b.Fatal(err)
		}
		for _, k := range p.Records {
			items = append(items, itemKey{k.Company, k.Key})
		}
		if p.Done {
			break
		}
		req.After = p.Next
	}
	e := newERPHTTP(s.b, sm.url)
	n = min(max(n, 1), len(items))
	step := len(items) / n
	done := 0
	for i := range n {
		it := items[i*step]
		path := fmt.Sprintf("/data/ProductTranslations(dataAreaId='%s',ItemNumber='%s',LanguageId='de')", it.company, strings.ReplaceAll(it.item, "'", "''"))
		if _, err := e.do(context.Background(), http.MethodPatch, path, map[string]any{"ProductName": "Bench umbenannt " + it.item}, nil); err != nil {
			s.b.Errorf("edit %s: %v", path, err)
			continue
		}
		done++
	}
	return done
}
