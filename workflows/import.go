// Package workflows orchestrates erpsync's imports on Temporal: ProductImport and
// CustomerImport loop over chunks of ERP pages through activities, keep only cursors and counts,
// continue as new when history grows, and commit the watermark when a run read everything. It
// does no I/O and reads no clock but the workflow's own.
package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
)

// Signal and query names, as users type them in the Temporal UI or CLI.
const (
	// SignalPause stops a running import at the next chunk boundary (a page boundary); its
	// checkpoint is kept.
	SignalPause = "pause"
	// SignalResume lets a paused import go on.
	SignalResume = "resume"
	// QueryProgress returns a Progress.
	QueryProgress = "progress"
)

// Workflow and task-queue names.
const (
	ProductImportName  = "ProductImport"
	CustomerImportName = "CustomerImport"
	// TaskQueue is the default task queue of the worker.
	TaskQueue = "erpsync"
)

// ImportInput starts an import. Users set Mode; Checkpoint is carried by continue-as-new.
type ImportInput struct {
	Mode activities.Mode `json:"mode"`
	// ChunkPages and ChunkDuration bound one SyncChunk activity (zero: the worker's defaults).
	ChunkPages    int           `json:"chunk_pages,omitempty"`
	ChunkDuration time.Duration `json:"chunk_duration,omitempty"`
	// HeartbeatTimeout is how long a silent chunk activity may go before Temporal retries it on
	// another worker (default 30 s): the time a crashed worker's work waits.
	HeartbeatTimeout time.Duration `json:"heartbeat_timeout,omitempty"`
	// MaxDeleteShare bounds a reconcile sweep (zero: the worker's default).
	MaxDeleteShare float64 `json:"max_delete_share,omitempty"`
	// MaxChunksPerRun makes the workflow continue as new after this many chunks even if Temporal
	// does not suggest it yet (default 1000).
	MaxChunksPerRun int `json:"max_chunks_per_run,omitempty"`
	// Partitions is how many partitions of a rebuild to read at once (zero: the worker's
	// import.partitions); the worker bounds it by what the ERP allows.
	Partitions int `json:"partitions,omitempty"`
	// Entities limits the import to these of its entities, in its order. A rebuild sets it for
	// the child workflow that reads the company-wide data beside the products; that run
	// reports its end through its parent. Leave it empty.
	Entities []erp.Entity `json:"entities,omitempty"`
	// Checkpoint is where a continued run resumes. Leave it empty.
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
}

// Checkpoint is the whole state of an import run that crosses continue-as-new.
type Checkpoint struct {
	RunID   string    `json:"run_id"`
	Started time.Time `json:"started"`
	// Entities is the import's entity list, fixed when the import starts; empty in runs begun
	// before it was kept (ProductImport then imported products only).
	Entities []erp.Entity `json:"entities,omitempty"`
	// Entity is the index, in the import's entity list, of the entity in progress.
	Entity int `json:"entity"`
	// Begun is the entity's BeginResult, nil until it has begun.
	Begun  *activities.BeginResult `json:"begun,omitempty"`
	Cursor erp.Cursor              `json:"cursor"`
	// Beside is the child workflow that reads the company-wide data of a rebuild beside the
	// products (nil: none).
	Beside *Beside `json:"beside,omitempty"`
	// Parts are the partitions of a partitioned rebuild in progress, each with its own cursor
	// and counts (nil: the entity is read in one stream from Cursor).
	Parts []Part `json:"parts,omitempty"`
	// Changes are the collection cursors of a child-stamps update in progress.
	Changes map[string]erp.Cursor `json:"changes,omitempty"`
	// Counts has one entry per entity of the import, in order.
	Counts []activities.Counts `json:"counts"`
	// Expected is the number of records each begun entity's read is expected to return.
	Expected []int `json:"expected"`
	Chunks   int   `json:"chunks"`
	Paused   bool  `json:"paused,omitempty"`
	// Runs counts the continue-as-new generations of this import.
	Runs int `json:"runs"`
}

