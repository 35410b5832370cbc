package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
	"github.com/erpsync/erpsync/search"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// fakeSource serves n products, one per microsecond, in change order.
type fakeSource struct {
	erp.Source
	n     int
	reads int
	fail  error
}

func (f *fakeSource) Read(_ context.Context, e erp.Entity, r erp.ReadRequest) (erp.Page[erp.Record], error) {
	f.reads++
	if f.fail != nil {
		return erp.Page[erp.Record]{}, f.fail
	}
	if e != erp.Products {
		return erp.Page[erp.Record]{}, fmt.Errorf("fakeSource serves products, not %s", e)
	}
	var p erp.Page[erp.Record]
	for i := 0; i < f.n && len(p.Records) < r.PageSize; i++ {
		rec := erp.Product{Company: "usmf", ItemNumber: fmt.Sprintf("%04d", i), Modified: t0.Add(time.Duration(i) * time.Microsecond)}
		c := erp.Cursor{Modified: rec.Modified, Company: rec.Company, Key: rec.ItemNumber}
		if !r.After.Less(c) {
			continue
		}
		p.Records = append(p.Records, erp.Record{Ref: erp.Ref{Entity: e, Company: rec.Company, Key: rec.ItemNumber}, Modified: rec.Modified, Value: rec})
		p.Next = c
	}
	p.Done = len(p.Records) < r.PageSize
	if len(p.Records) == 0 {
		p.Next = r.After
	}
	p.Requests = 1
	return p, nil
}

// fakeIndex records writes per target and keeps one state per entity.
type fakeIndex struct {
	mu      sync.Mutex
	bodies  map[string]map[string]any // target -> id -> body
	written map[string][]string
	state   map[erp.Entity]search.State
	swapped string
	// onSave, when set, sees every state saved.
	onSave func(search.State)
}

func newFakeIndex() *fakeIndex {
	return &fakeIndex{written: map[string][]string{}, state: map[erp.Entity]search.State{}, bodies: map[string]map[string]any{}}
}

func (f *fakeIndex) Alias(e erp.Entity) string { return "erpsync-" + string(e) }
func (f *fakeIndex) CreateGeneration(_ context.Context, e erp.Entity) (string, error) {
	return "erpsync-" + string(e) + "-gen2", nil
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
func (f *fakeIndex) DeadLetterRejections(context.Context, []erp.Rejection) error { return nil }
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
