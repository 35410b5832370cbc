// Package activities does all of erpsync's I/O for the import workflows: it reads pages from the
// ERP, turns records into search documents, writes them to Elasticsearch and keeps the sync
// state. Only cursors and counts leave an activity; records never enter workflow history.
package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/alert"
	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/webshop"
)

// Index is the search index as the import activities use it. *search.Index implements it.
type Index interface {
	Alias(e erp.Entity) string
	CreateGeneration(ctx context.Context, e erp.Entity) (string, error)
	FinishGeneration(ctx context.Context, index string) error
	SwapAlias(ctx context.Context, e erp.Entity, index string) (previous string, err error)
	Write(ctx context.Context, target string, ops []search.Op) (search.Counts, error)
	DeadLetterRejections(ctx context.Context, rs []erp.Rejection) error
	LoadState(ctx context.Context, e erp.Entity) (search.State, error)
	SaveState(ctx context.Context, s search.State) error
	IDs(ctx context.Context, target, after string, n int) ([]string, error)
	Refresh(ctx context.Context, target string) error
	Holding(ctx context.Context, target string, h erp.Held) ([]string, error)
	Stored(ctx context.Context, target string, ids []string) (map[string]search.Stored, error)
}

var _ Index = (*search.Index)(nil)

// Settings tune the imports. Zero fields take the defaults named on each.
type Settings struct {
	// PageSize is the number of ERP roots per page (default 1000: against 500, a 100,000-product
	// rebuild made 13% fewer ERP requests, the ERP spent 17% less CPU and the import ran 11%
	// faster (make bench); 2000 was no faster and costs the worker more memory).
	PageSize int
	// ChunkPages and ChunkDuration bound one SyncChunk (default 20 pages, 10 s): short enough
	// that pause and cancel take effect soon and the progress query moves, long enough that
	// Temporal round trips are a small share of the work.
	ChunkPages    int
	ChunkDuration time.Duration
	// SafetyLag caps a run's upper bound at its start minus this (default 30 s), so changes the
	// ERP commits late or stamps with a skewed clock are read by the next run.
	SafetyLag time.Duration
	// Overlap is how far before the watermark an update run starts reading (default 5 min): a
	// record stamped inside it but committed after the previous run is still found.
	Overlap time.Duration
	// MaxDeleteShare stops a reconcile sweep that would delete more than this share of an index
	// (default 0.1).
	MaxDeleteShare float64
	// Document shapes the search documents.
	Document document.Options
	// Detection is how update runs find changes (default ParentStamps).
	Detection Detection
	// MaxChangedRoots bounds the roots one SyncChanges chunk collects before it reads and writes
	// them (default 10,000): the worker's memory for a backlog, not for a catalog.
	MaxChangedRoots int
	// DeadLetterMaxAge is how long dead letters are kept (default 30 days): each run's end
	// (RunEnded) deletes older ones.
	DeadLetterMaxAge time.Duration
	// Partitions is how many partitions of a rebuild are read at once (default 8), each a
	// stream of chunks from its own cursor on whichever worker is free; a run may ask for
	// another number (ImportInput.Partitions), bounded by MaxPartitions. Against an ERP that
	// answers 150 ms late, as D365 does, 8 rebuilt the benchmark's catalog faster than 4 in 8 of
	// 9 alternating pairs (about 7%): 4 streams, each a page in flight, left Elasticsearch a
	// third idle for the first seconds. Against the simulator without latency, 4 was faster
	// (7 of 9, about 5%): docs/benchmarks.md, "How many partitions at once".
	Partitions int
	// MaxPartitions is what the ERP allows: its concurrent requests over the requests one
	// stream has in flight (config derives it from erp.max-concurrent-requests and
	// erp.concurrency); 0 is no bound.
	MaxPartitions int
	// ERPRequests is how many requests the ERP allows one integration to have in flight
	// (erp.max-concurrent-requests; 0: unknown). A partitioned rebuild reads each page with
	// its share of them (BeginResult.Width): with fewer partitions in flight than the ERP
	// allows, a page's child collections take fewer rounds of requests than erp.concurrency
	// alone would give them, which a slow ERP makes count.
	ERPRequests int
	// PartitionSize is about how many roots one partition holds (default 10,000: ten pages, so
	// that a rebuild of 100,000 products in 3 companies has 12 partitions and the last ones to
	// finish leave Elasticsearch little time alone with one stream).
	PartitionSize int
}

// Detection is how update runs find what changed in the ERP.
type Detection string

// The change detection modes.
const (
	// ParentStamps relies on an ERP add-on (such as Sana's for D365): a change of any child
	// stamps its root's ModifiedDateTime, and deletes are in the DeletedRecords log. Update runs
	// read roots by their own stamp; documents are versioned by it.
	ParentStamps Detection = "parent-stamps"
	// ChildStamps works with stock D365, which stamps only the row that changed and logs no
	// deletes. Update runs read every collection of the model by its own stamp, map changed rows
	// to their roots and re-read those; documents are versioned by the ERP time of the read;
	// deleted roots are found by reconcile runs, deleted children by audit runs.
	ChildStamps Detection = "child-stamps"
)

// Valid reports whether d is a known mode ("" is the default, ParentStamps).
func (d Detection) Valid() bool { return d == "" || d == ParentStamps || d == ChildStamps }

// DefaultSettings returns the settings a zero Settings stands for.
func DefaultSettings() Settings { return Settings{}.withDefaults() }