// EntityResult is what an import did to one entity.
type EntityResult struct {
	Entity    erp.Entity        `json:"entity"`
	Counts    activities.Counts `json:"counts"`
	Watermark erp.Cursor        `json:"watermark"`
	// Reconcile is set for a reconcile run.
	Reconcile *activities.ReconcileResult `json:"reconcile,omitempty"`
}

// ImportResult is a finished import.
type ImportResult struct {
	Mode activities.Mode `json:"mode"`
	// Outcome is "complete", or "partial: N records dead-lettered" when some records did not
	// reach the index (activities.Counts.Outcome): the run still finished and moved the
	// watermark; `starter dead-letters` names them and why.
	Outcome  string         `json:"outcome"`
	Entities []EntityResult `json:"entities"`
	// Runs is the number of workflow runs (continue-as-new generations) it took.
	Runs int `json:"runs"`
}

// Of returns the result of entity e; the zero EntityResult when the import did not run it.
func (r ImportResult) Of(e erp.Entity) EntityResult {
	for _, x := range r.Entities {
		if x.Entity == e {
			return x
		}
	}
	return EntityResult{}
}

// Progress is what the progress query and the UI's current details show.
type Progress struct {
	Import  string          `json:"import"`
	Mode    activities.Mode `json:"mode"`
	Phase   string          `json:"phase"`
	Entity  erp.Entity      `json:"entity"`
	Cursor  string          `json:"cursor"`
	Paused  bool            `json:"paused"`
	Started time.Time       `json:"started"`
	// Until is the run's upper bound: the ERP's records up to it are read.
	Until  time.Time         `json:"until,omitempty"`
	Totals activities.Counts `json:"totals"`
	// Expected is the number of records the begun entities' reads are expected to return (0
	// when the ERP cannot count): the total for a progress bar.
	Expected int                 `json:"expected"`
	Counts   []activities.Counts `json:"counts"`
	// Entities names the entries of Counts.
	Entities []erp.Entity `json:"entities"`
	// RecordsPerSecond is records read per second of wall time since the import started.
	RecordsPerSecond float64 `json:"records_per_second"`
	Runs             int     `json:"runs"`
	// Partitions is the number of partitions of a partitioned rebuild in progress (0: one
	// stream), PartitionsDone how many are read and PartitionsReading how many are being
	// read now; Cursor then names where each of those is.
	Partitions        int `json:"partitions,omitempty"`
	PartitionsDone    int `json:"partitions_done,omitempty"`
	PartitionsReading int `json:"partitions_reading,omitempty"`
}

// ProductImport imports products: the company-wide data they are shown and priced with (the
// category tree with its visibility, the line discounts for item groups and all items, the trade
// agreement activation), then every product with everything the webshop shows about it.
func ProductImport(ctx workflow.Context, in ImportInput) (ImportResult, error) {
	return runImport(ctx, ProductImportName, productEntities(ctx, in), in)
}

// only returns the entities of in.Entities when each is one of all, all otherwise.
func only(all []erp.Entity, in ImportInput) ([]erp.Entity, error) {
	if len(in.Entities) == 0 {
		return all, nil
	}
	for _, e := range in.Entities {
		if !slices.Contains(all, e) {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("entity %q: this import has %v", e, all), "invalid", nil)
		}
	}
	return in.Entities, nil
}

// normalisedProducts is the workflow version from which ProductImport imports the company-wide
// data before the products (they were part of each product's document before).
const normalisedProducts = "normalised-products"

// productEntities is ProductImport's entity list. A continued run keeps the list of the import it
// continues (its checkpoint's, or products only for an import begun before the list was kept); a
// new run takes the list of the workflow version it records, so that the history of a run begun
// by an earlier version replays with that version's list.
func productEntities(ctx workflow.Context, in ImportInput) []erp.Entity {
	if cp := in.Checkpoint; cp != nil {
		if len(cp.Entities) > 0 {
			return cp.Entities
		}
		return []erp.Entity{erp.Products}
	}
	if workflow.GetVersion(ctx, normalisedProducts, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return []erp.Entity{erp.Products}
	}
	return []erp.Entity{erp.Categories, erp.LineDiscounts, erp.Activations, erp.Products}
}

