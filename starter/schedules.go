package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/workflows"
)

// scheduleSpec is one of erpsync's schedules.
type scheduleSpec struct {
	ID       string
	Workflow string
	Mode     activities.Mode
	Spec     client.ScheduleSpec
}

// scheduleNames are erpsync's schedules, in the order status shows them. Their IDs are these
// names after ERPSYNC_SCHEDULE_PREFIX (empty by default), so that several installations can
// share one Temporal namespace. The reconcile and audit schedules exist only where the ERP
// stamps only the rows that change (child-stamps): there they find the deletes that no stamp
// shows.
var scheduleNames = []string{"product-import-update", "product-import-rebuild", "customer-import-update", "customer-import-rebuild",
	"product-import-reconcile", "product-import-audit", "customer-import-reconcile", "customer-import-audit"}

// childStampsOnly reports whether the schedule named name exists only with child-stamps.
func childStampsOnly(name string) bool {
	return strings.HasSuffix(name, "-reconcile") || strings.HasSuffix(name, "-audit")
}

// scheduleIDs returns the schedule IDs with prefix.
func scheduleIDs(prefix string) []string {
	ids := make([]string, len(scheduleNames))
	for i, n := range scheduleNames {
		ids[i] = prefix + n
	}
	return ids
}

// scheduleTimes are when the schedules run.
type scheduleTimes struct {
	updateEvery, reconcileEvery time.Duration
	rebuildCron, auditCron      string
}

// scheduleSpecs returns the schedules of an installation whose ERP stamps changes as detection
// says: updates and nightly rebuilds, and with child-stamps also reconcile and audit runs.
func scheduleSpecs(prefix string, detection activities.Detection, at scheduleTimes) []scheduleSpec {
	every := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: at.updateEvery}}}
	nightly := client.ScheduleSpec{CronExpressions: []string{at.rebuildCron}}
	specs := []scheduleSpec{
		{ID: "product-import-update", Workflow: workflows.ProductImportName, Mode: activities.Update, Spec: every},
		{ID: "product-import-rebuild", Workflow: workflows.ProductImportName, Mode: activities.Rebuild, Spec: nightly},
		{ID: "customer-import-update", Workflow: workflows.CustomerImportName, Mode: activities.Update, Spec: every},
		{ID: "customer-import-rebuild", Workflow: workflows.CustomerImportName, Mode: activities.Rebuild, Spec: nightly},
	}
	if detection == activities.ChildStamps {
		reconcile := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: at.reconcileEvery}}}
		audit := client.ScheduleSpec{CronExpressions: []string{at.auditCron}}
		specs = append(specs,
			scheduleSpec{ID: "product-import-reconcile", Workflow: workflows.ProductImportName, Mode: activities.Reconcile, Spec: reconcile},
			scheduleSpec{ID: "product-import-audit", Workflow: workflows.ProductImportName, Mode: activities.Audit, Spec: audit},
			scheduleSpec{ID: "customer-import-reconcile", Workflow: workflows.CustomerImportName, Mode: activities.Reconcile, Spec: reconcile},
			scheduleSpec{ID: "customer-import-audit", Workflow: workflows.CustomerImportName, Mode: activities.Audit, Spec: audit},
		)
	}
	for i := range specs {
		specs[i].ID = prefix + specs[i].ID
	}
	return specs
}