func (s Settings) withDefaults() Settings {
	if s.PageSize == 0 {
		s.PageSize = 1000
	}
	if s.ChunkPages == 0 {
		s.ChunkPages = 20
	}
	if s.ChunkDuration == 0 {
		s.ChunkDuration = 10 * time.Second
	}
	if s.SafetyLag == 0 {
		s.SafetyLag = 30 * time.Second
	}
	if s.Overlap == 0 {
		s.Overlap = 5 * time.Minute
	}
	if s.MaxDeleteShare == 0 {
		s.MaxDeleteShare = 0.1
	}
	if s.Detection == "" {
		s.Detection = ParentStamps
	}
	if s.MaxChangedRoots == 0 {
		s.MaxChangedRoots = 10_000
	}
	if s.DeadLetterMaxAge == 0 {
		s.DeadLetterMaxAge = 30 * 24 * time.Hour
	}
	if s.Partitions == 0 {
		s.Partitions = 8
	}
	if s.PartitionSize == 0 {
		s.PartitionSize = 10_000
	}
	return s
}

// inFlight is how many partitions a rebuild reads at once: what the run asks for (0: the
// settings' number), at least 1 and at most what the ERP allows.
func (s Settings) inFlight(asked int) int {
	n := cmp.Or(asked, s.Partitions)
	if s.MaxPartitions > 0 {
		n = min(n, s.MaxPartitions)
	}
	return max(n, 1)
}

// Recorder receives what the activities did, for the worker's metrics (*metrics.Metrics).
type Recorder interface {
	Records(entity, outcome string, n int)
	Chunk(entity string, d time.Duration)
	Watermark(entity string, t time.Time)
}

// Import holds the activities of the import workflows and their dependencies. Create it once
// per worker and register it; its methods are safe for concurrent use.
type Import struct {
	Source   erp.Source
	Index    Index
	Log      *zap.Logger
	Settings Settings
	// Metrics, when set, receives counts, chunk latencies and watermarks.
	Metrics Recorder
	// Alerts, when it has a channel, tells people about runs that did not succeed (RunEnded).
	Alerts *alert.Notifier
	// Now is the clock (time.Now when nil); tests set it.
	Now func() time.Time
	// Runs tells whether a rebuild named in the sync state is live (nil: Temporal, through the
	// activity's client); tests set it.
	Runs Runs
	// draw returns a number in [0, 1) (rand.Float64 when nil); tests set it.
	draw func() float64

	// handoffs are the read aheads of chunks that ended, for the next chunk (handoff.go).
	handoffs handoffs

	// companyLanguages caches what the ERP says when Settings.Document.CompanyLanguages is
	// empty (read once per process).
	mu               sync.Mutex
	companyLanguages map[string]string
}

// CompanyLanguager is implemented by sources that know each company's language (D365's
// LegalEntities); documents label a company's own product texts with it.
type CompanyLanguager interface {
	CompanyLanguages(ctx context.Context) (map[string]string, error)
}

// documentOptions returns the document options, with the companies' languages read from the
// ERP once when the settings do not name them.
func (a *Import) documentOptions(ctx context.Context) (document.Options, error) {
	o := a.settings().Document
	if o.CompanyLanguages != nil {
		return o, nil
	}
	cl, ok := a.Source.(CompanyLanguager)
	if !ok {
		return o, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.companyLanguages == nil {
		m, err := cl.CompanyLanguages(ctx)
		if err != nil {
			return o, fmt.Errorf("read company languages: %w", err)
		}
		a.companyLanguages = m
	}
	o.CompanyLanguages = a.companyLanguages
	return o, nil
}

func (a *Import) settings() Settings { return a.Settings.withDefaults() }

func (a *Import) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// erpNow is the ERP's current time (erp.Clock), the clock that stamps the records: a run's
// upper bound and a reconcile's delete versions come from it, never from the worker's clock. A
// source without a clock (a test's) gets the worker's.
func (a *Import) erpNow(ctx context.Context) (time.Time, error) {
	c, ok := a.Source.(erp.Clock)
	if !ok {
		return a.now(), nil
	}
	t, err := c.Now(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the ERP's clock: %w", err)
	}
	return t.UTC(), nil
}

func (a *Import) log(ctx context.Context) *zap.Logger {
	l := a.Log
	if l == nil {
		l = zap.NewNop()
	}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		l = l.With(zap.String("workflow_id", info.WorkflowExecution.ID), zap.String("activity", info.ActivityType.Name), zap.Int32("attempt", info.Attempt))
	}
	return l
}

// Begin fixes a run's bounds for one entity: for an update, from the watermark minus the
// overlap window into the alias; for a rebuild, from the beginning into a new generation, which
// update runs then also write to until the swap.
func (a *Import) Begin(ctx context.Context, in BeginInput) (BeginResult, error) {
	res, err := a.begin(ctx, in)
	return res, temporalError(err)
}