// CustomerImport imports customers, contacts and sales representatives, in that order.
func CustomerImport(ctx workflow.Context, in ImportInput) (ImportResult, error) {
	return runImport(ctx, CustomerImportName, []erp.Entity{erp.Customers, erp.Contacts, erp.SalesReps}, in)
}

// a is the nil pointer workflows call activities through; the worker registers the real struct.
var a *activities.Import

type importRun struct {
	name     string
	entities []erp.Entity
	in       ImportInput
	cp       *Checkpoint
	phase    string
	// reading marks the partitions (Checkpoint.Parts) with a chunk in flight.
	reading []bool
	// beside is the child workflow that reads the company-wide data (Checkpoint.Beside), when
	// this run started it.
	beside workflow.ChildWorkflowFuture
}

func runImport(ctx workflow.Context, name string, entities []erp.Entity, in ImportInput) (res ImportResult, err error) {
	if !in.Mode.Valid() {
		return ImportResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("mode %q: want update, rebuild, reconcile or audit", in.Mode), "invalid", nil)
	}
	entities, err = only(entities, in)
	if err != nil {
		return ImportResult{}, err
	}
	r := &importRun{name: name, entities: entities, in: in, cp: in.Checkpoint}
	if r.cp == nil {
		info := workflow.GetInfo(ctx)
		r.cp = &Checkpoint{RunID: info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID, Started: workflow.Now(ctx), Entities: entities}
	}
	for len(r.cp.Counts) < len(entities) {
		r.cp.Counts = append(r.cp.Counts, activities.Counts{})
		r.cp.Expected = append(r.cp.Expected, 0)
	}
	r.cp.Runs++
	r.phase = "starting"
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return r.progress(ctx), nil }); err != nil {
		return ImportResult{}, err
	}
	pause := workflow.GetSignalChannel(ctx, SignalPause)
	resume := workflow.GetSignalChannel(ctx, SignalResume)
	// A run of some of the entities (Entities) reports its end through its parent.
	if r.announce(ctx) && len(in.Entities) == 0 {
		defer func() {
			if p := recover(); p != nil {
				// A panic is no end of the run (Temporal fails the workflow task and tries it
				// again), and reporting it would block while the panic unwinds.
				panic(p)
			}
			r.end(ctx, res, err)
		}()
	}

	if in.Mode == activities.Reconcile {
		return r.reconcile(ctx)
	}

	res, err = r.read(ctx, pause, resume)
	var can *workflow.ContinueAsNewError
	if err != nil && !errors.As(err, &can) && in.Mode == activities.Rebuild && r.cp.Begun != nil {
		// The rebuild will not swap: stop update runs writing to its generation, even when
		// the run was cancelled (a disconnected context still runs activities).
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		ab := activities.AbandonInput{Entity: entities[r.cp.Entity], Target: r.cp.Begun.Target}
		if aerr := workflow.ExecuteActivity(shortCtx(dctx), a.Abandon, ab).Get(dctx, nil); aerr != nil {
			workflow.GetLogger(ctx).Error("abandon rebuild", "generation", ab.Target, "error", aerr)
		}
	}
	return res, err
}

