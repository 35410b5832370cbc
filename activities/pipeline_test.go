package activities

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/search"
)

// gatedIndex holds each page's write (named by its first document) until the test releases it.
type gatedIndex struct {
	*fakeIndex
	started chan string
	mu      sync.Mutex
	release map[string]chan struct{}
}

func (g *gatedIndex) gate(id string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release[id] == nil {
		g.release[id] = make(chan struct{})
	}
	return g.release[id]
}

func (g *gatedIndex) Write(ctx context.Context, target string, ops []search.Op) (search.Counts, error) {
	if len(ops) == 0 {
		return g.fakeIndex.Write(ctx, target, ops)
	}
	id := ops[0].ID
	g.started <- id
	select {
	case <-g.gate(id):
	case <-ctx.Done():
		return search.Counts{}, ctx.Err()
	}
	return g.fakeIndex.Write(ctx, target, ops)
}

// TestTheNextPageIsWrittenWhileThePreviousIsAcknowledged: the second page's bulk write starts
// while Elasticsearch still holds the first; when the second is acknowledged first, the
// heartbeat does not move past the first until that one is acknowledged too, so a retry never
// skips a page. (One page at a time, the second write started only after the first.)
func TestTheNextPageIsWrittenWhileThePreviousIsAcknowledged(t *testing.T) {
	ix := &gatedIndex{fakeIndex: newFakeIndex(), started: make(chan string, 10), release: map[string]chan struct{}{}}
	a := &Import{Source: &fakeSource{n: 30}, Index: ix, Settings: Settings{PageSize: 10}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	var (
		mu    sync.Mutex
		beats []erp.Cursor
	)
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var hb chunkHeartbeat
		if err := details.Get(&hb); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		beats = append(beats, hb.Cursor)
		mu.Unlock()
	})
	heartbeated := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var keys []string
		for _, c := range beats {
			keys = append(keys, c.Key)
		}
		return keys
	}
	// await waits for the writes of the pages starting with want to start, in any order.
	await := func(want ...string) {
		t.Helper()
		left := map[string]bool{}
		for _, w := range want {
			left[w] = true
		}
		for len(left) > 0 {
			select {
			case id := <-ix.started:
				if !left[id] {
					t.Fatalf("the write of %s started, want %v", id, want)
				}
				delete(left, id)
			case <-time.After(5 * time.Second):
				t.Fatalf("the writes of %v did not start while the writes before them were in flight (heartbeats %v)", left, heartbeated())
			}
		}
	}
	done := make(chan error, 1)
	var res ChunkResult
	go func() {
		v, err := env.ExecuteActivity(a.SyncChunk, ChunkInput{Entity: erp.Products, Target: "erpsync-products", MaxPages: 10, MaxDuration: time.Hour})
		if err == nil {
			err = v.Get(&res)
		}
		done <- err
	}()
	await("usmf:0000", "usmf:0010")
	close(ix.gate("usmf:0010")) // the second page is acknowledged first
	time.Sleep(100 * time.Millisecond)
	for _, k := range heartbeated() {
		if k == "0019" {
			t.Fatalf("the heartbeat moved past the first page before it was acknowledged: %v", heartbeated())
		}
	}
	close(ix.gate("usmf:0000"))
	await("usmf:0020")
	close(ix.gate("usmf:0020"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !res.Done || res.Counts.Indexed != 30 || res.Next.Key != "0029" {
		t.Fatalf("result %+v", res)
	}
	seen := map[string]bool{}
	for _, k := range heartbeated() {
		if k == "0019" && !seen["0009"] || k == "0029" && !seen["0019"] {
			t.Fatalf("heartbeats %v skip a page", heartbeated())
		}
		seen[k] = true
	}
}

// TestAResumedChunkDoesNotRewriteWhatItsDeadAttemptWrote: an attempt wrote 30 products, but the
// server holds its heartbeat after the 10th (the heartbeats after it were lost with the worker).
// The retried attempt reads from the 10th on and sends only the documents the index does not
// hold with the same content: 19 are unchanged, one the ERP changed meanwhile is sent again,
// and the 10 after are new. The retry runs on another worker, as after a crash: the dead
// worker's read ahead (handed on when its chunk ended) may still read the ERP meanwhile, so the
// retry's reads are counted by a source of its own (ownReads).
func TestAResumedChunkDoesNotRewriteWhatItsDeadAttemptWrote(t *testing.T) {
	src, ix := &fakeSource{n: 40}, newFakeIndex()
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 10}}
	if _, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: "erpsync-products-gen2", MaxPages: 3, MaxDuration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	src.set(func() {
		src.edit = func(i int, p *erp.Product) {
			if i == 25 {
				p.Name = "changed"
			}
		}
	})
	own := &ownReads{fakeSource: src}
	retry := &Import{Source: own, Index: ix, Settings: a.Settings}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(retry)
	env.SetHeartbeatDetails(chunkHeartbeat{Cursor: erp.Cursor{Modified: t0.Add(9 * time.Microsecond), Company: "usmf", Key: "0009"},
		Counts: Counts{Pages: 1, Read: 10, Indexed: 10}})
	v, err := env.ExecuteActivity(retry.SyncChunk, ChunkInput{Entity: erp.Products, Target: "erpsync-products-gen2", MaxPages: 10, MaxDuration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var res ChunkResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	again := ix.written["erpsync-products-gen2"][30:]
	if !res.Done || res.Counts.Read != 40 || res.Counts.Unchanged != 19 || len(again) != 11 || !slices.Contains(again, "usmf:0025") {
		t.Fatalf("result %+v; written again %v: want 19 current, 0025 and the 10 new ones written", res, again)
	}
	// What the dead attempt wrote may include documents of rows that have left the entity
	// since: the resumed chunk reads them too, to delete them (erp.ReadRequest.Matching).
	if reads, matching := own.counts(); reads == 0 || matching != 0 {
		t.Fatalf("the resumed chunk asked for the matching roots alone in %d of %d reads, want none", matching, reads)
	}
}

// ownReads counts the reads made through it, apart from other readers of the same fakeSource.
type ownReads struct {
	*fakeSource
	mu              sync.Mutex
	reads, matching int
}

func (o *ownReads) Read(ctx context.Context, e erp.Entity, r erp.ReadRequest) (erp.Page[erp.Record], error) {
	o.mu.Lock()
	o.reads++
	if r.Matching {
		o.matching++
	}
	o.mu.Unlock()
	return o.fakeSource.Read(ctx, e, r)
}

func (o *ownReads) counts() (reads, matching int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reads, o.matching
}

// TestARebuildStreamRampsUpItsPageSize: a rebuild's stream reads its first pages small (from
// an eighth of the page size to the full size as drawn, then doubling), so that Elasticsearch
// gets documents before the first full page is read; an update run reads full pages from the
// start, and so do small pages and a steady chunk (one begun while other partitions keep
// Elasticsearch busy).
func TestARebuildStreamRampsUpItsPageSize(t *testing.T) {
	for _, c := range []struct {
		name     string
		target   string
		pageSize int
		steady   bool
		draw     float64
		want     []int
	}{
		{"rebuild", "erpsync-products-gen2", 1000, false, 0, []int{125, 250, 500, 1000, 1000, 1000}},
		// 125 * 8^(1/2) = 353.6.
		{"rebuild, drawn half way", "erpsync-products-gen2", 1000, false, 0.5, []int{353, 706, 1000, 1000}},
		{"update", "erpsync-products", 1000, false, 0, []int{1000, 1000, 1000, 1000}},
		{"rebuild of small pages", "erpsync-products-gen2", 200, false, 0, []int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"steady rebuild", "erpsync-products-gen2", 1000, true, 0, []int{1000, 1000, 1000, 1000}},
	} {
		src, ix := &fakeSource{n: 3000}, newFakeIndex()
		a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: c.pageSize}, draw: func() float64 { return c.draw }}
		res, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: c.target, MaxPages: 100, MaxDuration: time.Hour, Steady: c.steady})
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int
		src.set(func() { sizes = slices.Clone(src.sizes) })
		if !res.Done || res.Counts.Read != 3000 || !slices.Equal(sizes, c.want) {
			t.Errorf("%s: read %d (done %v) in pages of %v, want 3000 in pages of %v", c.name, res.Counts.Read, res.Done, sizes, c.want)
		}
	}
}

