package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/workflows"
)

// waitWithin waits for an import to end within d; when it does not, it terminates the run and
// fails the test.
func (s *stack) waitWithin(id string, d time.Duration) workflows.ImportResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var res workflows.ImportResult
	if err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		_ = s.temporal.TerminateWorkflow(context.Background(), id, "", "the test gave up on it")
		s.t.Fatalf("%s did not end within %s: %v", id, d, err)
	}
	return res
}

// TestSlowPagesOutliveTheHeartbeatTimeout: an ERP so slow that one page takes longer than the
// heartbeat timeout (every request 1 s; a page is a roots request and a dozen child requests)
// still gets imported: the chunk heartbeats on a ticker while it reads and writes. It used to
// heartbeat only after a page, so every attempt timed out and restarted from the same cursor.
func TestSlowPagesOutliveTheHeartbeatTimeout(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(31)
	cat.Companies, cat.Products = []string{"usmf"}, 60
	s := newStack(t, cat, erpsim.Config{Faults: erpsim.Faults{Latency: erpsim.Duration(time.Second)}}, activities.Settings{PageSize: 100})
	start := time.Now()
	run := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild, HeartbeatTimeout: 2 * time.Second})
	res := s.waitWithin(run.GetID(), 90*time.Second)
	t.Logf("a rebuild with 1 s per ERP request and a 2 s heartbeat timeout took %s: %+v", time.Since(start).Round(time.Second), res.Entities[0].Counts)
	if err := s.sim.Server.SetFaults(erpsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	s.checkProducts()
}

// TestAPoisonProductIsDeadLetteredAndTheRunIsPartial: a product whose SalesPrice the ERP took
// as 1e100000 (10^100000, beyond any double) is dead-lettered with the reason; the other change
// of the run is indexed, the run ends as a partial success in its result and in `starter
// status`, and once the price is fixed the next run that reads the product indexes it. The
// update used to fail as invalid, and every later run stopped at the same cursor.
func TestAPoisonProductIsDeadLetteredAndTheRunIsPartial(t *testing.T) {
	t.Parallel()
	s := newStack(t, simtest.Catalog(32), erpsim.Config{}, activities.Settings{PageSize: 50, SafetyLag: time.Second})
	s.run(workflows.ProductImportName, activities.Rebuild)

	poison := s.erp.First(t, "ReleasedProductsV2", "dataAreaId eq 'usmf'")
	path := "ReleasedProductsV2" + key("usmf", "ItemNumber", poison.S("ItemNumber"))
	s.erp.Write(t, "PATCH", path, map[string]any{"SalesPrice": json.Number("1e100000")})
	other := s.erp.First(t, "ReleasedProductsV2", "dataAreaId eq 'demf'")
	s.erp.Write(t, "PATCH", "ReleasedProductsV2"+key("demf", "ItemNumber", other.S("ItemNumber")), map[string]any{"ProductName": "Still indexed"})
	time.Sleep(1100 * time.Millisecond)

	res := s.run(workflows.ProductImportName, activities.Update)
	c := res.Entities[0].Counts
	if res.Outcome != "partial: 1 record dead-lettered" || c.DeadLettered != 1 || c.Indexed != 1 {
		t.Fatalf("update: outcome %q, counts %+v; want the poison dead-lettered, the other indexed", res.Outcome, c)
	}
	dls, err := s.index.DeadLetters(context.Background(), 10)
	if err != nil || len(dls) != 1 || dls[0].ID != "usmf:"+poison.S("ItemNumber") || !strings.Contains(dls[0].Reason, "SalesPrice") ||
		!strings.Contains(dls[0].Reason, "beyond the range of a double") {
		t.Fatalf("dead letters %+v, %v", dls, err)
	}
	t.Logf("dead letter %s: %s", dls[0].ID, dls[0].Reason)
	status := s.starter(t, buildStarter(t), "status")
	if !strings.Contains(status, "partial: 1 record dead-lettered") {
		t.Fatalf("starter status does not show the partial run:\n%s", status)
	}
	t.Logf("starter status:\n%s", status)

	s.erp.Write(t, "PATCH", path, map[string]any{"SalesPrice": json.Number("12.5")})
	time.Sleep(1100 * time.Millisecond)
	if res := s.run(workflows.ProductImportName, activities.Update); res.Outcome != "complete" || res.Entities[0].Counts.Indexed != 1 {
		t.Fatalf("after the fix: %+v", res)
	}
	s.checkProducts()
}
