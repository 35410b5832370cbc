package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
	"github.com/erpsync/erpsync/search"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// fakeSource serves n products, one per microsecond, in change order. A chunk's read ahead may
// still read it after the chunk returned (handoff.go): tests that change it after a chunk hold
// mu (set).
type fakeSource struct {
	erp.Source
	mu    sync.Mutex
	n     int
	reads int
	fail  error
	// edit, when set, changes product i before it is served.
	edit func(i int, p *erp.Product)
	// failPage, when set, fails a page that holds product i when it returns an error: a
	// page the ERP always answers 500, or whose root cannot be read.
	failPage func(i int) error
	skips    int
	// sizes are the page sizes asked for, in order, and matching how many reads asked for the
	// matching roots alone (erp.ReadRequest.Matching).
	sizes    []int
	matching int
	// widths are the bounds of requests in flight asked for (erp.ReadRequest.Width), in order.
	widths []int
}

// smallest is the smallest page size asked for (0 before the first read).
func (f *fakeSource) smallest() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sizes) == 0 {
		return 0
	}
	return slices.Min(f.sizes)
}

// Skip steps past the first product after r.After (erp.Skipper).
func (f *fakeSource) Skip(_ context.Context, _ erp.Entity, r erp.ReadRequest, reason string) (erp.Rejection, erp.Cursor, bool, bool, error) {
	f.skips++
	for i := 0; i < f.n; i++ {
		c := erp.Cursor{Modified: t0.Add(time.Duration(i) * time.Microsecond), Company: "usmf", Key: fmt.Sprintf("%04d", i)}
		if r.After.Less(c) && inPartition(r.Partition, c) {
			return erp.Rejection{Entity: erp.Products, Company: c.Company, Key: c.Key, Reason: reason, Raw: []byte(`{"ItemNumber":"` + c.Key + `"}`)},
				c, i == f.n-1, true, nil
		}
	}
	return erp.Rejection{}, r.After, true, false, nil
}

// set changes f while no read is under way.
func (f *fakeSource) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func (f *fakeSource) Read(_ context.Context, e erp.Entity, r erp.ReadRequest) (erp.Page[erp.Record], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	f.sizes = append(f.sizes, r.PageSize)
	f.widths = append(f.widths, r.Width)
	if r.Matching {
		f.matching++
	}
	if f.fail != nil {
		return erp.Page[erp.Record]{}, f.fail
	}
	if e != erp.Products {
		return erp.Page[erp.Record]{}, fmt.Errorf("fakeSource serves products, not %s", e)
	}
	var p erp.Page[erp.Record]
	for i := 0; i < f.n && len(p.Records) < r.PageSize; i++ {
		rec := erp.Product{Company: "usmf", ItemNumber: fmt.Sprintf("%04d", i), Modified: t0.Add(time.Duration(i) * time.Microsecond)}
		if f.edit != nil {
			f.edit(i, &rec)
		}
		c := erp.Cursor{Modified: rec.Modified, Company: rec.Company, Key: rec.ItemNumber}
		if !r.After.Less(c) || !inPartition(r.Partition, c) {
			continue
		}
		if f.failPage != nil {
			if err := f.failPage(i); err != nil {
				return erp.Page[erp.Record]{}, err
			}
		}
		p.Records = append(p.Records, erp.Record{Ref: erp.Ref{Entity: e, Company: rec.Company, Key: rec.ItemNumber}, Modified: rec.Modified,
			Digest: "rows of " + rec.ItemNumber + " " + rec.Name, Value: rec})
		p.Next = c
	}
	p.Done = len(p.Records) < r.PageSize
	if len(p.Records) == 0 {
		p.Next = r.After
	}
	p.Requests = 1
	return p, nil
}

// inPartition reports whether the root at c belongs to partition p (nil: every root).
func inPartition(p *erp.Partition, c erp.Cursor) bool {
	return p == nil || (c.Company == p.Company && (p.After == "" || c.Key > p.After) && (p.Through == "" || c.Key <= p.Through))
}

