package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
)

// partitionsChange and auditPartitionsChange version partitioned rebuilds and audits: one
// begun since reads its entity in partitions side by side (readParts); one begun before, as its
// history says, in one stream.
const (
	partitionsChange      = "partitioned-rebuild"
	auditPartitionsChange = "partitioned-audit"
)

// steadyChange versions the chunks a partitioned rebuild starts once one of its chunks has
// ended: since, they read full pages from their start (activities.ChunkInput.Steady).
const steadyChange = "steady-partitions"

// partitioned reports whether the entity about to begin is read in partitions: rebuilds and
// audits begun since they are.
func (r *importRun) partitioned(ctx workflow.Context) bool {
	switch r.in.Mode {
	case activities.Rebuild:
		return workflow.GetVersion(ctx, partitionsChange, workflow.DefaultVersion, 1) >= 1
	case activities.Audit:
		return workflow.GetVersion(ctx, auditPartitionsChange, workflow.DefaultVersion, 1) >= 1
	}
	return false
}

// Part is one partition of a rebuild with where its read got to.
type Part struct {
	Partition erp.Partition     `json:"partition"`
	Cursor    erp.Cursor        `json:"cursor"`
	Counts    activities.Counts `json:"counts"`
	Done      bool              `json:"done,omitempty"`
}

// newParts returns the parts of a plan, nil for none.
func newParts(plan []erp.Partition) []Part {
	if len(plan) == 0 {
		return nil
	}
	parts := make([]Part, len(plan))
	for i, p := range plan {
		parts[i] = Part{Partition: p}
	}
	return parts
}

// readParts reads the partitions of the entity being rebuilt or audited: a chain of SyncChunk
// (AuditChunk) activities per partition, each from its partition's cursor, up to Begun.InFlight chains at once, each
// chunk on whichever worker polls first. A chunk that fails is retried on its own by Temporal
// from its last heartbeat while the other partitions go on; one that fails for good stops the
// rest (they are cancelled) and the rebuild fails with its error. Pause stops starting chunks
// (those in flight end at their chunk boundary), cancellation cancels every chunk in flight,
// and continue-as-new waits for them: the checkpoint holds every partition's cursor.
func (r *importRun) readParts(ctx workflow.Context, e erp.Entity, pause, resume workflow.ReceiveChannel) error {
	inFlight := max(r.cp.Begun.InFlight, 1)
	// Once a chunk has ended, the chunks started are steady: the others keep Elasticsearch busy.
	steady := r.in.Mode != activities.Audit && workflow.GetVersion(ctx, steadyChange, workflow.DefaultVersion, 1) >= 1
	ended := 0
	phase := r.phase
	actx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	r.reading = make([]bool, len(r.cp.Parts))
	defer func() { r.reading = nil }()
	sel := workflow.NewSelector(ctx)
	pending := 0
	var failed error
	continuing := false
	start := func(i int) {
		part := &r.cp.Parts[i]
		var fut workflow.Future
		if r.in.Mode == activities.Audit {
			in := activities.AuditInput{Entity: e, Target: r.cp.Begun.Target, After: part.Cursor, MaxPages: r.in.ChunkPages, Partition: &part.Partition}
			fut = workflow.ExecuteActivity(r.chunkCtx(actx), a.AuditChunk, in)
		} else {
			in := activities.ChunkInput{Entity: e, Target: r.cp.Begun.Target, After: part.Cursor, Until: r.cp.Begun.Until,
				MaxPages: r.in.ChunkPages, MaxDuration: r.in.ChunkDuration, Partition: &part.Partition, Steady: steady && ended > 0,
				Width: r.cp.Begun.Width}
			fut = workflow.ExecuteActivity(r.chunkCtx(actx), a.SyncChunk, in)
		}
		pending++
		r.reading[i] = true
		sel.AddFuture(fut, func(f workflow.Future) {
			pending--
			ended++
			r.reading[i] = false
			// AuditResult has ChunkResult's fields: either decodes into it.
			var chunk activities.ChunkResult
			if err := f.Get(ctx, &chunk); err != nil {
				if failed == nil {
					failed = fmt.Errorf("%s %s partition %s after %s: %w", r.in.Mode, e, part.Partition, part.Partition.At(part.Cursor), err)
					cancel()
				}
				return
			}
			part.Cursor, part.Done = chunk.Next, chunk.Done
			part.Counts = part.Counts.Add(chunk.Counts)
			r.cp.Counts[r.cp.Entity] = r.cp.Counts[r.cp.Entity].Add(chunk.Counts)
			r.cp.Chunks++
		})
	}
	for {
		r.drainSignals(ctx, pause, resume)
		if failed == nil && !r.cp.Paused && !continuing {
			for i := range r.cp.Parts {
				if pending < inFlight && !r.cp.Parts[i].Done && !r.reading[i] {
					start(i)
				}
			}
		}
		r.showDetails(ctx)
		if pending == 0 {
			switch {
			case failed != nil:
				return failed
			case r.partsDone():
				return nil
			case continuing:
				return r.continueAsNew(ctx)
			case r.cp.Paused:
				r.phase = "paused"
				r.showDetails(ctx)
				if err := r.awaitResume(ctx, pause, resume); err != nil {
					return err
				}
				r.phase = phase
				continue
			default:
				return errors.New("no partition to read and none done: a bug")
			}
		}
		sel.Select(ctx)
		if !continuing && failed == nil && r.shouldContinueAsNew(ctx) {
			continuing = true
		}
	}
}

// partsDone reports whether every partition is read.
func (r *importRun) partsDone() bool {
	for _, p := range r.cp.Parts {
		if !p.Done {
			return false
		}
	}
	return true
}

// partsProgress adds a partitioned rebuild's partitions to p: how many, how many are read and
// being read, and where each of those being read is (the cursor).
func (r *importRun) partsProgress(p *Progress) {
	if len(r.cp.Parts) == 0 {
		return
	}
	p.Partitions = len(r.cp.Parts)
	var at []string
	for i, part := range r.cp.Parts {
		if part.Done {
			p.PartitionsDone++
		}
		if i < len(r.reading) && r.reading[i] {
			p.PartitionsReading++
			at = append(at, part.Partition.String()+" at "+part.Partition.At(part.Cursor))
		}
	}
	p.Cursor = strings.Join(at, "; ")
}
