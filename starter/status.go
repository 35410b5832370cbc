package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/visibility"
	"github.com/erpsync/erpsync/workflows"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/search"
)

// scheduleStatus is one schedule as status shows it.
type scheduleStatus struct {
	ID       string      `json:"id"`
	Paused   bool        `json:"paused"`
	Note     string      `json:"note,omitempty"`
	NextRuns []time.Time `json:"next_runs,omitempty"`
	Recent   []string    `json:"recent_workflows,omitempty"`
	Error    string      `json:"error,omitempty"`
}

// entityStatus is one entity's sync state as status shows it.
type entityStatus struct {
	Entity erp.Entity   `json:"entity"`
	State  search.State `json:"state"`
	// Lag is how far the watermark is behind now.
	Lag   string `json:"lag"`
	Error string `json:"error,omitempty"`
}

func status(ctx context.Context, e *cli, args []string) error {
	out := e.out
	fs := e.flags("status", "status [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := e.parse(fs, args); err != nil {
		return err
	}
	c, err := e.temporal(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ix, err := e.index()
	if err != nil {
		return err
	}

	var scheds []scheduleStatus
	for _, id := range scheduleIDs(e.cfg.Schedules.Prefix) {
		s := scheduleStatus{ID: id}
		d, err := c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
		if err != nil && childStampsOnly(strings.TrimPrefix(id, e.cfg.Schedules.Prefix)) {
			continue // not used by an installation with parent-stamps
		}
		if err != nil {
			s.Error = "not applied (starter schedules apply)"
		} else {
			s.Paused, s.Note = d.Schedule.State.Paused, d.Schedule.State.Note
			s.NextRuns = d.Info.NextActionTimes
			if len(s.NextRuns) > 2 {
				s.NextRuns = s.NextRuns[:2]
			}
			for _, r := range d.Info.RecentActions {
				s.Recent = append(s.Recent, fmt.Sprintf("%s %s", r.ActualTime.UTC().Format(time.RFC3339), r.StartWorkflowResult.WorkflowID))
			}
		}
		scheds = append(scheds, s)
	}
	now := time.Now()
	var ents []entityStatus
	for _, en := range erp.Entities {
		s := entityStatus{Entity: en}
		st, err := ix.LoadState(ctx, en)
		if err != nil {
			s.Error = err.Error()
		} else {
			s.State = st
			if !st.Watermark.IsZero() {
				s.Lag = now.Sub(st.Watermark.Modified).Round(time.Second).String()
			}
		}
		ents = append(ents, s)
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(map[string]any{"schedules": scheds, "entities": ents})
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tSTATE\tNEXT RUN\tLAST STARTED")
	for _, s := range scheds {
		state, next, last := "active", "-", "-"
		if s.Error != "" {
			state = s.Error
		} else if s.Paused {
			state = "paused: " + s.Note
		}
		if len(s.NextRuns) > 0 {
			next = s.NextRuns[0].UTC().Format(time.RFC3339)
		}
		if len(s.Recent) > 0 {
			last = s.Recent[len(s.Recent)-1]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, state, next, last)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "ENTITY\tWATERMARK\tLAG\tLAST RUN\tOUTCOME\tREAD\tINDEXED\tDELETED\tDEAD-LETTERED")
	for _, s := range ents {
		if s.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\n", s.Entity, s.Error)
			continue
		}
		st := s.State
		wm, lag, last, outcome := "never synced", "-", "-", "-"
		if !st.Watermark.IsZero() {
			wm, lag = st.Watermark.Modified.UTC().Format(time.RFC3339), s.Lag
		}
		if st.LastRun.ID != "" {
			last = fmt.Sprintf("%s %s (%s)", st.LastRun.Mode, st.LastRun.Finished.UTC().Format(time.RFC3339), st.LastRun.Finished.Sub(st.LastRun.Started).Round(time.Second))
			outcome = cmp.Or(st.LastRun.Outcome, "-")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", s.Entity, wm, lag, last, outcome, st.LastRun.Read, st.LastRun.Indexed, st.LastRun.Deleted, st.LastRun.DeadLettered)
	}
	return tw.Flush()
}

func deadLetters(ctx context.Context, e *cli, args []string) error {
	out := e.out
	fs := e.flags("dead-letters", "dead-letters [--limit 20] [--json]   (dead-letters retry --help: re-read them)")
	limit := fs.Int("limit", 20, "how many, newest first")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := e.parse(fs, args); err != nil {
		return err
	}
	ix, err := e.index()
	if err != nil {
		return err
	}
	dls, err := ix.DeadLetters(ctx, *limit)
	if err != nil {
		return fmt.Errorf("read dead letters: %w", err)
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(dls)
	}
	if len(dls) == 0 {
		fmt.Fprintln(out, "no dead letters")
		return nil
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tENTITY\tID\tREASON")
	for _, d := range dls {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.At.UTC().Format(time.RFC3339), d.Entity, d.ID, d.Reason)
	}
	return tw.Flush()
}

func retryDeadLetters(ctx context.Context, e *cli, args []string) error {
	out := e.out
	fs := e.flags("dead-letters retry", "dead-letters retry [--entity products|customers|contacts|salesreps] [--id usmf:1000 ...] [--json]")
	entity := fs.String("entity", "", "only this entity's dead letters (default: every entity)")
	var ids stringList
	fs.Var(&ids, "id", "only this record's dead letters, by document id (company:key, as dead-letters lists them); repeat for more")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := e.parse(fs, args); err != nil {
		return err
	}
	in := activities.RedriveInput{IDs: ids}
	if *entity != "" {
		ent, err := entityOf(*entity)
		if err != nil {
			return fmt.Errorf("--entity %w", err)
		}
		in.Entity = ent
	}
	c, err := e.temporal(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	id := e.cfg.Schedules.Prefix + workflows.DeadLetterRetryID
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: e.cfg.Temporal.TaskQueue,
		StaticSummary: "Dead letters retried with starter dead-letters retry",
		StaticDetails: e.details(),
	}, workflows.DeadLetterRetryName, in)
	if err != nil {
		return fmt.Errorf("start %s (is one running? wait for it): %w", id, err)
	}
	var res activities.RedriveResult
	if err := run.Get(ctx, &res); err != nil {
		return fmt.Errorf("%s: %w (%s)", id, err, visibility.RunURL(e.cfg.Temporal.UIURL, e.cfg.Temporal.Namespace, run.GetID(), run.GetRunID()))
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(res)
	}
	fmt.Fprintf(out, "re-read %s from the ERP: %d indexed, %d deleted (gone from the ERP), %d unchanged, %d dead-lettered again; %s cleared\n",
		plural(res.Roots, "record"), res.Counts.Indexed, res.Counts.Deleted, res.Counts.Stale, res.Counts.DeadLettered, plural(res.Cleared, "dead letter"))
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