// Partitions splits the products into partitions of plan.Size (erp.Partitioner), none when
// they fit one; it does not share them out to fill plan.Slots as the d365 client does.
func (f *fakeSource) Partitions(_ context.Context, _ erp.Entity, _ time.Time, plan erp.PartitionPlan) ([]erp.Partition, int, error) {
	size := plan.Size
	if f.n <= size {
		return nil, f.n, nil
	}
	var out []erp.Partition
	for lo := 0; lo < f.n; lo += size {
		p := erp.Partition{Company: "usmf", Expected: min(size, f.n-lo)}
		if lo > 0 {
			p.After = fmt.Sprintf("%04d", lo-1)
		}
		if lo+size < f.n {
			p.Through = fmt.Sprintf("%04d", lo+size-1)
		}
		out = append(out, p)
	}
	return out, f.n, nil
}

// fakeIndex records writes per target and keeps one state per entity.
type fakeIndex struct {
	// fail, when set, fails a write that holds document id when it returns an error.
	fail func(id string) error
	// missing are indexes that do not exist: writes to them fail as not found.
	missing     map[string]bool
	generations int
	// lookups counts the ids Stored was asked for.
	lookups int

	mu      sync.Mutex
	bodies  map[string]map[string]any // target -> id -> body
	written map[string][]string
	state   map[erp.Entity]search.State
	swapped string
	// onSave, when set, sees every state saved.
	onSave func(search.State)
	// rejected are the dead-lettered rejections.
	rejected []erp.Rejection
}

func newFakeIndex() *fakeIndex {
	return &fakeIndex{written: map[string][]string{}, state: map[erp.Entity]search.State{}, bodies: map[string]map[string]any{}}
}

func (f *fakeIndex) Alias(e erp.Entity) string { return "erpsync-" + string(e) }
func (f *fakeIndex) CreateGeneration(_ context.Context, e erp.Entity) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.generations++
	return fmt.Sprintf("erpsync-%s-gen%d", e, f.generations+1), nil
}
func (f *fakeIndex) FinishGeneration(context.Context, string) error { return nil }
func (f *fakeIndex) SwapAlias(_ context.Context, _ erp.Entity, index string) (string, error) {
	f.swapped = index
	return "erpsync-products-gen1", nil
}
func (f *fakeIndex) Write(_ context.Context, target string, ops []search.Op) (search.Counts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var c search.Counts
	if f.missing[target] {
		return c, failure.E(failure.NotFound, "write "+target, errors.New("index_not_found_exception"))
	}
	for _, op := range ops {
		if f.fail != nil {
			if err := f.fail(op.ID); err != nil {
				return c, err
			}
		}
	}
	for _, op := range ops {
		f.written[target] = append(f.written[target], op.ID)
		if f.bodies[target] == nil {
			f.bodies[target] = map[string]any{}
		}
		if op.Delete {
			delete(f.bodies[target], op.ID)
			c.Deleted++
		} else {
			f.bodies[target][op.ID] = op.Body
			c.Indexed++
		}
	}
	return c, nil
}
func (f *fakeIndex) DeadLetterRejections(_ context.Context, rs []erp.Rejection) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejected = append(f.rejected, rs...)
	return nil
}
func (f *fakeIndex) LoadState(_ context.Context, e erp.Entity) (search.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.state[e]
	st.Entity = e
	return st, nil
}
func (f *fakeIndex) SaveState(_ context.Context, s search.State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[s.Entity] = s
	if f.onSave != nil {
		f.onSave(s)
	}
	return nil
}
func (f *fakeIndex) IDs(context.Context, string, string, int) ([]string, error)  { return nil, nil }
func (f *fakeIndex) Refresh(context.Context, string) error                       { return nil }
func (f *fakeIndex) Holding(context.Context, string, erp.Held) ([]string, error) { return nil, nil }
func (f *fakeIndex) Stored(_ context.Context, target string, ids []string) (map[string]search.Stored, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups += len(ids)
	out := map[string]search.Stored{}
	for _, id := range ids {
		if b, ok := f.bodies[target][id].(json.RawMessage); ok {
			var env document.Envelope
			if err := json.Unmarshal(b, &env); err != nil {
				return nil, err
			}
			out[id] = search.Stored{Digest: env.SourceDigest, ContentHash: env.ContentHash}
		}
	}
	return out, nil
}