func (a *Import) begin(ctx context.Context, in BeginInput) (BeginResult, error) {
	s := a.settings()
	if !in.Entity.Valid() {
		return BeginResult{}, invalid("begin", "unknown entity %q", in.Entity)
	}
	st, err := a.Index.LoadState(ctx, in.Entity)
	if err != nil {
		return BeginResult{}, fmt.Errorf("load state of %s: %w", in.Entity, err)
	}
	if in.Mode == Update || in.Mode == Audit {
		if err := checkWebshops(st, s.Document.Webshops); err != nil {
			return BeginResult{}, err
		}
	}
	var res BeginResult
	switch in.Mode {
	case Update:
		res.Target = a.Index.Alias(in.Entity)
		res.From = rewind(st.Watermark, s.Overlap)
		res.DeletionsFrom = rewind(st.DeletionWatermark, s.Overlap)
		if s.Detection == ChildStamps {
			res.Detection = ChildStamps
			res.Changes = map[string]erp.Cursor{}
			for coll, c := range collectionWatermarks(st) {
				res.Changes[coll] = rewind(c, s.Overlap)
			}
		}
	case Rebuild:
		gen, err := a.beginRebuild(ctx, in.Entity, in.RunID)
		if err != nil {
			return BeginResult{}, err
		}
		res.Target = gen
		// The bound is taken below, after update runs can see the generation: one that began
		// before wrote only to the alias what it read up to its own bound, which is before this.
	case Audit:
		res.Target = a.Index.Alias(in.Entity)
	default:
		return BeginResult{}, invalid("begin", "mode %q cannot begin a read", in.Mode)
	}
	now, err := a.erpNow(ctx)
	if err != nil {
		return BeginResult{}, err
	}
	res.Until = now.Add(-s.SafetyLag).Truncate(time.Microsecond)
	// A plan counts the roots it splits (erp.Partitioner): that count is the progress's.
	planned := false
	if in.Partitioned && (in.Mode == Rebuild || in.Mode == Audit) {
		until := res.Until
		if in.Mode == Audit {
			until = time.Time{} // an audit compares every root, whatever its stamp
		}
		if planned, err = a.partition(ctx, in, until, &res); err != nil {
			return BeginResult{}, err
		}
	}
	if c, ok := a.Source.(erp.Counter); ok && !planned && res.Detection != ChildStamps {
		r := erp.ReadRequest{After: res.From, Until: res.Until}
		if in.Mode == Audit {
			r = erp.ReadRequest{}
		}
		n, err := c.Count(ctx, in.Entity, r)
		if err != nil {
			a.log(ctx).Warn("cannot count records for progress", zap.Error(err))
		}
		res.Expected = n
	}
	a.log(ctx).Info("import begins", zap.String("entity", string(in.Entity)), zap.String("mode", string(in.Mode)),
		zap.String("target", res.Target), zap.Stringer("from", res.From), zap.Time("until", res.Until))
	return res, nil
}

// checkWebshops refuses an update or audit of an index built with other webshops than shops
// (docs/webshops.md): their filters decide which records the index holds, so writing with the
// new ones would leave a mix of both. An entity never synced has nothing to mix.
func checkWebshops(st search.State, shops []webshop.Webshop) error {
	if st.Watermark.IsZero() && st.Generation == "" {
		return nil
	}
	changes := webshop.Changes(st.Entity, st.Webshops, webshop.Fingerprints(shops, st.Entity))
	if len(changes) == 0 {
		return nil
	}
	imp := "products"
	if st.Entity == erp.Customers || st.Entity == erp.Contacts || st.Entity == erp.SalesReps {
		imp = "customers"
	}
	return invalid("begin", "%s changed since the last rebuild of the %s index (%s): run a rebuild (starter run %s --mode rebuild); "+
		"until then updates refuse to mix documents of both configurations", "the webshops", st.Entity, strings.Join(changes, "; "), imp)
}

// partition plans a partitioned rebuild or audit: how many partitions to read at once, and the
// partitions of the entity's roots stamped up to until (zero: all) as the ERP gives them
// (erp.Partitioner), a multiple of that many (erp.PartitionPlan). It reports whether a plan
// was made; its count of the roots is then res.Expected. An entity of no more roots than one
// partition holds (the company-wide data, a small catalog) has a plan of no partitions and is
// read in one stream: its plan stopped after counting. A source that cannot partition, or
// whose answers to the plan's requests cannot be used (invalid, not found: an answer over the
// size bound, a service that ignores the filter), leaves the rebuild one stream, which copes
// with bad answers page by page; an error that may pass (the ERP down, a rate limit) fails the
// begin, which is retried.
func (a *Import) partition(ctx context.Context, in BeginInput, until time.Time, res *BeginResult) (bool, error) {
	p, ok := a.Source.(erp.Partitioner)
	if !ok {
		return false, nil
	}
	s := a.settings()
	inFlight := s.inFlight(in.Partitions)
	parts, roots, err := p.Partitions(ctx, in.Entity, until, erp.PartitionPlan{Size: s.PartitionSize, Slots: inFlight})
	if k := failure.KindOf(err); k == failure.Invalid || k == failure.NotFound {
		a.log(ctx).Warn("cannot partition the run: reading in one stream", zap.String("entity", string(in.Entity)), zap.Error(err))
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("partition %s: %w", in.Entity, err)
	}
	res.Expected = roots
	if len(parts) < 2 {
		return true, nil // one stream reads it as fast
	}
	// In the order the plan has them begin on their slots (erp.Partition.Start), largest first
	// where they begin together: the workflow starts them in this order, each on the first
	// slot that is free, which is how the plan balanced them (erp.PartitionPlan.Shares).
	slices.SortStableFunc(parts, func(a, b erp.Partition) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(b.Expected, a.Expected))
	})
	res.Partitions, res.InFlight = parts, inFlight
	if s.ERPRequests > 0 {
		res.Width = max(s.ERPRequests/inFlight, 1)
	}
	a.log(ctx).Info("run partitioned", zap.String("entity", string(in.Entity)), zap.String("mode", string(in.Mode)), zap.Int("partitions", len(parts)),
		zap.Int("in_flight", res.InFlight), zap.Int("expected", res.Expected))
	return true, nil
}

// collectionWatermarks returns the watermark of every collection of st's entity: its own where
// the state has one, the entity's watermark for a state saved before collections had their own
// (the roots' stamps then covered every collection), and the beginning for a collection added
// to the model since.
func collectionWatermarks(st search.State) map[string]erp.Cursor {
	out := map[string]erp.Cursor{}
	m, ok := erp.Model(st.Entity)
	if !ok {
		return out
	}
	for _, coll := range m.Collections() {
		switch c, ok := st.Collections[coll]; {
		case ok:
			out[coll] = c
		case st.Collections == nil:
			out[coll] = st.Watermark
		default:
			out[coll] = erp.Cursor{}
		}
	}
	return out
}

