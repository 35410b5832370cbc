package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/workflows"
)

// TestPauseResumeAndCancel: a paused import stops at a chunk boundary and keeps its checkpoint,
// a resumed one finishes with the exact result; a cancelled one stops and leaves the watermark.
func TestPauseResumeAndCancel(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(17)
	cat.Products = 900
	s := newStack(t, cat, erpsim.Config{}, activities.Settings{PageSize: 20, ChunkPages: 1, SafetyLag: time.Second})
	ctx := context.Background()

	run := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild})
	for s.progress(run.GetID()).Totals.Pages < 3 {
		time.Sleep(20 * time.Millisecond)
	}
	paused := s.pause(run.GetID())
	time.Sleep(2 * time.Second)
	still := s.progress(run.GetID())
	if still.Totals.Pages != paused.Totals.Pages || still.Cursor != paused.Cursor {
		t.Fatalf("pages went on while paused: %d at the pause, %d two seconds later", paused.Totals.Pages, still.Totals.Pages)
	}
	t.Logf("paused at %d pages, cursor %s", paused.Totals.Pages, paused.Cursor)
	if err := s.temporal.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalResume, nil); err != nil {
		t.Fatal(err)
	}
	res := s.wait(run)
	if c := res.Of(erp.Products).Counts; c.Read != cat.Products || c.Indexed != cat.Products {
		t.Fatalf("after resume: %+v, want all %d products read and indexed once", c, cat.Products)
	}
	s.checkProducts()

	// Cancel an update in the middle: it stops, and the watermark stays where it was.
	before, err := s.index.LoadState(ctx, erp.Products)
	if err != nil {
		t.Fatal(err)
	}
	s.erp.Write(t, "PATCH", "SalesLineDiscountAgreements(dataAreaId='usmf',RecordId="+
		s.erp.First(t, "SalesLineDiscountAgreements", "dataAreaId eq 'usmf' and ItemCode eq 'All'").S("RecordId")+")", map[string]any{"DiscountPercentage1": 1.5})
	s.pastSafetyLag() // so the update has pages to read
	upd := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Update})
	for s.progress(upd.GetID()).Totals.Pages < 1 {
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.temporal.CancelWorkflow(ctx, upd.GetID(), ""); err != nil {
		t.Fatal(err)
	}
	err = upd.Get(ctx, nil)
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Fatalf("a cancelled import ended with %v", err)
	}
	after, err := s.index.LoadState(ctx, erp.Products)
	if err != nil {
		t.Fatal(err)
	}
	if after.Watermark != before.Watermark || after.LastRun.ID != before.LastRun.ID {
		t.Fatalf("the cancelled run moved the state: %+v -> %+v", before.Watermark, after.Watermark)
	}
}

// buildStarter compiles the starter binary.
func buildStarter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "starter")
	cmd := exec.Command("go", "build", "-o", bin, "../starter")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build starter: %v", err)
	}
	return bin
}

