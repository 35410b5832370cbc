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
// share one Temporal namespace.
var scheduleNames = []string{"product-import-update", "product-import-rebuild", "customer-import-update", "customer-import-rebuild"}

// scheduleIDs returns the schedule IDs with prefix.
func scheduleIDs(prefix string) []string {
	ids := make([]string, len(scheduleNames))
	for i, n := range scheduleNames {
		ids[i] = prefix + n
	}
	return ids
}

func scheduleSpecs(prefix string, updateEvery time.Duration, rebuildCron string) []scheduleSpec {
	every := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: updateEvery}}}
	nightly := client.ScheduleSpec{CronExpressions: []string{rebuildCron}}
	specs := []scheduleSpec{
		{ID: "product-import-update", Workflow: workflows.ProductImportName, Mode: activities.Update, Spec: every},
		{ID: "product-import-rebuild", Workflow: workflows.ProductImportName, Mode: activities.Rebuild, Spec: nightly},
		{ID: "customer-import-update", Workflow: workflows.CustomerImportName, Mode: activities.Update, Spec: every},
		{ID: "customer-import-rebuild", Workflow: workflows.CustomerImportName, Mode: activities.Rebuild, Spec: nightly},
	}
	for i := range specs {
		specs[i].ID = prefix + specs[i].ID
	}
	return specs
}

func schedules(ctx context.Context, e env, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("schedules needs a subcommand: apply, pause, unpause or trigger")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "apply", "pause", "unpause", "trigger":
	default:
		return fmt.Errorf("unknown schedules subcommand %q: want apply, pause, unpause or trigger", sub)
	}
	c, err := e.temporal(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	switch sub {
	case "apply":
		fs := newFlags("schedules apply", "schedules apply [--update-every 5m] [--rebuild-cron \"0 2 * * *\"]", out)
		every := fs.Duration("update-every", 5*time.Minute, "interval of the update runs")
		cron := fs.String("rebuild-cron", "0 2 * * *", "cron expression (UTC) of the rebuild runs")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *every < time.Second {
			return fmt.Errorf("--update-every %s: want at least 1s", *every)
		}
		return applySchedules(ctx, c, e.taskQueue, scheduleSpecs(e.schedulePrefix, *every, *cron), out)
	case "pause", "unpause":
		fs := newFlags("schedules "+sub, "schedules "+sub+" [--note TEXT] [SCHEDULE_ID ...] (default: all)", out)
		note := fs.String("note", "", "why (shown in the Temporal UI)")
		ids, err := parseInterspersed(fs, args)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			ids = scheduleIDs(e.schedulePrefix)
		}
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
			if err != nil {
				return fmt.Errorf("%s %s: %w", sub, id, err)
			}
			fmt.Fprintf(out, "%s: %sd\n", id, sub)
		}
		return nil
	case "trigger":
		fs := newFlags("schedules trigger", "schedules trigger SCHEDULE_ID", out)
		ids, err := parseInterspersed(fs, args)
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			return fmt.Errorf("trigger takes one schedule ID, one of %s", strings.Join(scheduleIDs(e.schedulePrefix), ", "))
		}
		if err := c.ScheduleClient().GetHandle(ctx, ids[0]).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
			return fmt.Errorf("trigger %s: %w", ids[0], err)
		}
		fmt.Fprintf(out, "%s: triggered\n", ids[0])
	}
	return nil
}

// applySchedules creates the schedules that are missing and updates the spec and action of the
// others, keeping their state: a pause set in the UI stays.
func applySchedules(ctx context.Context, c client.Client, taskQueue string, specs []scheduleSpec, out io.Writer) error {
	for _, s := range specs {
		action := &client.ScheduleWorkflowAction{
			ID:        s.ID,
			Workflow:  s.Workflow,
			Args:      []any{workflows.ImportInput{Mode: s.Mode}},
			TaskQueue: taskQueue,
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
