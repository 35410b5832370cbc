package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/workflows"
)

// buildWorker compiles the worker binary once per test.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	cmd := exec.Command("go", "build", "-o", bin, "../worker")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build worker: %v", err)
	}
	return bin
}

// workerProcess starts the real worker binary as a separate process on the stack's task queue,
// with extra environment settings ("K=V") after the stack's.
func (s *stack) workerProcess(t *testing.T, bin string, pageSize, chunkPages int, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "--log-format", "console", "--metrics", "127.0.0.1:0")
	cmd.Env = append(os.Environ(),
		"ERPSYNC_TASK_QUEUE="+s.queue,
		"ERPSYNC_INDEX_PREFIX="+s.prefix,
		"ERP_URL="+s.sim.URL,
		"ERP_CLIENT_ID="+s.sim.ClientID,
		"ERP_CLIENT_SECRET="+s.sim.ClientSecret,
		fmt.Sprintf("ERPSYNC_PAGE_SIZE=%d", pageSize),
		fmt.Sprintf("ERPSYNC_CHUNK_PAGES=%d", chunkPages),
		"ERPSYNC_LOG_LEVEL=warn",
	)
	if s.esURL != "" {
		cmd.Env = append(cmd.Env, "ELASTICSEARCH_URL="+s.esURL)
	}
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if s.workerLog != nil {
		cmd.Stdout, cmd.Stderr = s.workerLog, s.workerLog
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start worker process: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestWorkerKilledMidRebuild kills a real worker process with SIGKILL in the middle of a rebuild;
// a new worker process finishes it from the last heartbeat; the index equals the ERP, and the
// pages written twice are counted (Elasticsearch answers a rewrite of the same version as stale).
func TestWorkerKilledMidRebuild(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(21)
	cat.Products = 2400
	const pageSize, chunkPages = 40, 10
	s := newStackWithoutWorker(t, cat, erpsim.Config{}, activities.Settings{PageSize: pageSize, ChunkPages: chunkPages})
	bin := buildWorker(t)

	first := s.workerProcess(t, bin, pageSize, chunkPages)
	// A short heartbeat timeout so that the dead worker's chunk is retried within seconds.
	run := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild, HeartbeatTimeout: 5 * time.Second})

	// Kill it once a quarter of the pages are in.
	deadline := time.Now().Add(3 * time.Minute)
	var at workflows.Progress
	for {
		if time.Now().After(deadline) {
			t.Fatal("the rebuild did not get going within 3 minutes")
		}
		at = s.progress(run.GetID())
		if at.Totals.Pages >= cat.Products/pageSize/4 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Then in the middle of a chunk: once its first page is heartbeated, and a little later.
	hb := s.awaitHeartbeat(run.GetID())
	time.Sleep(150 * time.Millisecond)
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	t.Logf("killed the worker (SIGKILL) after %d chunked pages, in a chunk whose last heartbeat was at %s (its page %d)",
		at.Totals.Pages, hb.Cursor, hb.Counts.Pages)

	s.workerProcess(t, bin, pageSize, chunkPages)
	res := s.wait(run)
	c := res.Entities[0].Counts
	repeatedPages := float64(c.Stale) / pageSize
	t.Logf("after the crash: %d read, %d indexed, %d written twice (%.1f pages of %d; a chunk is %d pages)",
		c.Read, c.Indexed, c.Stale, repeatedPages, pageSize, chunkPages)
	if c.Stale > (chunkPages+1)*pageSize {
		t.Fatalf("%d documents were written twice: more than the pages since the last heartbeat can hold", c.Stale)
	}
	s.checkProducts()
}

// heartbeat is the chunk heartbeat as the server holds it.
type heartbeat struct {
	Cursor erp.Cursor        `json:"cursor"`
	Counts activities.Counts `json:"counts"`
}

// awaitHeartbeat waits until the running chunk activity of a workflow has heartbeated a page.
func (s *stack) awaitHeartbeat(id string) heartbeat {
	s.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		d, err := s.temporal.DescribeWorkflowExecution(context.Background(), id, "")
		if err != nil {
			s.t.Fatal(err)
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() != "SyncChunk" || pa.GetHeartbeatDetails() == nil {
				continue
			}
			var hb heartbeat
			if err := converter.GetDefaultDataConverter().FromPayloads(pa.GetHeartbeatDetails(), &hb); err != nil {
				s.t.Fatal(err)
			}
			if hb.Counts.Pages >= 1 {
				return hb
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatal("no chunk heartbeated within 2 minutes")
	return heartbeat{}
}

// progress queries a running import.
func (s *stack) progress(id string) workflows.Progress {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := s.temporal.QueryWorkflow(ctx, id, "", workflows.QueryProgress)
	if err != nil {
		return workflows.Progress{}
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		s.t.Fatal(err)
	}
	return p
}