func TestSyncChunkStopsAtMaxPagesAndContinuesExactly(t *testing.T) {
	src, ix := &fakeSource{n: 95}, newFakeIndex()
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 10}}
	in := ChunkInput{Entity: erp.Products, Target: "erpsync-products", MaxPages: 4, MaxDuration: time.Hour}
	var all []string
	chunks := 0
	for {
		res, err := a.SyncChunk(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		all = ix.written["erpsync-products"]
		if res.Done {
			break
		}
		if res.Counts.Pages != 4 {
			t.Fatalf("chunk %d did %d pages, want 4", chunks, res.Counts.Pages)
		}
		in.After = res.Next
	}
	if chunks != 3 || len(all) != 95 {
		t.Fatalf("%d chunks wrote %d documents, want 3 chunks and 95 documents", chunks, len(all))
	}
	seen := map[string]bool{}
	for _, id := range all {
		if seen[id] {
			t.Fatalf("%s written twice", id)
		}
		seen[id] = true
	}
}

func TestUpdateWritesAlsoToTheGenerationARebuildFills(t *testing.T) {
	src, ix := &fakeSource{n: 5}, newFakeIndex()
	ix.state[erp.Products] = search.State{Rebuilding: "erpsync-products-gen2"}
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 10}}
	res, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: "erpsync-products"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.written["erpsync-products"]) != 5 || len(ix.written["erpsync-products-gen2"]) != 5 {
		t.Fatalf("written %v", ix.written)
	}
	if res.Counts.Indexed != 5 {
		t.Fatalf("counted %d indexed, want 5 (the second target is not counted twice)", res.Counts.Indexed)
	}
}

func TestPermanentERPErrorIsNotRetried(t *testing.T) {
	src := &fakeSource{n: 5, fail: failure.E(failure.Unauthorized, "token", errors.New("invalid_client"))}
	a := &Import{Source: src, Index: newFakeIndex()}
	_, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: "erpsync-products"})
	if err == nil || !isNonRetryable(err) {
		t.Fatalf("want a non-retryable error, got %v", err)
	}
}

func TestBeginAndFinish(t *testing.T) {
	ix := newFakeIndex()
	now := t0.Add(time.Hour)
	a := &Import{Source: &fakeSource{}, Index: ix, Now: func() time.Time { return now },
		Settings: Settings{SafetyLag: 30 * time.Second, Overlap: 5 * time.Minute}}
	ctx := context.Background()

	// A first update reads everything into the alias, up to now minus the safety lag.
	b, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Update})
	if err != nil {
		t.Fatal(err)
	}
	if b.Target != "erpsync-products" || !b.From.IsZero() || !b.Until.Equal(now.Add(-30*time.Second)) {
		t.Fatalf("first update begins %+v", b)
	}
	if _, err := a.Finish(ctx, FinishInput{Entity: erp.Products, Mode: Update, Until: b.Until}); err != nil {
		t.Fatal(err)
	}
	// The next one starts the overlap window before the watermark.
	now = now.Add(time.Hour)
	b2, _ := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Update})
	if want := b.Until.Add(-5*time.Minute - time.Microsecond); !b2.From.Modified.Equal(want) {
		t.Fatalf("second update reads from %s, want %s", b2.From, want)
	}

	// A rebuild names its generation in the state, and finishing it swaps and clears it; the
	// watermark never goes back.
	r, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Rebuild})
	if err != nil {
		t.Fatal(err)
	}
	if ix.state[erp.Products].Rebuilding != r.Target {
		t.Fatalf("state %+v does not name the rebuilding generation %s", ix.state[erp.Products], r.Target)
	}
	if _, err := a.Finish(ctx, FinishInput{Entity: erp.Products, Mode: Update, Until: b2.Until}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Finish(ctx, FinishInput{Entity: erp.Products, Mode: Rebuild, Target: r.Target, Until: b.Until}); err != nil {
		t.Fatal(err)
	}
	st := ix.state[erp.Products]
	if ix.swapped != r.Target || st.Rebuilding != "" || st.Generation != r.Target {
		t.Fatalf("after the rebuild: swapped %q, state %+v", ix.swapped, st)
	}
	if !st.Watermark.Modified.Equal(b2.Until) {
		t.Fatalf("watermark %s, want it kept at the later update's %s", st.Watermark, b2.Until)
	}
}

