package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
)

// besideChange versions rebuilds that read the company-wide data beside the products: a
// ProductImport rebuild begun since reads the entities before products in its list (categories,
// line discounts, activations: a few pages each, but a begin, a read and a swap each, seconds
// against an ERP that answers in 150 ms) in a child workflow while it reads the products, and
// waits for it before it swaps the products in. One begun before reads them first, one after
// the other, as its history says.
const besideChange = "company-wide-beside"

// Beside is the child workflow of a rebuild that reads the company-wide data beside the
// products.
// It reads the entities before products in the import's list (besideEntities).
type Beside struct {
	WorkflowID string `json:"workflow_id"`
	Done       bool   `json:"done,omitempty"`
}

// besideEntities are the entities a rebuild reads beside the products: those before products in
// the import's list (none when products is not in it, or first).
func (r *importRun) besideEntities() []erp.Entity {
	return r.entities[:max(slices.Index(r.entities, erp.Products), 0)]
}

// startBeside starts the child workflow that rebuilds the entities before products in the
// list, when this is a new ProductImport rebuild of this version; the run goes on with products.
// A continued run has started it already (Checkpoint.Beside) and waited for it (awaitBeside).
func (r *importRun) startBeside(ctx workflow.Context) {
	if r.in.Mode != activities.Rebuild || len(r.in.Entities) > 0 || r.cp.Beside != nil || r.cp.Entity != 0 || r.cp.Begun != nil {
		return
	}
	beside := r.besideEntities()
	if len(beside) == 0 || workflow.GetVersion(ctx, besideChange, workflow.DefaultVersion, 1) < 1 {
		return
	}
	id := workflow.GetInfo(ctx).WorkflowExecution.ID + "-company-wide"
	in := r.in
	in.Checkpoint, in.Entities = nil, beside
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id})
	r.beside = workflow.ExecuteChildWorkflow(cctx, r.name, in)
	r.cp.Beside = &Beside{WorkflowID: id}
	r.cp.Entity = len(beside)
}

// awaitBeside waits for the child workflow that reads the company-wide data, if one is running,
// and takes its counts: before the products are swapped in, and before the run continues as
// new (the checkpoint then says it is done).
func (r *importRun) awaitBeside(ctx workflow.Context) error {
	b := r.cp.Beside
	if b == nil || b.Done {
		return nil
	}
	if r.beside == nil {
		return errors.New("the company-wide data's workflow is not done and this run did not start it: a bug")
	}
	phase := r.phase
	r.phase = "waiting for the company-wide data (workflow " + b.WorkflowID + ")"
	r.showDetails(ctx)
	var res ImportResult
	if err := r.beside.Get(ctx, &res); err != nil {
		return fmt.Errorf("rebuild of %s (workflow %s): %w", r.besideNames(), b.WorkflowID, err)
	}
	for _, x := range res.Entities {
		if i := slices.Index(r.entities, x.Entity); i >= 0 {
			r.cp.Counts[i] = x.Counts
		}
	}
	b.Done = true
	r.phase = phase
	r.showDetails(ctx)
	return nil
}

// besideNames names the entities the child workflow reads: "categories, line-discounts".
func (r *importRun) besideNames() string {
	var names []string
	for _, e := range r.besideEntities() {
		names = append(names, string(e))
	}
	return strings.Join(names, ", ")
}

// continueAsNew returns the error that continues the run as new with its checkpoint, once the
// company-wide data's workflow, if any, is done.
func (r *importRun) continueAsNew(ctx workflow.Context) error {
	if err := r.awaitBeside(ctx); err != nil {
		return err
	}
	next := r.in
	next.Checkpoint = r.cp
	return workflow.NewContinueAsNewError(ctx, r.name, next)
}

// besideSignalChange versions how a pause or resume reaches the child workflow: since, once the
// child has started (a signal sent while it is still starting may find no workflow, and the
// SDK's test environment panics on it); before, at once.
const besideSignalChange = "signal-beside-once-started"

// tellBeside passes a pause or resume signal on to the child workflow that reads the
// company-wide data while it runs; one that has ended does not need it.
func (r *importRun) tellBeside(ctx workflow.Context, signal string) {
	b := r.cp.Beside
	if b == nil || b.Done || r.beside == nil {
		return
	}
	if workflow.GetVersion(ctx, besideSignalChange, workflow.DefaultVersion, 1) >= 1 {
		r.beside.SignalChildWorkflow(ctx, signal, nil) // waits until the child has started
		return
	}
	workflow.SignalExternalWorkflow(ctx, b.WorkflowID, "", signal, nil)
}