// read runs the import's entities from the checkpoint on.
func (r *importRun) read(ctx workflow.Context, pause, resume workflow.ReceiveChannel) (ImportResult, error) {
	in, entities := r.in, r.entities
	res := ImportResult{Mode: in.Mode}
	r.startBeside(ctx)
	for ; r.cp.Entity < len(entities); r.cp.Entity++ {
		e := entities[r.cp.Entity]
		if r.cp.Begun == nil {
			r.phase = "beginning " + string(e)
			bin := activities.BeginInput{Entity: e, Mode: in.Mode, RunID: r.cp.RunID}
			if r.partitioned(ctx) {
				bin.Partitioned, bin.Partitions = true, in.Partitions
			}
			var begun activities.BeginResult
			if err := workflow.ExecuteActivity(shortCtx(ctx), a.Begin, bin).Get(ctx, &begun); err != nil {
				return res, fmt.Errorf("begin %s: %w", e, err)
			}
			r.cp.Begun = &begun
			r.cp.Cursor = begun.From
			r.cp.Changes = begun.Changes
			r.cp.Expected[r.cp.Entity] = begun.Expected
			r.cp.Parts = newParts(begun.Partitions)
		}
		r.phase = "reading " + string(e)
		if in.Mode == activities.Audit {
			r.phase = "auditing " + string(e)
		}
		if r.cp.Parts != nil {
			if err := r.readParts(ctx, e, pause, resume); err != nil {
				return res, err
			}
		}
		for done := r.cp.Parts != nil; !done; {
			r.drainSignals(ctx, pause, resume)
			if r.cp.Paused {
				r.phase = "paused"
				r.showDetails(ctx)
				if err := r.awaitResume(ctx, pause, resume); err != nil {
					return res, err
				}
				r.phase = "reading " + string(e)
			}
			chunk, err := r.chunk(ctx, e)
			if err != nil {
				return res, err
			}
			r.cp.Counts[r.cp.Entity] = r.cp.Counts[r.cp.Entity].Add(chunk.Counts)
			r.cp.Chunks++
			done = chunk.Done
			r.showDetails(ctx)
			if !done && r.shouldContinueAsNew(ctx) {
				r.drainSignals(ctx, pause, resume)
				return res, r.continueAsNew(ctx)
			}
		}

		var deletions erp.Cursor
		if in.Mode == activities.Update && r.cp.Begun.Detection != activities.ChildStamps {
			r.phase = "deleting " + string(e)
			var del activities.DeletionsResult
			din := activities.DeletionsInput{Entities: []erp.Entity{e}, From: r.cp.Begun.DeletionsFrom, Until: r.cp.Begun.Until}
			if err := workflow.ExecuteActivity(r.chunkCtx(ctx), a.ApplyDeletions, din).Get(ctx, &del); err != nil {
				return res, fmt.Errorf("apply deletions of %s: %w", e, err)
			}
			deletions = del.Next
			r.cp.Counts[r.cp.Entity] = r.cp.Counts[r.cp.Entity].Add(del.Counts)
		}

		if err := r.awaitBeside(ctx); err != nil {
			return res, err
		}
		r.phase = "committing " + string(e)
		var fin activities.FinishResult
		finIn := activities.FinishInput{Entity: e, Mode: in.Mode, RunID: r.cp.RunID, Target: r.cp.Begun.Target,
			Until: r.cp.Begun.Until, Deletions: deletions, Started: r.cp.Started, Counts: r.cp.Counts[r.cp.Entity]}
		if err := workflow.ExecuteActivity(shortCtx(ctx), a.Finish, finIn).Get(ctx, &fin); err != nil {
			return res, fmt.Errorf("finish %s: %w", e, err)
		}
		r.cp.Begun = nil
		r.cp.Cursor = erp.Cursor{}
		r.cp.Changes = nil
		r.cp.Parts = nil
		r.showDetails(ctx)
	}
	r.phase = "done"
	var total activities.Counts
	for i, e := range entities {
		res.Entities = append(res.Entities, EntityResult{Entity: e, Counts: r.cp.Counts[i]})
		total = total.Add(r.cp.Counts[i])
	}
	res.Outcome = total.Outcome()
	res.Runs = r.cp.Runs
	r.showDetails(ctx)
	return res, nil
}