// TestStreamsStartWithPagesOfDrawnSizes: the first page of a rebuild's stream is drawn between
// an eighth of the page size and the full size, evenly on a log scale: as many below the
// geometric middle (an eighth times the square root of 8) as above it, not always one size.
func TestStreamsStartWithPagesOfDrawnSizes(t *testing.T) {
	below, sizes := 0, map[int]bool{}
	for range 400 {
		got := rampStart(1000, rand.Float64())
		if got < 125 || got > 1000 {
			t.Fatalf("rampStart(1000) = %d, want 125 to 1,000", got)
		}
		if float64(got) < 125*math.Sqrt(8) {
			below++
		}
		sizes[got] = true
	}
	if below < 140 || below > 260 || len(sizes) < 100 {
		t.Fatalf("400 first pages: %d below 354, %d sizes; want about 200 and many", below, len(sizes))
	}
}

// TestPartitionChunksEndAtStaggeredTimes: a partition's chunk lasts its duration a quarter
// longer or shorter, not always the same; one stream's lasts its duration.
func TestPartitionChunksEndAtStaggeredTimes(t *testing.T) {
	d := 10 * time.Second
	seen := map[time.Duration]bool{}
	for range 100 {
		got := stagger(d, true)
		if got < 7500*time.Millisecond || got >= 12500*time.Millisecond {
			t.Fatalf("stagger(10s) = %s, want 7.5 s to 12.5 s", got)
		}
		seen[got] = true
		if got := stagger(d, false); got != d {
			t.Fatalf("one stream's chunk: %s, want %s", got, d)
		}
	}
	if len(seen) < 50 {
		t.Fatalf("100 partition chunks had %d durations: not staggered", len(seen))
	}
}
