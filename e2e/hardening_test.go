package e2e

import (
	"context"
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