// chunk runs the next chunk of the entity in progress: roots by their stamps (SyncChunk), the
// changed rows of every collection (SyncChanges, a child-stamps update) or an audit
// (AuditChunk); it moves the checkpoint's cursors.
func (r *importRun) chunk(ctx workflow.Context, e erp.Entity) (activities.ChunkResult, error) {
	b := r.cp.Begun
	var chunk activities.ChunkResult
	switch {
	case r.in.Mode == activities.Audit:
		var out activities.AuditResult
		in := activities.AuditInput{Entity: e, Target: b.Target, After: r.cp.Cursor, MaxPages: r.in.ChunkPages}
		if err := workflow.ExecuteActivity(r.chunkCtx(ctx), a.AuditChunk, in).Get(ctx, &out); err != nil {
			return chunk, fmt.Errorf("audit %s after %s: %w", e, r.cp.Cursor, err)
		}
		r.cp.Cursor = out.Next
		chunk = activities.ChunkResult{Next: out.Next, Done: out.Done, Counts: out.Counts}
	case b.Detection == activities.ChildStamps && r.in.Mode == activities.Update:
		var out activities.ChangesResult
		in := activities.ChangesInput{Entity: e, Target: b.Target, Until: b.Until, Cursors: r.cp.Changes}
		if err := workflow.ExecuteActivity(r.chunkCtx(ctx), a.SyncChanges, in).Get(ctx, &out); err != nil {
			return chunk, fmt.Errorf("sync changes of %s: %w", e, err)
		}
		r.cp.Changes = out.Cursors
		chunk = activities.ChunkResult{Done: out.Done, Counts: out.Counts}
	default:
		in := activities.ChunkInput{Entity: e, Target: b.Target, After: r.cp.Cursor, Until: b.Until,
			MaxPages: r.in.ChunkPages, MaxDuration: r.in.ChunkDuration}
		if err := workflow.ExecuteActivity(r.chunkCtx(ctx), a.SyncChunk, in).Get(ctx, &chunk); err != nil {
			return chunk, fmt.Errorf("sync %s after %s: %w", e, r.cp.Cursor, err)
		}
		r.cp.Cursor = chunk.Next
	}
	return chunk, nil
}

func (r *importRun) reconcile(ctx workflow.Context) (ImportResult, error) {
	res := ImportResult{Mode: activities.Reconcile, Runs: r.cp.Runs}
	for i, e := range r.entities {
		r.cp.Entity = i
		r.phase = "reconciling " + string(e)
		var rec activities.ReconcileResult
		in := activities.ReconcileInput{Entity: e, MaxDeleteShare: r.in.MaxDeleteShare}
		if err := workflow.ExecuteActivity(r.chunkCtx(ctx), a.Reconcile, in).Get(ctx, &rec); err != nil {
			return res, fmt.Errorf("reconcile %s: %w", e, err)
		}
		r.cp.Counts[i].Deleted += rec.Deleted
		res.Entities = append(res.Entities, EntityResult{Entity: e, Counts: r.cp.Counts[i], Reconcile: &rec})
	}
	r.phase = "done"
	r.showDetails(ctx)
	return res, nil
}

// drainSignals applies the pause and resume signals received so far, in order of arrival per
// channel; a resume after a pause wins because both are drained before the flag is read.
func (r *importRun) drainSignals(ctx workflow.Context, pause, resume workflow.ReceiveChannel) {
	for pause.ReceiveAsync(nil) {
		r.cp.Paused = true
		r.tellBeside(ctx, SignalPause)
	}
	for resume.ReceiveAsync(nil) {
		r.cp.Paused = false
		r.tellBeside(ctx, SignalResume)
	}
}

func (r *importRun) awaitResume(ctx workflow.Context, pause, resume workflow.ReceiveChannel) error {
	for r.cp.Paused {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(resume, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			r.cp.Paused = false
			r.tellBeside(ctx, SignalResume)
		})
		sel.AddReceive(pause, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		if err := ctx.Err(); err != nil {
			return temporal.NewCanceledError("cancelled while paused")
		}
	}
	return nil
}

