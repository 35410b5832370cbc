package activities

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
)

// TestTheReadAheadGoesOnToTheNextChunk: chunks of 3 pages through 100 products in pages of 10
// read each page once: each chunk takes the read ahead of the chunk before it, so the ERP
// answers 11 reads (the last one empty), not one more per chunk boundary; every product is
// written once.
func TestTheReadAheadGoesOnToTheNextChunk(t *testing.T) {
	src, ix := &fakeSource{n: 100}, newFakeIndex()
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 10}}
	in := ChunkInput{Entity: erp.Products, Target: "erpsync-products-gen2", MaxPages: 3, MaxDuration: time.Hour}
	chunks := 0
	for done := false; !done; chunks++ {
		res, err := a.SyncChunk(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		in.After, done = res.Next, res.Done
	}
	var reads int
	src.set(func() { reads = src.reads })
	written := ix.written["erpsync-products-gen2"]
	if chunks != 4 || reads != 11 || len(written) != 100 {
		t.Fatalf("%d chunks, %d reads, %d written; want 4 chunks, 11 reads, 100 written", chunks, reads, len(written))
	}
	// Two pages' writes are in flight at once: they may land in either order.
	for i, id := range slices.Sorted(slices.Values(written)) {
		if want := fmt.Sprintf("usmf:%04d", i); id != want {
			t.Fatalf("written (sorted)[%d] = %s, want %s: not every product once", i, id, want)
		}
	}
}

// TestAReadAheadIsTakenOnlyWhereItBegins: a chunk that begins elsewhere than where the last one
// ended (from the start again, or in another partition) reads its own pages.
func TestAReadAheadIsTakenOnlyWhereItBegins(t *testing.T) {
	src, ix := &fakeSource{n: 100}, newFakeIndex()
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 10}}
	in := ChunkInput{Entity: erp.Products, Target: "erpsync-products-gen2", MaxPages: 3, MaxDuration: time.Hour}
	first, err := a.SyncChunk(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := a.SyncChunk(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if again.Next != first.Next || again.Counts.Read != 30 {
		t.Fatalf("the same chunk again: %+v, want the first 30 again to %s", again, first.Next)
	}
	other := in
	other.Partition = &erp.Partition{Company: "usmf", After: "0049"}
	other.After = first.Next
	res, err := a.SyncChunk(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Read != 30 || res.Next.Key != "0079" {
		t.Fatalf("partition (0049, end] after %s: %+v, want 0050..0079", first.Next, res)
	}
}