// rewind returns the position overlap before c, at the start of that instant (so every record
// stamped from then on is read again); the zero cursor stays the beginning.
func rewind(c erp.Cursor, overlap time.Duration) erp.Cursor {
	if c.IsZero() {
		return erp.Cursor{}
	}
	return erp.Cursor{Modified: c.Modified.Add(-overlap).Add(-time.Microsecond)}
}

// chunkHeartbeat is what SyncChunk and ApplyDeletions heartbeat after every acknowledged page,
// and resume from on a retry.
type chunkHeartbeat struct {
	Cursor erp.Cursor `json:"cursor"`
	Counts Counts     `json:"counts"`
}

// SyncChunk reads up to ChunkPages pages (or ChunkDuration) of changed roots after in.After,
// writes their documents and heartbeats the cursor of the last page Elasticsearch acknowledged,
// after each page and on a ticker in between (see heartbeat).
// The next page is fetched while the current one is written. A retried attempt resumes from
// the last heartbeated cursor, so at most the pages since that heartbeat are written twice.
func (a *Import) SyncChunk(ctx context.Context, in ChunkInput) (ChunkResult, error) {
	start := time.Now()
	res, err := a.syncChunk(ctx, in)
	if a.Metrics != nil {
		a.Metrics.Chunk(string(in.Entity), time.Since(start))
	}
	return res, temporalError(err)
}

// record passes a page's counts to the metrics.
func (a *Import) record(e erp.Entity, c Counts) {
	if a.Metrics == nil {
		return
	}
	for outcome, n := range map[string]int{"read": c.Read, "indexed": c.Indexed, "stale": c.Stale, "deleted": c.Deleted,
		"dead_lettered": c.DeadLettered, "rejected": c.Rejected} {
		a.Metrics.Records(string(e), outcome, n)
	}
}