// germanSource is a source whose only company speaks German.
type germanSource struct {
	fakeSource
	asked int
}

func (g *germanSource) CompanyLanguages(context.Context) (map[string]string, error) {
	g.asked++
	return map[string]string{"usmf": "de"}, nil
}

func TestCompanyLanguagesComeFromTheERPOnce(t *testing.T) {
	src, ix := &germanSource{fakeSource: fakeSource{n: 30}}, newFakeIndex()
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 10}}
	for i := 0; i < 2; i++ {
		if _, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: "erpsync-products"}); err != nil {
			t.Fatal(err)
		}
	}
	var d document.Product
	b, ok := ix.bodies["erpsync-products"]["usmf:0000"].(json.RawMessage)
	if !ok || json.Unmarshal(b, &d) != nil || d.Language != "de" {
		t.Fatalf("document %s: want the company's own texts labelled de", b)
	}
	if src.asked != 1 {
		t.Fatalf("asked the ERP %d times, want once per process", src.asked)
	}
}

func TestAbandonStopsTheDualWrite(t *testing.T) {
	ix := newFakeIndex()
	ix.state[erp.Products] = search.State{Rebuilding: "erpsync-products-gen2"}
	a := &Import{Source: &fakeSource{n: 3}, Index: ix, Settings: Settings{PageSize: 10}}
	if err := a.Abandon(context.Background(), AbandonInput{Entity: erp.Products, Target: "erpsync-products-gen2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: "erpsync-products"}); err != nil {
		t.Fatal(err)
	}
	if len(ix.written["erpsync-products-gen2"]) != 0 {
		t.Fatalf("an abandoned generation still got %d writes", len(ix.written["erpsync-products-gen2"]))
	}
}

// renamedSource is fakeSource with its products renamed from the n-th on, every product stamped
// anew (as an ERP add-on stamps the products of a category that changed), and rows that left the
// entity.
type renamedSource struct {
	fakeSource
	from  int
	stamp time.Duration
	gone  []erp.Deletion
}

func (r *renamedSource) Read(ctx context.Context, e erp.Entity, req erp.ReadRequest) (erp.Page[erp.Record], error) {
	p, err := r.fakeSource.Read(ctx, e, req)
	for i := range p.Records {
		v := p.Records[i].Value.(erp.Product)
		v.Modified = v.Modified.Add(r.stamp)
		if n, _ := strconv.Atoi(v.ItemNumber); n >= r.from {
			v.Name = "renamed"
		}
		p.Records[i].Value, p.Records[i].Modified = v, v.Modified
	}
	p.Gone = r.gone
	return p, err
}

// TestUpdateWritesOnlyChangedContent: an update run that re-reads products whose documents would
// not change (an ERP add-on stamped them all) writes only those that did change, and deletes the
// documents of rows that left the entity where the index has them; a rebuild writes everything.
func TestUpdateWritesOnlyChangedContent(t *testing.T) {
	src, ix := &renamedSource{fakeSource: fakeSource{n: 8}, from: 99}, newFakeIndex()
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 10}}
	alias := ix.Alias(erp.Products)
	if _, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: alias}); err != nil {
		t.Fatal(err)
	}
	ix.written = map[string][]string{}
	src.from, src.stamp = 6, time.Hour
	src.gone = []erp.Deletion{{Entity: erp.Products, Company: "usmf", Key: "0003", At: t0.Add(time.Hour)}, {Entity: erp.Products, Company: "usmf", Key: "none", At: t0.Add(time.Hour)}}
	res, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: alias})
	if err != nil {
		t.Fatal(err)
	}
	if got := ix.written[alias]; !slices.Equal(got, []string{"usmf:0006", "usmf:0007", "usmf:0003"}) {
		t.Errorf("update wrote %v, want the two renamed products and the delete of the row that left", got)
	}
	if c := res.Counts; c.Read != 8 || c.Indexed != 2 || c.Unchanged != 6 || c.Deleted != 1 {
		t.Errorf("update counts %+v: want 8 read, 2 indexed, 6 unchanged, 1 deleted", c)
	}
	res, err = a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: "erpsync-products-gen2"})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Counts; c.Indexed != 8 || c.Unchanged != 0 {
		t.Errorf("rebuild counts %+v: want every document written", c)
	}
}