func (r *importRun) shouldContinueAsNew(ctx workflow.Context) bool {
	limit := r.in.MaxChunksPerRun
	if limit == 0 {
		limit = 1000
	}
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested() || r.cp.Chunks >= limit*r.cp.Runs
}

func (r *importRun) progress(ctx workflow.Context) Progress {
	p := Progress{Import: r.name, Mode: r.in.Mode, Phase: r.phase, Paused: r.cp.Paused, Started: r.cp.Started,
		Counts: r.cp.Counts, Entities: r.entities, Runs: r.cp.Runs, Cursor: r.cp.Cursor.String()}
	if r.cp.Entity < len(r.entities) {
		p.Entity = r.entities[r.cp.Entity]
	}
	if r.cp.Begun != nil {
		p.Until = r.cp.Begun.Until
	}
	for i, c := range r.cp.Counts {
		p.Totals = p.Totals.Add(c)
		p.Expected += r.cp.Expected[i]
	}
	if secs := workflow.Now(ctx).Sub(r.cp.Started).Seconds(); secs > 0 {
		p.RecordsPerSecond = float64(p.Totals.Read) / secs
	}
	r.partsProgress(&p)
	return p
}

// Of returns the counts of entity e so far; zero when the import has no such entity. The
// company-wide data a rebuild reads beside the products is counted when its workflow ends.
func (p Progress) Of(e erp.Entity) activities.Counts {
	if i := slices.Index(p.Entities, e); i >= 0 && i < len(p.Counts) {
		return p.Counts[i]
	}
	return activities.Counts{}
}

// showDetails puts the progress where the Temporal UI shows a workflow's current details.
func (r *importRun) showDetails(ctx workflow.Context) {
	p := r.progress(ctx)
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** (%s): %s", p.Import, p.Mode, p.Phase)
	if p.Paused {
		b.WriteString(" — paused, send the `resume` signal to go on")
	}
	fmt.Fprintf(&b, "\n\n| entity | pages | read | indexed | deleted | dead-lettered | rejected |\n|---|---|---|---|---|---|---|\n")
	for i, e := range p.Entities {
		c := p.Counts[i]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d |\n", e, c.Pages, c.Read, c.Indexed, c.Deleted, c.DeadLettered, c.Rejected)
	}
	if p.Partitions > 0 {
		fmt.Fprintf(&b, "\npartitions: %d of %d read, %d being read\n", p.PartitionsDone, p.Partitions, p.PartitionsReading)
	}
	if bs := r.cp.Beside; bs != nil && !bs.Done {
		fmt.Fprintf(&b, "\n%s: read beside, by workflow `%s`; counted here when it ends\n", r.besideNames(), bs.WorkflowID)
	}
	fmt.Fprintf(&b, "\ncursor: `%s` · %.0f records/s · run %d", p.Cursor, p.RecordsPerSecond, p.Runs)
	if p.Totals.DeadLettered > 0 {
		fmt.Fprintf(&b, "\n\n**%s** so far: they did not reach the index; `starter dead-letters` shows each and why", p.Totals.Outcome())
	}
	workflow.SetCurrentDetails(ctx, b.String())
}

// retry is the activities' retry policy: backoff without end for what may pass (the ERP or
// Elasticsearch down, rate limits); the activities mark permanent failures non-retryable
// themselves, and rate limits carry their own next delay.
var retry = &temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    time.Minute,
}

// shortCtx is for activities that do a few requests (begin, finish).
func shortCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy:            retry,
	})
}

// chunkCtx is for the long activities that page through the ERP: a chunk runs for up to a few
// minutes and heartbeats after every page, so a dead worker's chunk moves on after the
// heartbeat timeout, from the last heartbeated cursor.
func (r *importRun) chunkCtx(ctx workflow.Context) workflow.Context {
	hb := r.in.HeartbeatTimeout
	if hb == 0 {
		hb = 30 * time.Second
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Minute,
		ScheduleToCloseTimeout: 12 * time.Hour,
		HeartbeatTimeout:       hb,
		RetryPolicy:            retry,
	})
}