func (a *Import) syncChunk(ctx context.Context, in ChunkInput) (ChunkResult, error) {
	s := a.settings()
	maxPages, maxDur := in.MaxPages, in.MaxDuration
	if maxPages == 0 {
		maxPages = s.ChunkPages
	}
	if maxDur == 0 {
		maxDur = s.ChunkDuration
	}
	maxDur = stagger(maxDur, in.Partition != nil)
	res := ChunkResult{Next: in.After}
	// A retried attempt resumes from its last heartbeat. The attempt before it may have written
	// pages after that (those it had in flight and those acknowledged since the heartbeat the
	// server has): their documents the index holds already, built from the same ERP rows (the
	// digest), are not sent again.
	resumed := false
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var hb chunkHeartbeat
		if err := activity.GetHeartbeatDetails(ctx, &hb); err == nil {
			res.Next, res.Counts, resumed = hb.Cursor, hb.Counts, true
			a.log(ctx).Info("chunk resumes from its last heartbeat", zap.Stringer("cursor", hb.Cursor), zap.Int("pages_done", hb.Counts.Pages))
		}
	}
	targets, err := a.targets(ctx, in.Entity, in.Target)
	if err != nil {
		return res, err
	}
	hb := startHeartbeat(ctx, chunkHeartbeat{Cursor: res.Next, Counts: res.Counts})
	defer hb.stop()
	// An update (into the alias) writes only what changed; a rebuild fills an empty generation,
	// except where a retry resumes it: the pages after its last heartbeat may be there already.
	update := in.Target == a.Index.Alias(in.Entity)

	// Pages are read one ahead of the writer, at the size sz says when each read begins, and
	// written writeDepth at a time: the next page's bulk request goes out while Elasticsearch
	// still acknowledges the one before, so it does not wait between pages. Their outcomes are
	// taken in page order and the heartbeat's cursor moves only past pages acknowledged in
	// order: a crash never skips a page, and a retry writes again at most the pages in flight
	// and those since the last heartbeat.
	//
	// A page that fails as a whole (see readFault, writeFault) is read again at half the size,
	// down to one root, which is then stepped past (stepPast); the writes of later pages in
	// flight are waited for, and those pages read again. The size stays small until the reads
	// are past the roots where the failure lies (window), then it is the full size again.
	//
	// The read ahead goes on from one chunk to the next of the same stream on this worker
	// (handoff.go): a chunk takes the read ahead the chunk before it handed on, unless it
	// resumes from a heartbeat, and hands its own on when it ends cleanly before the stream.
	//
	// A rebuild's chunk that does not resume reads only the roots that meet the entity's
	// condition (erp.ReadRequest.Matching): its generation holds none of the others. The line
	// discounts' rebuild read every line of the ERP's trade agreements to keep the few of
	// groups and all items: 21,500 rows and 13 MB of the benchmark's catalog for 70 documents.
	from := func(after erp.Cursor) erp.ReadRequest {
		return erp.ReadRequest{After: after, Until: in.Until, Partition: in.Partition, Matching: !update && !resumed, Width: in.Width}
	}
	pages, sz := a.handoffs.take(streamKey(in, res.Next))
	if resumed || pages == nil {
		if pages != nil {
			pages.stop() // a resumed chunk reads what its dead attempt may not have written
		}
		sz = &pageSize{}
		sz.set(s.PageSize)
		// A rebuild's stream starts with small pages (rampStart, of a size drawn for each
		// stream), so that Elasticsearch gets its first documents while the full pages are read:
		// with every partition reading its first full page at once, it sat idle for the first
		// seconds. A partition begun while others keep it busy (Steady) reads full pages at
		// once: at 150 ms a request, small pages cost as many requests as full ones, and its
		// stream would take half as long again.
		ramp := 0
		if !update && !in.Steady {
			draw := a.draw
			if draw == nil {
				draw = rand.Float64
			}
			ramp = rampStart(s.PageSize, draw())
		}
		pages = a.startPager(ctx, in.Entity, from(res.Next), sz, ramp)
	}
	window := 0
	var writes pageWrites
	// handOn is set when the chunk ends cleanly before its stream does: its read ahead is
	// handed on to the next chunk. Otherwise wait for the writes, then stop the read ahead and
	// wait for it: no Elasticsearch or ERP request outlives the activity.
	handOn := false
	defer func() {
		writes.drop()
		if handOn && ctx.Err() == nil {
			a.handoffs.put(streamKey(in, res.Next), pages, sz)
			return
		}
		pages.stop()
	}()
	deadline := a.now().Add(maxDur)
	n, reading := 0, true
	// settle counts a page that went through (or was stepped past) and heartbeats its cursor.
	settle := func(p page, c Counts) {
		if window > 0 {
			// A page inside the window read fine: the failure lies in the rest of it.
			if window -= p.size; window <= 0 {
				window = 0
				sz.set(s.PageSize)
			} else {
				sz.set(min(sz.get(), window))
			}
		}
		n++
		res.Next, res.Done = p.next, p.done
		res.Counts = res.Counts.Add(c)
		a.record(in.Entity, c)
		hb.set(chunkHeartbeat{Cursor: res.Next, Counts: res.Counts})
		reading = reading && !res.Done && !a.now().After(deadline)
	}
	for {
		// failed is the error of a page that failed as a whole, and the page when it was read
		// and its write failed.
		var failed struct {
			err     error
			written *page
		}
		// write takes the oldest write's outcome: false when it failed as a whole, which is
		// then failed (later writes are dropped); an error that is not about the page ends the
		// chunk.
		write := func() (bool, error) {
			w := writes.next()
			if w.err == nil {
				settle(w.page, w.counts)
				return true, nil
			}
			if !writeFault(w.err) {
				return false, w.err
			}
			writes.drop()
			failed.err, failed.written = w.err, &w.page
			return false, nil
		}
		switch {
		case reading && writes.len() < writeDepth && n+writes.len() < maxPages:
			f, ok := pages.next(ctx)
			if !ok {
				return res, ctx.Err()
			}
			if f.err == nil {
				if !update && !resumed {
					// A rebuild's generation holds only what this run wrote: no content to
					// compare a document with, and no document of a row that left the entity or
					// that no webshop takes. An update run writing to it meanwhile read such a
					// row as the rebuild does, unless it changed after the rebuild's bound, which
					// the next update run reads. Looking them up cost Elasticsearch a realtime get
					// per row: 21,500 a rebuild of the benchmark's catalog (its line discounts).
					f.page.built, f.page.gone = nil, nil
				}
				writes.submit(f.page, func(p page) (Counts, error) { return a.writePage(ctx, in.Entity, targets, p) })
				reading = !f.page.done
				continue
			}
			// The read failed: the pages before it come first.
			failed.err = f.err
			for writes.len() > 0 {
				if ok, err := write(); err != nil {
					return res, err
				} else if !ok {
					break
				}
			}
			if failed.written == nil && !readFault(f.err) {
				return res, f.err
			}
		case writes.len() > 0:
			if ok, err := write(); err != nil {
				return res, err
			} else if ok {
				continue
			}
		default:
			// Every page read is written: the read ahead begins at res.Next.
			handOn = !res.Done && window == 0 && !pages.stopped.Load()
			return res, nil
		}

		// The page after res.Next failed as a whole, and no write is in flight.
		pages.stop()
		reading = true
		if size := sz.get(); size > 1 {
			window = size
			sz.set(size / 2)
			a.log(ctx).Warn("a page fails as a whole: reading it again in smaller pages", zap.Stringer("after", res.Next),
				zap.Int("page_size", size/2), zap.Error(failed.err))
			pages = a.startPager(ctx, in.Entity, from(res.Next), sz, 0)
			continue
		}
		step, err := a.stepPast(ctx, in.Entity, targets, from(res.Next), failed.err, failed.written)
		if err != nil {
			return res, err
		}
		window = 0
		sz.set(s.PageSize)
		settle(page{next: step.next, done: step.done}, step.counts)
		if reading {
			pages = a.startPager(ctx, in.Entity, from(step.next), sz, 0)
		}
	}
}

// targets are where an entity's writes go: the given target, and a generation a rebuild is
// filling, so that changes an update run reads during a rebuild survive the swap. A rebuild
// that is no longer live is abandoned here (see rebuild.go).
func (a *Import) targets(ctx context.Context, e erp.Entity, target string) ([]string, error) {
	if target != a.Index.Alias(e) {
		return []string{target}, nil
	}
	st, err := a.Index.LoadState(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("load state of %s: %w", e, err)
	}
	if st.Rebuilding == "" || st.Rebuilding == target {
		return []string{target}, nil
	}
	if !a.rebuildLive(ctx, st) {
		if err := a.abandon(ctx, e, st.Rebuilding, "its run "+st.RebuildRun+" is no longer running"); err != nil {
			return nil, err
		}
		return []string{target}, nil
	}
	return []string{target, st.Rebuilding}, nil
}

func (a *Import) writePage(ctx context.Context, e erp.Entity, targets []string, p page) (Counts, error) {
	c := Counts{Pages: 1, Read: p.read, Rejected: len(p.rejected), Requests: p.requests, Bytes: p.bytes, Excluded: p.excluded}
	if len(p.rejected) > 0 {
		if err := a.Index.DeadLetterRejections(ctx, p.rejected); err != nil {
			return c, fmt.Errorf("dead-letter rejected %s: %w", e, err)
		}
		c.DeadLettered += len(p.rejected)
	}
	wc, unchanged, err := a.write(ctx, e, targets, p)
	c.Indexed += wc.Indexed
	c.Stale += wc.Stale
	c.Unchanged += unchanged
	c.Deleted += wc.Deleted
	c.DeadLettered += wc.DeadLettered
	return c, err
}