// TestRebuildBoundIsTakenAfterItsGenerationIsRecorded: a rebuild's upper bound is taken after the
// sync state names the generation it fills. An update run that began before and so writes to the
// alias only reads changes up to its own bound, which is then before the rebuild's: the rebuild
// reads them too, and nothing an update wrote is lost at the swap.
func TestRebuildBoundIsTakenAfterItsGenerationIsRecorded(t *testing.T) {
	ix := newFakeIndex()
	clock := t0
	a := &Import{Source: &fakeSource{}, Index: ix, Settings: Settings{SafetyLag: time.Second},
		Now: func() time.Time { clock = clock.Add(time.Second); return clock }}
	var recorded time.Time
	ix.onSave = func(st search.State) {
		if st.Rebuilding != "" {
			recorded = clock
		}
	}
	res, err := a.Begin(context.Background(), BeginInput{Entity: erp.Products, Mode: Rebuild})
	if err != nil {
		t.Fatal(err)
	}
	if recorded.IsZero() || !res.Until.Add(time.Second).After(recorded) {
		t.Errorf("the rebuild's bound %v (plus the lag) is not after the generation was recorded at %v", res.Until, recorded)
	}
}

// TestARecordWithoutADocumentIsDeadLettered: a product whose price has no finite double (the
// ERP accepted a SalesPrice of 1e100000) is dead-lettered with the reason and the record; the
// rest of its page is indexed and the chunk goes on. It used to fail the chunk as invalid, and
// every later run stopped at the same cursor.
func TestARecordWithoutADocumentIsDeadLettered(t *testing.T) {
	huge := erp.Decimal("1" + strings.Repeat("0", 100000))
	src := &fakeSource{n: 25, edit: func(i int, p *erp.Product) {
		if i == 12 {
			p.SalesPrice = huge
		}
	}}
	ix := newFakeIndex()
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 10}}
	res, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: "erpsync-products"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || res.Counts.Read != 25 || res.Counts.Indexed != 24 || res.Counts.Rejected != 1 || res.Counts.DeadLettered != 1 {
		t.Fatalf("result %+v: want 25 read, 24 indexed, 1 rejected and dead-lettered", res)
	}
	if len(ix.written["erpsync-products"]) != 24 || len(ix.rejected) != 1 {
		t.Fatalf("%d written, dead letters %v", len(ix.written["erpsync-products"]), ix.rejected)
	}
	r := ix.rejected[0]
	if r.Entity != erp.Products || r.Company != "usmf" || r.Key != "0012" || !strings.Contains(r.Reason, "SalesPrice") ||
		!strings.Contains(r.Reason, "beyond the range of a double") || !strings.Contains(string(r.Raw), `"sales_price":"1000000000`) {
		t.Fatalf("dead letter %+v (raw %d bytes), want usmf/0012 with the reason and the record", r.Reason, len(r.Raw))
	}
}

