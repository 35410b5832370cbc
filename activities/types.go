package activities

import (
	"fmt"
	"time"

	"github.com/erpsync/erpsync/erp"
)

// Mode is how an import reads the ERP.
type Mode string

// The import modes.
const (
	// Update reads only what changed since the entity's watermark (minus an overlap window) and
	// applies the ERP's deletion log.
	Update Mode = "update"
	// Rebuild reads everything into a new index generation and swaps the alias to it; whatever
	// the ERP no longer has is gone after the swap.
	Rebuild Mode = "rebuild"
	// Reconcile compares the ERP's keys with the index's and deletes the orphans, without
	// re-reading records.
	Reconcile Mode = "reconcile"
	// Audit compares what every document was built from (the keys and stamps of its ERP rows)
	// with what the ERP has now, reading keys and stamps only, and re-syncs the roots that
	// differ: it finds deleted children, which leave no stamp behind in stock D365.
	Audit Mode = "audit"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == Update || m == Rebuild || m == Reconcile || m == Audit }

// Counts are what an import did, summed over pages, chunks and runs.
type Counts struct {
	Pages        int `json:"pages"`
	Read         int `json:"read"`
	Indexed      int `json:"indexed"`
	Stale        int `json:"stale"`
	Deleted      int `json:"deleted"`
	DeadLettered int `json:"dead_lettered"`
	Rejected     int `json:"rejected"`
	Requests     int `json:"requests"`
	// Bytes are the bytes of the ERP's answers.
	Bytes int64 `json:"bytes,omitempty"`
	// Changed counts changed ERP rows found by change detection (child-stamps) and roots
	// compared by an audit.
	Changed int `json:"changed,omitempty"`
	// Repaired counts roots an audit found different from their document and re-synced.
	Repaired int `json:"repaired,omitempty"`
	// Unchanged counts roots an update read whose document the index holds already (the same
	// content hash): not written. An ERP add-on stamps a product when one of its categories or
	// its group's line discounts change, which its document does not hold.
	Unchanged int `json:"unchanged,omitempty"`
	// Excluded counts records read that no webshop takes (their webshops' filters): not
	// indexed, and their documents deleted where the index held them.
	Excluded int `json:"excluded,omitempty"`
}

// Outcome says whether every record read reached the index: "complete", or, when records
// were dead-lettered (the ERP side could not read them, no document could hold them,
// Elasticsearch refused them, or their page failed until they were stepped past), "partial: N
// records dead-lettered". A partial run still moves the watermark; its dead letters name each
// record and why (starter dead-letters), and the next run that reads a record tries it again.
func (c Counts) Outcome() string {
	if c.DeadLettered == 0 {
		return "complete"
	}
	if c.DeadLettered == 1 {
		return "partial: 1 record dead-lettered"
	}
	return fmt.Sprintf("partial: %d records dead-lettered", c.DeadLettered)
}

// Add returns c + d.
func (c Counts) Add(d Counts) Counts {
	return Counts{
		Pages: c.Pages + d.Pages, Read: c.Read + d.Read, Indexed: c.Indexed + d.Indexed, Stale: c.Stale + d.Stale,
		Deleted: c.Deleted + d.Deleted, DeadLettered: c.DeadLettered + d.DeadLettered, Rejected: c.Rejected + d.Rejected,
		Requests: c.Requests + d.Requests, Bytes: c.Bytes + d.Bytes, Changed: c.Changed + d.Changed, Repaired: c.Repaired + d.Repaired,
		Unchanged: c.Unchanged + d.Unchanged, Excluded: c.Excluded + d.Excluded,
	}
}

// BeginInput starts the import of one entity.
type BeginInput struct {
	Entity erp.Entity `json:"entity"`
	Mode   Mode       `json:"mode"`
	RunID  string     `json:"run_id"`
	// Partitioned asks a rebuild or an audit for its partitions (BeginResult.Partitions); runs
	// begun before partitions existed read in one stream.
	Partitioned bool `json:"partitioned,omitempty"`
	// Partitions is how many partitions the run asks to read at once (0: the worker's
	// setting); the worker bounds it by what the ERP allows.
	Partitions int `json:"partitions,omitempty"`
}

// BeginResult says what the run reads and where it writes.
type BeginResult struct {
	// Target is where records are written: the alias (update) or a new generation (rebuild).
	Target string `json:"target"`
	// From is where reading starts: the watermark minus the overlap window (update), or the
	// beginning (rebuild).
	From erp.Cursor `json:"from"`
	// Until is the run's upper bound: its start by the ERP's clock (erp.Clock) minus the
	// safety lag.
	Until time.Time `json:"until"`
	// DeletionsFrom is where the deletion log is read from (update).
	DeletionsFrom erp.Cursor `json:"deletions_from"`
	// Expected is how many roots the read will return, when the ERP can count them (else 0).
	Expected int `json:"expected,omitempty"`
	// Detection is the worker's change detection; with ChildStamps an update run reads the
	// collections of Changes (SyncChanges) instead of roots by their stamp (SyncChunk). Empty in
	// runs begun before it existed: ParentStamps.
	Detection Detection `json:"detection,omitempty"`
	// Changes are where a ChildStamps update reads each collection of the entity's model from
	// (D365's collection name -> cursor): its watermark minus the overlap window.
	Changes map[string]erp.Cursor `json:"changes,omitempty"`
	// Partitions are a partitioned rebuild's or audit's parts, each read from its own cursor
	// (nil: one stream), in the order the plan has them begin on their slots (Start, then
	// largest first: the order the workflow starts them in), and InFlight how many to read at
	// once.
	Partitions []erp.Partition `json:"partitions,omitempty"`
	InFlight   int             `json:"in_flight,omitempty"`
	// Width is the ERP requests one page of a partition may have in flight: the partitions'
	// share of what the ERP allows (Settings.ERPRequests over InFlight). Zero (one stream, or a
	// run begun before it existed) leaves the connector's own bound (erp.concurrency).
	Width int `json:"width,omitempty"`
}