// write writes p's ops to every target and returns the first target's counts and how many of
// its documents were left out as unchanged (a generation a rebuild fills is written too, but not
// counted twice). A generation that no longer exists is abandoned and skipped: the rebuild cannot
// swap it in anyway. With p.built or p.gone, only what changes a target is sent there (see
// changedOps).
func (a *Import) write(ctx context.Context, e erp.Entity, targets []string, p page) (search.Counts, int, error) {
	var counted search.Counts
	unchanged := 0
	for i, t := range targets {
		send, skipped := p.ops, 0
		var err error
		if p.built != nil || len(p.gone) > 0 {
			send, skipped, err = a.changedOps(ctx, t, p)
		}
		var wc search.Counts
		if err == nil {
			wc, err = a.Index.Write(ctx, t, send)
		}
		if i > 0 && failure.KindOf(err) == failure.NotFound {
			if err := a.abandon(ctx, e, t, "its index no longer exists"); err != nil {
				return counted, unchanged, err
			}
			continue
		}
		if err != nil {
			return counted, unchanged, fmt.Errorf("write %s to %s: %w", e, t, err)
		}
		if i == 0 {
			counted, unchanged = wc, skipped
		}
	}
	return counted, unchanged, nil
}

// changedOps returns the ops of p that change target, and how many documents it left out because
// target holds them already: an index op whose document target holds with the same content hash
// (p.built; none when nil) is not sent, and the documents of rows that left the entity (p.gone)
// are deleted where target has them. An ERP add-on stamps a product when its category or its
// group's line discount changes, and child-stamps updates re-read the overlap window: neither
// rewrites a document whose content did not change. With child-stamps the stored document must
// also have been built from the same ERP rows (source digest), since the audit compares those.
func (a *Import) changedOps(ctx context.Context, target string, p page) ([]search.Op, int, error) {
	ids := make([]string, 0, len(p.ops)+len(p.gone))
	for _, o := range p.ops {
		if !o.Delete && p.built != nil {
			ids = append(ids, o.ID)
		}
	}
	for _, g := range p.gone {
		ids = append(ids, g.ID)
	}
	stored, err := a.Index.Stored(ctx, target, ids)
	if err != nil {
		return nil, 0, fmt.Errorf("read content hashes of %s: %w", target, err)
	}
	digests := a.settings().Detection == ChildStamps
	out := make([]search.Op, 0, len(p.ops)+len(p.gone))
	for _, o := range p.ops {
		st, ok := stored[o.ID]
		b, built := p.built[o.ID]
		if ok && built && !o.Delete && st.ContentHash != "" && st.ContentHash == b.hash && (!digests || st.Digest == b.digest) {
			continue
		}
		out = append(out, o)
	}
	unchanged := len(p.ops) - len(out)
	for _, g := range p.gone {
		if _, ok := stored[g.ID]; ok {
			out = append(out, g)
		}
	}
	return out, unchanged, nil
}

// built identifies a document as it was built: its content hash and the digest of the ERP rows it
// was built from.
type built struct{ hash, digest string }

// page is one ERP page turned into index operations.
type page struct {
	ops []search.Op
	// built, when set, identifies the ops' documents by document id: ops whose document the
	// target holds already are not written (see changedOps).
	built map[string]built
	// gone are deletes of the documents of rows that left the entity (erp.Page.Gone), sent only
	// where the target has the document.
	gone []search.Op
	// excluded counts the records of the page no webshop takes (their deletes are among gone).
	excluded int
	rejected []erp.Rejection
	read     int
	requests int
	bytes    int64
	next     erp.Cursor
	done     bool
	// size is the page size it was read with.
	size int
}

// readPage reads one page of e and builds its documents.
func (a *Import) readPage(ctx context.Context, e erp.Entity, req erp.ReadRequest) (page, error) {
	p, err := a.buildPage(ctx, e, req)
	p.size = req.PageSize
	return p, err
}

func (a *Import) buildPage(ctx context.Context, e erp.Entity, req erp.ReadRequest) (page, error) {
	opts, err := a.documentOptions(ctx)
	if err != nil {
		return page{}, err
	}
	readAt := a.readTime()
	p, err := a.Source.Read(ctx, e, req)
	if err != nil {
		return page{}, err
	}
	out := page{read: len(p.Records), rejected: p.Rejected, requests: p.Requests, bytes: p.Bytes, next: p.Next, done: p.Done}
	var rejected []erp.Rejection
	out.ops, out.built, out.gone, rejected = a.indexOps(p.Records, opts, readAt)
	out.excluded = len(out.gone)
	out.rejected = append(out.rejected, rejected...)
	for _, g := range p.Gone {
		out.gone = append(out.gone, search.DeleteOp(document.ID(g.Company, g.Key), a.version(g.At, readAt)))
	}
	return out, nil
}