// logSource serves one page of the deletion log: a deletion of a product, and a log row the
// source rejected (its RecordKey names no key).
type logSource struct{ fakeSource }

func (*logSource) Deletions(_ context.Context, r erp.ReadRequest) (erp.Page[erp.Deletion], error) {
	return erp.Page[erp.Deletion]{
		Records:  []erp.Deletion{{Entity: erp.Products, Company: "usmf", Key: "0001", At: t0}},
		Rejected: []erp.Rejection{{Entity: erp.Products, Company: "usmf", Key: "ItemNumber='1',LanguageId='de'", Reason: "deletion log row RecId 7: RecordKey: does not name one key field", Raw: []byte(`{"RecId":7}`)}},
		Next:     erp.Cursor{Modified: t0, Key: "00000000000000000007"}, Done: true, Requests: 1,
	}, nil
}

// TestRejectedDeletionRowsAreDeadLettered: a deletion-log row the connector cannot read is
// dead-lettered and counted (its record may still be searchable, so someone has to look); it
// was dropped silently while the cursor moved past it.
func TestRejectedDeletionRowsAreDeadLettered(t *testing.T) {
	ix := newFakeIndex()
	a := &Import{Source: &logSource{}, Index: ix}
	res, err := a.ApplyDeletions(context.Background(), DeletionsInput{Entities: []erp.Entity{erp.Products}, Until: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Deleted != 1 || res.Counts.Rejected != 1 || res.Counts.DeadLettered != 1 {
		t.Fatalf("counts %+v: want 1 deleted, 1 rejected and dead-lettered", res.Counts)
	}
	if len(ix.rejected) != 1 || !strings.Contains(ix.rejected[0].Reason, "RecId 7") {
		t.Fatalf("dead letters %+v", ix.rejected)
	}
	// The customers' import reads the same log: a product's row is not its dead letter.
	ix2 := newFakeIndex()
	a = &Import{Source: &logSource{}, Index: ix2}
	res, err = a.ApplyDeletions(context.Background(), DeletionsInput{Entities: []erp.Entity{erp.Customers}, Until: t0.Add(time.Hour)})
	if err != nil || res.Counts.Rejected != 0 || len(ix2.rejected) != 0 {
		t.Fatalf("customers: %+v %v, dead letters %+v", res.Counts, err, ix2.rejected)
	}
}

// TestAPageThatAlwaysFailsIsSplitDownToItsPoisonRoot: a page the ERP always answers 500 while
// it holds product 37 (or a root it cannot read), and a page Elasticsearch refuses as a whole
// while it holds document 61, are read again in halves down to the one root, which is
// dead-lettered with the reason and stepped past; every other product is indexed once and the
// chunk ends. The chunk used to fail at the same cursor on every retry.
func TestAPageThatAlwaysFailsIsSplitDownToItsPoisonRoot(t *testing.T) {
	for _, cause := range []error{
		failure.E(failure.Unavailable, "read ReleasedProductsV2", errors.New("HTTP 500: InternalServerError")),
		failure.E(failure.Invalid, "read ReleasedProductsV2 page", errors.New("root without a readable ModifiedDateTime")),
	} {
		src := &fakeSource{n: 100, failPage: func(i int) error {
			if i == 37 {
				return cause
			}
			return nil
		}}
		ix := newFakeIndex()
		ix.fail = func(id string) error {
			if id == "usmf:0061" {
				return failure.E(failure.Invalid, "bulk write to erpsync-products", errors.New("flush: [413 Request Entity Too Large]"))
			}
			return nil
		}
		a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 16}}
		in := ChunkInput{Entity: erp.Products, Target: "erpsync-products", MaxPages: 100}
		res, err := a.SyncChunk(context.Background(), in)
		if err != nil {
			t.Fatalf("%v: %v", cause, err)
		}
		// The page after one whose write failed was written meanwhile (two writes are in
		// flight), and is written again when it is read again: at most one page of 16 twice
		// for each of the 4 smaller sizes tried.
		written := ix.written["erpsync-products"]
		if !res.Done || res.Counts.Read != 98 || res.Counts.Indexed+res.Counts.Unchanged != 98 || res.Counts.Rejected != 2 || res.Counts.DeadLettered != 2 || len(written) > 98+4*16 {
			t.Fatalf("%v: result %+v, %d written; want 98 indexed (or found unchanged when written again), 2 dead-lettered", cause, res, len(written))
		}
		seen := map[string]bool{}
		for _, id := range written {
			if id == "usmf:0037" || id == "usmf:0061" {
				t.Fatalf("%s written despite its failure", id)
			}
			seen[id] = true
		}
		if len(seen) != 98 {
			t.Fatalf("%v: %d products written, want 98", cause, len(seen))
		}
		if len(ix.rejected) != 2 || ix.rejected[0].Key != "0037" || !strings.Contains(ix.rejected[0].Reason, cause.Error()) ||
			ix.rejected[1].Key != "0061" || !strings.Contains(ix.rejected[1].Reason, "413") || !strings.Contains(string(ix.rejected[1].Raw), `"item_number":"0061"`) {
			t.Fatalf("dead letters %+v", ix.rejected)
		}
		t.Logf("%v: %d ERP reads for 100 products in pages of 16 (%d without failures)", cause, src.reads, 100/16+1)
	}
}

