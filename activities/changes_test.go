package activities

import (
	"context"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/search"
)

// TestStateOfAnEarlierVersionIsMigrated: a sync state saved before collections had their own
// watermarks (only the entity's) is read, not discarded: a child-stamps update reads every
// collection from that watermark (minus the overlap), and Finish gives every collection its
// own. A collection added to the model later, and so missing from a state that has the others,
// is read from the beginning.
func TestStateOfAnEarlierVersionIsMigrated(t *testing.T) {
	now := t0.Add(time.Hour)
	ix := newFakeIndex()
	old := erp.Cursor{Modified: t0}
	ix.state[erp.Products] = search.State{Entity: erp.Products, Watermark: old}
	a := &Import{Source: &fakeSource{}, Index: ix, Now: func() time.Time { return now },
		Settings: Settings{Detection: ChildStamps, Overlap: time.Minute, SafetyLag: time.Second}}
	ctx := context.Background()
	m, _ := erp.Model(erp.Products)

	b, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Update})
	if err != nil {
		t.Fatal(err)
	}
	if b.Detection != ChildStamps || len(b.Changes) != len(m.Collections()) {
		t.Fatalf("begin: detection %q, %d collections, want child-stamps and %d", b.Detection, len(b.Changes), len(m.Collections()))
	}
	from := t0.Add(-time.Minute).Add(-time.Microsecond)
	for _, coll := range m.Collections() {
		if c := b.Changes[coll]; !c.Modified.Equal(from) {
			t.Errorf("%s read from %s, want the old watermark minus the overlap %s", coll, c, from)
		}
	}

	if _, err := a.Finish(ctx, FinishInput{Entity: erp.Products, Mode: Update, Until: b.Until}); err != nil {
		t.Fatal(err)
	}
	st := ix.state[erp.Products]
	for _, coll := range m.Collections() {
		if c := st.Collections[coll]; !c.Modified.Equal(b.Until) {
			t.Errorf("after finish %s's watermark is %s, want %s", coll, c, b.Until)
		}
	}

	// A collection the model gained since: from the beginning; the others from their own.
	delete(st.Collections, erp.ProductBarcodes)
	ix.state[erp.Products] = st
	b, err = a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Update})
	if err != nil {
		t.Fatal(err)
	}
	if c := b.Changes[erp.ProductBarcodes]; !c.IsZero() {
		t.Errorf("a new collection is read from %s, want the beginning", c)
	}
	if c := b.Changes[erp.ProductTranslations]; c.IsZero() {
		t.Error("a known collection is read from the beginning")
	}
}