// indexOps builds the documents of records read at readAt (see readTime) and encodes them
// here, in the reader, so that the writer only sends them (see prefetch); it returns what
// identifies each document by id too. A record whose document cannot be built or encoded (a
// number without a finite double, text JSON cannot carry) is rejected with the reason and the
// record, as the ERP side rejects a record it cannot read: it is dead-lettered and the rest of
// the page goes on. A record no webshop takes (document.Indexed) gets a delete in excluded
// instead, to be sent only where the index holds its document (a page's gone ops).
func (a *Import) indexOps(recs []erp.Record, opts document.Options, readAt time.Time) (ops []search.Op, ids map[string]built, excluded []search.Op, rejected []erp.Rejection) {
	ops = make([]search.Op, 0, len(recs))
	ids = make(map[string]built, len(recs))
	for _, r := range recs {
		id := document.ID(r.Company, r.Key)
		if !document.Indexed(r, opts) {
			excluded = append(excluded, search.DeleteOp(id, a.version(r.Modified, readAt)))
			continue
		}
		body, hash, err := document.Encode(r, opts)
		if err != nil {
			raw, _ := json.Marshal(r.Value)
			rejected = append(rejected, erp.Rejection{Entity: r.Entity, Company: r.Company, Key: r.Key,
				Reason: "cannot index: " + err.Error(), Raw: raw})
			continue
		}
		ops = append(ops, search.IndexJSON(id, a.version(r.Modified, readAt), body))
		ids[id] = built{hash: hash, digest: r.Digest}
	}
	return ops, ids, excluded, rejected
}

// lookupPage reads the roots keys of e with their children (Lookup) and turns them into a page:
// the documents of those the ERP has, at versions of the ERP's time of the read, with their
// digests, and deletes of those it no longer has (stock D365 logs no deletes). modified are the
// roots' own stamps by document id.
func (a *Import) lookupPage(ctx context.Context, e erp.Entity, keys []erp.Ref, opts document.Options) (p page, modified map[string]time.Time, err error) {
	readAt := a.readTime()
	got, err := a.Source.Lookup(ctx, e, keys)
	if err != nil {
		return page{}, nil, fmt.Errorf("read %s by key: %w", e, err)
	}
	ops, ids, excluded, rejected := a.indexOps(got.Records, opts, readAt)
	p = page{ops: ops, built: ids, gone: excluded, excluded: len(excluded), rejected: append(got.Rejected, rejected...), read: len(got.Records),
		requests: got.Requests, bytes: got.Bytes}
	modified = make(map[string]time.Time, len(got.Records))
	for _, r := range got.Records {
		modified[document.ID(r.Company, r.Key)] = r.Modified
	}
	for _, r := range got.Missing {
		p.ops = append(p.ops, search.DeleteOp(document.ID(r.Company, r.Key), document.Version(readAt)))
	}
	return p, modified, nil
}

// readTime is when a read starts, for the versions of what it reads with child-stamps: the
// worker's clock, which orders the reads, not the ERP's: the ERP's clock (which bounds a run)
// may go back, and a version that goes back loses to the one before.
func (a *Import) readTime() time.Time { return a.now().Truncate(time.Microsecond) }

// version is the external version of a document whose root row was stamped modified and that
// was read at readAt: the stamp when the ERP stamps roots on every change (ParentStamps), else
// the time of the read, since a later read has seen at least as much.
func (a *Import) version(modified, readAt time.Time) int64 {
	if a.settings().Detection == ChildStamps {
		return document.Version(readAt)
	}
	return document.Version(modified)
}

// ApplyDeletions applies the ERP's deletion log from in.From up to in.Until to the entities'
// indexes (and a generation a rebuild is filling), deleting with the deletion's time as the
// external version so an older write can never bring a record back.
func (a *Import) ApplyDeletions(ctx context.Context, in DeletionsInput) (DeletionsResult, error) {
	res, err := a.applyDeletions(ctx, in)
	return res, temporalError(err)
}

func (a *Import) applyDeletions(ctx context.Context, in DeletionsInput) (DeletionsResult, error) {
	s := a.settings()
	res := DeletionsResult{Next: in.From}
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var hb chunkHeartbeat
		if err := activity.GetHeartbeatDetails(ctx, &hb); err == nil {
			res.Next, res.Counts = hb.Cursor, hb.Counts
		}
	}
	wanted := make(map[erp.Entity]bool, len(in.Entities))
	for _, e := range in.Entities {
		wanted[e] = true
	}
	hb := startHeartbeat(ctx, chunkHeartbeat{Cursor: res.Next, Counts: res.Counts})
	defer hb.stop()
	for {
		p, err := a.Source.Deletions(ctx, erp.ReadRequest{After: res.Next, Until: in.Until, PageSize: s.PageSize})
		if err != nil {
			return res, fmt.Errorf("read deletion log: %w", err)
		}
		res.Counts.Pages++
		res.Counts.Requests += p.Requests
		res.Counts.Bytes += p.Bytes
		// Log rows the source could not read (a RecordKey that names no key): their record may
		// still be in the index, so someone has to look; they are dead-lettered and counted by
		// each import they may belong to (unreadable entity: every import; one dead letter).
		var rejected []erp.Rejection
		for _, r := range p.Rejected {
			if wanted[r.Entity] || !r.Entity.Valid() {
				rejected = append(rejected, r)
			}
		}
		if len(rejected) > 0 {
			if err := a.Index.DeadLetterRejections(ctx, rejected); err != nil {
				return res, fmt.Errorf("dead-letter rejected deletions: %w", err)
			}
			res.Counts.Rejected += len(rejected)
			res.Counts.DeadLettered += len(rejected)
		}
		byEntity := map[erp.Entity][]search.Op{}
		for _, d := range p.Records {
			if wanted[d.Entity] {
				byEntity[d.Entity] = append(byEntity[d.Entity], search.DeleteOp(document.ID(d.Company, d.Key), document.Version(d.At)))
			}
		}
		for _, e := range in.Entities { // in the caller's order: deterministic
			ops := byEntity[e]
			if len(ops) == 0 {
				continue
			}
			targets, err := a.targets(ctx, e, a.Index.Alias(e))
			if err != nil {
				return res, err
			}
			wc, _, err := a.write(ctx, e, targets, page{ops: ops})
			if err != nil {
				return res, fmt.Errorf("apply deletions: %w", err)
			}
			res.Counts.Deleted += wc.Deleted
			res.Counts.Stale += wc.Stale
		}
		res.Next = p.Next
		hb.set(chunkHeartbeat{Cursor: res.Next, Counts: res.Counts})
		if p.Done {
			return res, nil
		}
	}
}