// TestAFailureOfEveryRootIsNotSteppedPast: when every one-root page fails alike (a child
// collection the ERP cannot serve at all), the failure is not about a root: the chunk fails
// with it and nothing is dead-lettered.
func TestAFailureOfEveryRootIsNotSteppedPast(t *testing.T) {
	cause := failure.E(failure.Unavailable, "read ProductBarcodes", errors.New("HTTP 500"))
	src := &fakeSource{n: 100, failPage: func(i int) error {
		if i >= 20 {
			return cause
		}
		return nil
	}}
	ix := newFakeIndex()
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 16}}
	res, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: "erpsync-products", MaxPages: 100})
	if !errors.Is(err, cause) || isNonRetryable(err) {
		t.Fatalf("error %v, want the cause, retryable", err)
	}
	if len(ix.rejected) != 0 || res.Counts.DeadLettered != 0 || res.Next.Key != "0019" {
		t.Fatalf("result %+v, dead letters %+v: want none, the cursor after the last good product", res, ix.rejected)
	}
}

// TestRefusalsAndOutagesAreNotSplit: a refusal of the index, a rate limit or a wrong
// credential fails the chunk at once: no smaller pages, no dead letters, the cursor stays.
func TestRefusalsAndOutagesAreNotSplit(t *testing.T) {
	for _, cause := range []error{
		failure.E(failure.Refused, "write erpsync-products", errors.New("cluster_block_exception")),
		failure.E(failure.Unavailable, "bulk write to erpsync-products", errors.New("connection refused")),
		&failure.Error{Kind: failure.RateLimited, Op: "write", RetryAfter: time.Second},
	} {
		src := &fakeSource{n: 100}
		ix := newFakeIndex()
		ix.fail = func(string) error { return cause }
		a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 16}}
		res, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: "erpsync-products", MaxPages: 100})
		// Not split: no page smaller than the configured one was asked for (how many pages the
		// reader had read ahead when the write failed depends on timing).
		if !errors.Is(err, cause) || len(ix.rejected) != 0 || !res.Next.IsZero() || src.skips != 0 || src.smallest() != 16 {
			t.Fatalf("%v: result %+v, error %v, %d dead letters, smallest page %d, %d skips", cause, res, err, len(ix.rejected), src.smallest(), src.skips)
		}
	}
}