// ChangesInput asks SyncChanges to continue a ChildStamps update of one entity: read the changed
// rows of every collection after its cursor up to Until, and write the roots they affect.
type ChangesInput struct {
	Entity  erp.Entity            `json:"entity"`
	Target  string                `json:"target"`
	Until   time.Time             `json:"until"`
	Cursors map[string]erp.Cursor `json:"cursors"`
}

// ChangesResult is how far each collection was read and what was written. Done is true when
// every collection was read up to Until.
type ChangesResult struct {
	Cursors map[string]erp.Cursor `json:"cursors"`
	Done    bool                  `json:"done"`
	Counts  Counts                `json:"counts"`
}

// AuditInput asks AuditChunk to compare the roots of an entity after After (in (company, key)
// order) with their documents in Target.
type AuditInput struct {
	Entity erp.Entity `json:"entity"`
	Target string     `json:"target"`
	After  erp.Cursor `json:"after"`
	// MaxPages bounds the chunk (zero: the worker's default chunk size).
	MaxPages int `json:"max_pages,omitempty"`
	// Partition, when set, limits the audit to one partition's roots.
	Partition *erp.Partition `json:"partition,omitempty"`
}

// AuditResult is where the audit stopped and what it found.
type AuditResult struct {
	Next   erp.Cursor `json:"next"`
	Done   bool       `json:"done"`
	Counts Counts     `json:"counts"`
}

// ChunkInput asks SyncChunk to process up to MaxPages pages or MaxDuration of one entity.
type ChunkInput struct {
	Entity erp.Entity `json:"entity"`
	Target string     `json:"target"`
	After  erp.Cursor `json:"after"`
	Until  time.Time  `json:"until"`
	// MaxPages and MaxDuration bound the chunk (zero: the worker's defaults).
	MaxPages    int           `json:"max_pages,omitempty"`
	MaxDuration time.Duration `json:"max_duration,omitempty"`
	// Partition, when set, limits the read to one partition of a rebuild.
	Partition *erp.Partition `json:"partition,omitempty"`
	// Steady starts a rebuild's stream with full pages: other partitions keep Elasticsearch
	// busy already (a partitioned rebuild once one of its chunks has ended). Otherwise a
	// rebuild's stream starts with small pages (rampStart).
	Steady bool `json:"steady,omitempty"`
	// Width bounds the ERP requests one page has in flight (BeginResult.Width; zero: the
	// connector's own bound).
	Width int `json:"width,omitempty"`
}

// ChunkResult is where a chunk stopped and what it did. Records never cross this boundary.
type ChunkResult struct {
	Next   erp.Cursor `json:"next"`
	Done   bool       `json:"done"`
	Counts Counts     `json:"counts"`
}

// DeletionsInput asks ApplyDeletions to apply the deletion log after From, up to Until, to the
// entities' indexes.
type DeletionsInput struct {
	Entities []erp.Entity `json:"entities"`
	From     erp.Cursor   `json:"from"`
	Until    time.Time    `json:"until"`
}

// DeletionsResult is how far the deletion log was applied.
type DeletionsResult struct {
	Next   erp.Cursor `json:"next"`
	Counts Counts     `json:"counts"`
}

// FinishInput ends one entity's run: for a rebuild, the generation is finished and swapped in;
// then the watermark is committed.
type FinishInput struct {
	Entity erp.Entity `json:"entity"`
	Mode   Mode       `json:"mode"`
	RunID  string     `json:"run_id"`
	// Target is the generation a rebuild wrote (ignored for updates).
	Target string `json:"target"`
	// Until becomes the watermark: the run read everything up to it.
	Until time.Time `json:"until"`
	// Deletions is how far the deletion log was applied (update); zero leaves it.
	Deletions erp.Cursor `json:"deletions"`
	Started   time.Time  `json:"started"`
	Counts    Counts     `json:"counts"`
}

// FinishResult reports the committed state.
type FinishResult struct {
	Watermark erp.Cursor `json:"watermark"`
	// Previous is the generation a rebuild replaced (kept for rollback).
	Previous string `json:"previous,omitempty"`
}

// ReconcileInput asks Reconcile to delete the entity's documents whose record the ERP no
// longer has.
type ReconcileInput struct {
	Entity erp.Entity `json:"entity"`
	// MaxDeleteShare stops the sweep (deleting nothing) when the orphans exceed this share of
	// the index, e.g. 0.1; zero means the worker's default.
	MaxDeleteShare float64 `json:"max_delete_share,omitempty"`
}

// ReconcileResult is what the sweep found and did.
type ReconcileResult struct {
	Indexed int `json:"indexed"`
	Orphans int `json:"orphans"`
	Deleted int `json:"deleted"`
	// Refused is set when the orphans exceeded the share and nothing was deleted.
	Refused string `json:"refused,omitempty"`
}

// AbandonInput names a rebuild's generation that will not be swapped in (the run was cancelled
// or failed for good).
type AbandonInput struct {
	Entity erp.Entity `json:"entity"`
	Target string     `json:"target"`
}