// starter runs the starter binary against the stack and returns its output.
func (s *stack) starter(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ERPSYNC_TASK_QUEUE="+s.queue, "ERPSYNC_INDEX_PREFIX="+s.prefix, "ERPSYNC_SCHEDULE_PREFIX="+s.queue+"-",
		"ERP_URL="+s.sim.URL, "ERP_CLIENT_ID="+s.sim.ClientID, "ERP_CLIENT_SECRET="+s.sim.ClientSecret)
	if s.esURL != "" {
		cmd.Env = append(cmd.Env, "ELASTICSEARCH_URL="+s.esURL)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("starter %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestSchedulesFromTheStarter: the starter applies the schedules; a schedule paused with the
// starter starts nothing, a second apply keeps the pause, unpausing starts runs again; `run
// --wait` and `status` show what happened.
func TestSchedulesFromTheStarter(t *testing.T) {
	t.Parallel()
	s := newStack(t, simtest.Catalog(18), erpsim.Config{}, activities.Settings{PageSize: 100})
	bin := buildStarter(t)
	ctx := context.Background()
	id := s.queue + "-product-import-update"
	t.Cleanup(func() {
		for _, n := range []string{"product-import-update", "product-import-rebuild", "customer-import-update", "customer-import-rebuild",
			"product-import-reconcile", "product-import-audit", "customer-import-reconcile", "customer-import-audit"} {
			_ = s.temporal.ScheduleClient().GetHandle(ctx, s.queue+"-"+n).Delete(ctx)
		}
	})

	out := s.starter(t, bin, "run", "products", "--mode", "rebuild", "--wait", "--json")
	var res workflows.ImportResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Of(erp.Products).Counts.Indexed != 300 {
		t.Fatalf("run --wait --json: %v\n%s", err, out)
	}

	s.starter(t, bin, "schedules", "apply", "--update-every", "2s")
	s.starter(t, bin, "schedules", "pause", "--note", "maintenance", id)
	s.starter(t, bin, "schedules", "apply", "--update-every", "2s") // must not undo the pause
	d, err := s.temporal.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Schedule.State.Paused || d.Schedule.State.Note != "maintenance" {
		t.Fatalf("after a second apply the schedule is %+v, want it still paused", d.Schedule.State)
	}
	startedBefore := len(d.Info.RecentActions)
	time.Sleep(5 * time.Second)
	if d, _ = s.temporal.ScheduleClient().GetHandle(ctx, id).Describe(ctx); len(d.Info.RecentActions) != startedBefore {
		t.Fatalf("a paused schedule started %d runs", len(d.Info.RecentActions)-startedBefore)
	}

	s.starter(t, bin, "schedules", "unpause", id)
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err = s.temporal.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Info.RecentActions) > startedBefore {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the unpaused schedule started nothing within 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	wid := d.Info.RecentActions[len(d.Info.RecentActions)-1].StartWorkflowResult.WorkflowID
	if err := s.temporal.GetWorkflow(ctx, wid, "").Get(ctx, nil); err != nil {
		t.Fatalf("the scheduled update %s: %v", wid, err)
	}
	// The UI shows what each run is: a summary naming the task and who started it.
	for wf, want := range map[string]string{wid: "Product import, update: started by schedule " + id, "product-import-rebuild": "Product import, rebuild: started with starter run"} {
		desc, err := s.temporal.DescribeWorkflow(ctx, wf, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := desc.GetStaticSummary(); got != want {
			t.Errorf("%s: static summary %q, want %q", wf, got, want)
		}
		if details, _ := desc.GetStaticDetails(); !strings.Contains(details, s.prefix) {
			t.Errorf("%s: static details %q do not name the installation", wf, details)
		}
	}
	s.starter(t, bin, "schedules", "pause", id) // stop it before the test ends

	// Stock D365 (child-stamps) needs reconcile and audit runs beside the updates; going back to
	// an ERP add-on removes them again.
	s.starter(t, bin, "schedules", "apply", "--update-every", "2s", "--change-detection", "child-stamps", "--audit-cron", "0 4 * * *")
	audit, err := s.temporal.ScheduleClient().GetHandle(ctx, s.queue+"-product-import-audit").Describe(ctx)
	if err != nil {
		t.Fatalf("child-stamps: no audit schedule: %v", err)
	}
	// The server keeps a cron expression as a calendar.
	if cal := audit.Schedule.Spec.Calendars; len(cal) != 1 || len(cal[0].Hour) != 1 || cal[0].Hour[0].Start != 4 {
		t.Errorf("audit schedule spec %+v, want daily at 04:00", audit.Schedule.Spec)
	}
	if _, err := s.temporal.ScheduleClient().GetHandle(ctx, s.queue+"-customer-import-reconcile").Describe(ctx); err != nil {
		t.Fatalf("child-stamps: no reconcile schedule: %v", err)
	}
	out = s.starter(t, bin, "schedules", "apply", "--update-every", "2s", "--change-detection", "parent-stamps")
	if !strings.Contains(out, "product-import-audit: deleted") {
		t.Errorf("back to parent-stamps, apply said:\n%s", out)
	}
	if _, err := s.temporal.ScheduleClient().GetHandle(ctx, s.queue+"-product-import-audit").Describe(ctx); err == nil {
		t.Error("the audit schedule is still there with parent-stamps")
	}

	status := s.starter(t, bin, "status")
	for _, want := range []string{id, "paused", "products", "rebuild"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	t.Logf("starter status:\n%s", status)
}

// pause signals the run to pause and waits, at most a minute, until its progress says it is
// paused; it returns that progress.
func (s *stack) pause(id string) workflows.Progress {
	s.t.Helper()
	if err := s.temporal.SignalWorkflow(context.Background(), id, "", workflows.SignalPause, nil); err != nil {
		s.t.Fatal(err)
	}
	var p workflows.Progress
	for deadline := time.Now().Add(time.Minute); !p.Paused || p.Phase != "paused"; {
		if time.Now().After(deadline) {
			s.t.Fatalf("not paused a minute after the signal: %+v", p)
		}
		p = s.progress(id)
		time.Sleep(20 * time.Millisecond)
	}
	return p
}