// fakeRuns answers Live from a set of live run ids.
type fakeRuns map[string]bool

func (f fakeRuns) Live(_ context.Context, id string) (bool, error) { return f[id], nil }

// TestARebuildDoesNotBeginWhileAnotherIsLive: a second rebuild of an entity refuses to begin
// while the first is live, leaving its state and generation alone; once the first is no longer
// running, the next rebuild abandons its generation and begins. A retried begin keeps its own
// generation. Two rebuilds used to overwrite each other's Rebuilding.
func TestARebuildDoesNotBeginWhileAnotherIsLive(t *testing.T) {
	ix := newFakeIndex()
	runs := fakeRuns{"rebuild-1/r1": true}
	a := &Import{Source: &fakeSource{}, Index: ix, Runs: runs}
	ctx := context.Background()
	first, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Rebuild, RunID: "rebuild-1/r1"})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Rebuild, RunID: "rebuild-1/r1"}); err != nil || again.Target != first.Target {
		t.Fatalf("a retried begin: %+v %v, want the same generation %s", again, err, first.Target)
	}
	_, err = a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Rebuild, RunID: "rebuild-2/r2"})
	if err == nil || !isNonRetryable(err) || !strings.Contains(err.Error(), "rebuild-1/r1") {
		t.Fatalf("a second rebuild while the first is live: %v, want a refusal naming the first", err)
	}
	if st := ix.state[erp.Products]; st.Rebuilding != first.Target || st.RebuildRun != "rebuild-1/r1" {
		t.Fatalf("the refused rebuild changed the state: %+v", st)
	}
	runs["rebuild-1/r1"] = false // terminated
	second, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Rebuild, RunID: "rebuild-2/r2"})
	if err != nil {
		t.Fatal(err)
	}
	if st := ix.state[erp.Products]; st.Rebuilding != second.Target || st.RebuildRun != "rebuild-2/r2" {
		t.Fatalf("state %+v, want the second rebuild's", st)
	}
	// The first, had it gone on, may not swap in what it filled.
	_, err = a.Finish(ctx, FinishInput{Entity: erp.Products, Mode: Rebuild, Target: first.Target, Until: t0})
	if err == nil || !isNonRetryable(err) || ix.swapped != "" {
		t.Fatalf("finishing an abandoned rebuild: %v, swapped %q; want a refusal", err, ix.swapped)
	}
}

// TestUpdatesAbandonARebuildThatEnded: an update run that finds the rebuild named in the state
// no longer running (terminated) abandons its generation and writes only to the alias; one
// that finds the generation gone ignores and abandons it. A terminated rebuild used to keep
// update runs double-writing, and once its index was deleted every update failed.
func TestUpdatesAbandonARebuildThatEnded(t *testing.T) {
	for _, c := range []struct {
		name    string
		live    bool
		missing bool
	}{{"terminated rebuild", false, false}, {"deleted generation", true, true}} {
		ix := newFakeIndex()
		ix.state[erp.Products] = search.State{Rebuilding: "erpsync-products-gen2", RebuildRun: "rebuild-1/r1"}
		if c.missing {
			ix.fail = nil
			ix.missing = map[string]bool{"erpsync-products-gen2": true}
		}
		a := &Import{Source: &fakeSource{n: 5}, Index: ix, Runs: fakeRuns{"rebuild-1/r1": c.live}, Settings: Settings{PageSize: 10}}
		res, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: "erpsync-products"})
		if err != nil || res.Counts.Indexed != 5 {
			t.Fatalf("%s: %+v %v", c.name, res, err)
		}
		if st := ix.state[erp.Products]; st.Rebuilding != "" || st.RebuildRun != "" || len(ix.written["erpsync-products-gen2"]) != 0 {
			t.Fatalf("%s: state %+v, %d writes to the generation; want it abandoned", c.name, st, len(ix.written["erpsync-products-gen2"]))
		}
	}
}