func schedules(ctx context.Context, e *cli, args []string) error {
	out := e.out
	if len(args) == 0 {
		return fmt.Errorf("schedules needs a subcommand: apply, pause, unpause or trigger")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "apply", "pause", "unpause", "trigger":
	default:
		return fmt.Errorf("unknown schedules subcommand %q: want apply, pause, unpause or trigger", sub)
	}
	switch sub {
	case "apply":
		fs := e.flags("schedules apply", "schedules apply [--update-every 5m] [--rebuild-cron \"0 2 * * *\"] [--change-detection parent-stamps|child-stamps] [--reconcile-every 1h] [--audit-cron \"0 3 * * *\"]")
		if _, err := e.parse(fs, args); err != nil {
			return err
		}
		c, err := e.temporal(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		sc := e.cfg.Schedules
		at := scheduleTimes{updateEvery: sc.UpdateEvery, reconcileEvery: sc.ReconcileEvery, rebuildCron: sc.RebuildCron, auditCron: sc.AuditCron}
		specs := scheduleSpecs(sc.Prefix, e.cfg.Import.Detection, at)
		if err := applySchedules(ctx, c, e.cfg.Temporal.TaskQueue, e.details(), specs, out); err != nil {
			return err
		}
		return removeOtherSchedules(ctx, c, sc.Prefix, specs, out)
	case "pause", "unpause":
		fs := e.flags("schedules "+sub, "schedules "+sub+" [--note TEXT] [SCHEDULE_ID ...] (default: all)")
		note := fs.String("note", "", "why (shown in the Temporal UI)")
		ids, err := e.parse(fs, args)
		if err != nil {
			return err
		}
		all := len(ids) == 0
		if all {
			ids = scheduleIDs(e.cfg.Schedules.Prefix)
		}
		c, err := e.temporal(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		if *note == "" {
			*note = sub + "d with starter"
		}
		for _, id := range ids {
			h := c.ScheduleClient().GetHandle(ctx, id)
			if sub == "pause" {
				err = h.Pause(ctx, client.SchedulePauseOptions{Note: *note})
			} else {
				err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: *note})
			}
			var missing *serviceerror.NotFound
			if all && errors.As(err, &missing) {
				continue // not applied in this installation's mode
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", sub, id, err)
			}
			fmt.Fprintf(out, "%s: %sd\n", id, sub)
		}
		return nil
	case "trigger":
		fs := e.flags("schedules trigger", "schedules trigger SCHEDULE_ID")
		ids, err := e.parse(fs, args)
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			return fmt.Errorf("trigger takes one schedule ID, one of %s", strings.Join(scheduleIDs(e.cfg.Schedules.Prefix), ", "))
		}
		c, err := e.temporal(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.ScheduleClient().GetHandle(ctx, ids[0]).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
			return fmt.Errorf("trigger %s: %w", ids[0], err)
		}
		fmt.Fprintf(out, "%s: triggered\n", ids[0])
	}
	return nil
}

// applySchedules creates the schedules that are missing and updates the spec and action of the
// others, keeping their state: a pause set in the UI stays.
func applySchedules(ctx context.Context, c client.Client, taskQueue, details string, specs []scheduleSpec, out io.Writer) error {
	for _, s := range specs {
		action := &client.ScheduleWorkflowAction{
			ID:            s.ID,
			Workflow:      s.Workflow,
			Args:          []any{workflows.ImportInput{Mode: s.Mode}},
			TaskQueue:     taskQueue,
			StaticSummary: summary(s.Workflow, s.Mode, "started by schedule "+s.ID),
			StaticDetails: details,
		}
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:      s.ID,
			Spec:    s.Spec,
			Action:  action,
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
			Note:    "created by starter schedules apply",
		})
		if err == nil {
			fmt.Fprintf(out, "%s: created\n", s.ID)
			continue
		}
		var exists *serviceerror.WorkflowExecutionAlreadyStarted
		if !errors.As(err, &exists) && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return fmt.Errorf("create schedule %s: %w", s.ID, err)
		}
		err = c.ScheduleClient().GetHandle(ctx, s.ID).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sch := in.Description.Schedule
				spec := s.Spec
				sch.Spec = &spec
				sch.Action = action
				if sch.Policy == nil {
					sch.Policy = &client.SchedulePolicies{}
				}
				sch.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
				// sch.State (paused, note) is left as it is.
				return &client.ScheduleUpdate{Schedule: &sch}, nil
			},
		})
		if err != nil {
			return fmt.Errorf("update schedule %s: %w", s.ID, err)
		}
		fmt.Fprintf(out, "%s: updated\n", s.ID)
	}
	return nil
}

// removeOtherSchedules deletes erpsync's schedules that specs do not name: the reconcile and
// audit schedules of an installation that went back to parent-stamps.
func removeOtherSchedules(ctx context.Context, c client.Client, prefix string, specs []scheduleSpec, out io.Writer) error {
	keep := map[string]bool{}
	for _, s := range specs {
		keep[s.ID] = true
	}
	for _, id := range scheduleIDs(prefix) {
		if keep[id] {
			continue
		}
		err := c.ScheduleClient().GetHandle(ctx, id).Delete(ctx)
		var missing *serviceerror.NotFound
		if errors.As(err, &missing) {
			continue
		}
		if err != nil {
			return fmt.Errorf("delete schedule %s: %w", id, err)
		}
		fmt.Fprintf(out, "%s: deleted (not used with this change detection)\n", id)
	}
	return nil
}
