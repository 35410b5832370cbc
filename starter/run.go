package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/visibility"
	"github.com/erpsync/erpsync/workflows"
)

// WorkflowID is the stable ID of a manual run of an import in a mode: starting one while it runs
// joins the running one instead of starting another.
func WorkflowID(importName string, mode activities.Mode) string {
	return fmt.Sprintf("%s-%s", kebab(importName), mode)
}

// kebab turns "ProductImport" into "product-import".
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func importName(what string) (string, error) {
	switch what {
	case "products", "product":
		return workflows.ProductImportName, nil
	case "customers", "customer":
		return workflows.CustomerImportName, nil
	}
	return "", fmt.Errorf("import %q: want products or customers", what)
}

// summary is a run's one-line summary in the Temporal UI: "Product import, update: started by
// schedule product-import-update".
func summary(workflow string, m activities.Mode, how string) string {
	return fmt.Sprintf("%s, %s: %s", workflows.Tasks[workflow], m, how)
}

// details are a run's fixed details in the Temporal UI: which installation it belongs to.
func (e *cli) details() string {
	return fmt.Sprintf("erpsync installation with index prefix `%s`, task queue `%s`. Progress: the current details below; `starter status` and `starter explain` answer the rest.",
		e.cfg.Index.Prefix, e.cfg.Temporal.TaskQueue)
}

func runImport(ctx context.Context, e *cli, args []string) error {
	out := e.out
	fs := e.flags("run", "run products|customers [--mode update|rebuild|reconcile|audit] [--partitions N] [--wait] [--json]")
	mode := fs.String("mode", "update", "update (what changed since the last run), rebuild (everything into a new index, then swap) reconcile (delete what the ERP no longer has) or audit (compare what every document was built from with the ERP, re-sync what differs)")
	wait := fs.Bool("wait", false, "wait for the import to finish, showing a progress bar")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	partitions := fs.Int("partitions", 0, "partitions of a rebuild read at once (0: the worker's import.partitions; the worker bounds it by erp.max-concurrent-requests)")
	pos, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("run takes one import, products or customers")
	}
	name, err := importName(pos[0])
	if err != nil {
		return err
	}
	m := activities.Mode(*mode)
	if !m.Valid() {
		return fmt.Errorf("--mode %q: want update, rebuild, reconcile or audit", *mode)
	}
	if *partitions < 0 {
		return fmt.Errorf("--partitions %d: want 0 (the worker's setting) or more", *partitions)
	}
	c, err := e.temporal(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	id := WorkflowID(name, m)
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                e.cfg.Temporal.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            summary(name, m, "started with starter run"),
		StaticDetails:            e.details(),
	}, name, workflows.ImportInput{Mode: m, Partitions: *partitions})
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	if !*asJSON {
		fmt.Fprintf(out, "%s %s: workflow %s (run %s)\n", name, m, wr.GetID(), wr.GetRunID())
		fmt.Fprintf(out, "watch it at %s\n", visibility.RunURL(e.cfg.Temporal.UIURL, e.cfg.Temporal.Namespace, wr.GetID(), wr.GetRunID()))
	}
	if !*wait {
		if *asJSON {
			return json.NewEncoder(out).Encode(map[string]string{"workflow_id": wr.GetID(), "run_id": wr.GetRunID()})
		}
		return nil
	}
	done := make(chan struct{})
	if !*asJSON {
		go showProgress(ctx, c, id, out, done)
	}
	var res workflows.ImportResult
	// Get follows continue-as-new to the last run's result.
	err = c.GetWorkflow(ctx, id, "").Get(ctx, &res)
	close(done)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(res)
	}
	fmt.Fprintf(out, "\n%s %s finished in %s:\n", name, m, plural(res.Runs, "run"))
	for _, r := range res.Entities {
		fmt.Fprintf(out, "  %-10s read %d, indexed %d, unchanged %d, deleted %d, dead-lettered %d, rejected %d (%d pages, %d ERP requests)\n",
			r.Entity, r.Counts.Read, r.Counts.Indexed, r.Counts.Stale+r.Counts.Unchanged, r.Counts.Deleted, r.Counts.DeadLettered, r.Counts.Rejected, r.Counts.Pages, r.Counts.Requests)
		if r.Reconcile != nil && r.Reconcile.Refused != "" {
			fmt.Fprintf(out, "  %-10s REFUSED: %s\n", "", r.Reconcile.Refused)
		}
	}
	return nil
}

// showProgress redraws one line with the import's progress every second until done is closed.
// The fraction is of the time span the run reads (records are read in ModifiedDateTime order).
func showProgress(ctx context.Context, c client.Client, id string, out io.Writer, done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryProgress)
		if err != nil {
			continue
		}
		var p workflows.Progress
		if v.Get(&p) != nil {
			continue
		}
		fmt.Fprintf(out, "\r%s\033[K", progressLine(p))
	}
}

// progressLine renders p as
// "[#########-----------]  45%  products  12,400 of 27,500  2,310/s  ETA 7s  reading products".
// Without an expected total (an ERP that cannot count) it shows counts and rate only.
func progressLine(p workflows.Progress) string {
	var b strings.Builder
	if p.Expected > 0 {
		frac := min(float64(p.Totals.Read)/float64(p.Expected), 1)
		if p.Phase != "done" {
			frac = min(frac, 0.99)
		}
		filled := int(frac * 20)
		fmt.Fprintf(&b, "[%s%s] %3.0f%%  %s of %s", strings.Repeat("#", filled), strings.Repeat("-", 20-filled), frac*100,
			thousands(p.Totals.Read), thousands(p.Expected))
		if left := p.Expected - p.Totals.Read; left > 0 && p.RecordsPerSecond > 0 {
			fmt.Fprintf(&b, "  ETA %s", (time.Duration(float64(left)/p.RecordsPerSecond) * time.Second).Round(time.Second))
		}
	} else {
		fmt.Fprintf(&b, "%s read", thousands(p.Totals.Read))
	}
	fmt.Fprintf(&b, "  %.0f/s  %s indexed  %s", p.RecordsPerSecond, thousands(p.Totals.Indexed), p.Phase)
	if p.Partitions > 0 {
		fmt.Fprintf(&b, " (partitions: %d of %d read, %d reading)", p.PartitionsDone, p.Partitions, p.PartitionsReading)
	}
	if p.Paused {
		b.WriteString(" (PAUSED: signal resume to go on)")
	}
	return b.String()
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