// Finish ends one entity's run. A rebuild's generation is finished (refresh and replicas
// restored) and swapped in atomically, keeping the previous one. Then the watermark moves to the
// run's upper bound: it never goes back for an update, and a rebuild sets it no lower than what
// update runs committed while they also wrote to the new generation.
func (a *Import) Finish(ctx context.Context, in FinishInput) (FinishResult, error) {
	res, err := a.finish(ctx, in)
	return res, temporalError(err)
}

func (a *Import) finish(ctx context.Context, in FinishInput) (FinishResult, error) {
	var res FinishResult
	if in.Mode == Rebuild {
		st, err := a.Index.LoadState(ctx, in.Entity)
		if err != nil {
			return res, fmt.Errorf("load state of %s: %w", in.Entity, err)
		}
		if st.Rebuilding != in.Target && st.Generation != in.Target {
			// Another run found this rebuild not live, or its index gone, and stopped update
			// runs writing to it: it misses their changes and must not be swapped in.
			return res, failure.E(failure.Invalid, "finish rebuild", fmt.Errorf("generation %s was abandoned (the state names %q): not swapped in; run the rebuild again",
				in.Target, st.Rebuilding))
		}
		if err := a.Index.FinishGeneration(ctx, in.Target); err != nil {
			return res, fmt.Errorf("finish generation %s: %w", in.Target, err)
		}
		prev, err := a.Index.SwapAlias(ctx, in.Entity, in.Target)
		if err != nil {
			return res, fmt.Errorf("swap %s to %s: %w", a.Index.Alias(in.Entity), in.Target, err)
		}
		res.Previous = prev
	}
	until := erp.Cursor{Modified: in.Until}
	shops := a.settings().Document.Webshops
	st, err := a.updateState(ctx, in.Entity, func(st *search.State) error {
		if in.Mode == Rebuild || in.Mode == Update && st.Watermark.IsZero() && st.Generation == "" {
			// The index now holds what these webshops take (checkWebshops).
			st.Webshops = webshop.Fingerprints(shops, in.Entity)
		}
		st.LastRun = search.RunSummary{ID: in.RunID, Mode: string(in.Mode), Outcome: in.Counts.Outcome(), Started: in.Started, Finished: a.now(),
			Read: in.Counts.Read, Indexed: in.Counts.Indexed, Stale: in.Counts.Stale, Deleted: in.Counts.Deleted,
			DeadLettered: in.Counts.DeadLettered, Rejected: in.Counts.Rejected}
		if in.Mode == Audit {
			return nil // an audit moves no watermark
		}
		// Every collection was read up to the run's bound: by its own stamps, or through the
		// roots' stamps that an ERP add-on bumps for every change below them.
		marks := collectionWatermarks(*st)
		st.Collections = map[string]erp.Cursor{}
		for coll, c := range marks {
			if c.Less(until) {
				c = until
			}
			st.Collections[coll] = c
		}
		if st.Watermark.Less(until) {
			st.Watermark = until
		}
		if st.DeletionWatermark.Less(in.Deletions) {
			st.DeletionWatermark = in.Deletions
		}
		if in.Mode == Rebuild {
			if st.DeletionWatermark.Less(until) {
				st.DeletionWatermark = until
			}
			if st.Rebuilding == in.Target {
				st.Rebuilding, st.RebuildRun = "", ""
			}
			st.Generation = in.Target
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Watermark = st.Watermark
	if a.Metrics != nil {
		a.Metrics.Watermark(string(in.Entity), st.Watermark.Modified)
	}
	a.log(ctx).Info("import finished", zap.String("entity", string(in.Entity)), zap.String("mode", string(in.Mode)),
		zap.Stringer("watermark", st.Watermark), zap.Int("read", in.Counts.Read), zap.Int("indexed", in.Counts.Indexed),
		zap.Int("deleted", in.Counts.Deleted), zap.Int("dead_lettered", in.Counts.DeadLettered))
	return res, nil
}

// updateState applies change to e's sync state and saves it, again from a fresh load when
// another run saved in between (update and rebuild runs of one entity may finish together). An
// error of change is returned as it is, and nothing is saved.
func (a *Import) updateState(ctx context.Context, e erp.Entity, change func(*search.State) error) (search.State, error) {
	for attempt := 0; ; attempt++ {
		st, err := a.Index.LoadState(ctx, e)
		if err != nil {
			return st, fmt.Errorf("load state of %s: %w", e, err)
		}
		if err := change(&st); err != nil {
			return st, err
		}
		err = a.Index.SaveState(ctx, st)
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, search.ErrStateConflict) || attempt >= 10 {
			return st, fmt.Errorf("save state of %s: %w", e, err)
		}
	}
}

// Abandon ends a rebuild that will not finish: update runs stop writing to its generation. The
// generation itself stays (Elasticsearch keeps it until the next rebuild's swap deletes older
// generations), so nothing the live alias serves is touched.
func (a *Import) Abandon(ctx context.Context, in AbandonInput) error {
	return temporalError(a.abandon(ctx, in.Entity, in.Target, "the rebuild was cancelled or failed"))
}

func invalid(op, format string, args ...any) error {
	return failure.E(failure.Invalid, op, fmt.Errorf(format, args...))
}
