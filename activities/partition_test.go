package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// TestBeginPlansAPartitionedRebuild: a rebuild that asks for partitions gets the source's plan,
// the expected total and how many partitions to read at once: what the run asks for, bounded
// by what the ERP allows, and each partition's share of the ERP's requests; one that does not
// ask (a run begun before partitions existed) and an update get none; an audit gets them too.
func TestBeginPlansAPartitionedRebuild(t *testing.T) {
	ctx := context.Background()
	src := &countedSource{fakeSource: &fakeSource{n: 95}}
	// D365's 52 requests at once, 8 a partition: at most 6 partitions.
	a := &Import{Source: src, Index: newFakeIndex(), Settings: Settings{PartitionSize: 20, Partitions: 3, MaxPartitions: 6, ERPRequests: 52}}
	for _, tc := range []struct {
		asked, want, width int
	}{{0, 3, 17}, {5, 5, 10}, {9, 6, 8}} {
		b, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Rebuild, RunID: "r", Partitioned: true, Partitions: tc.asked})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Partitions) != 5 || b.Expected != 95 || b.InFlight != tc.want || b.Width != tc.width {
			t.Fatalf("asked for %d at once: %d partitions, %d expected, %d at once, %d requests each; want 5, 95, %d, %d",
				tc.asked, len(b.Partitions), b.Expected, b.InFlight, b.Width, tc.want, tc.width)
		}
		// The source shares the partitions out to fill the slots: it is told how many.
		if want := (erp.PartitionPlan{Size: 20, Slots: tc.want}); src.plan != want {
			t.Fatalf("asked for %d at once: planned with %+v, want %+v", tc.asked, src.plan, want)
		}
	}
	b, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Rebuild, RunID: "r"})
	if err != nil || b.Partitions != nil || b.InFlight != 0 || b.Width != 0 {
		t.Fatalf("a rebuild that does not ask: %+v, %v", b, err)
	}
	b, err = a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Update, Partitioned: true})
	if err != nil || b.Partitions != nil {
		t.Fatalf("an update: %+v, %v", b, err)
	}
	b, err = a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Audit, Partitioned: true})
	if err != nil || len(b.Partitions) != 5 || b.Expected != 95 || b.Target != "erpsync-products" {
		t.Fatalf("an audit: %+v, %v; want 5 partitions of the alias", b, err)
	}
}

// TestAPartitionReadsItsOwnRootsAndStepsPastItsOwnPoison: a chunk of partition (0029, 0059]
// reads only its 30 roots; pages that always fail while they hold root 37 or the partition's
// last root 59 are split down to that root, which is dead-lettered and stepped past without
// leaving the partition (stepping past 59 without it wrote 60).
func TestAPartitionReadsItsOwnRootsAndStepsPastItsOwnPoison(t *testing.T) {
	src := &fakeSource{n: 100, failPage: func(i int) error {
		if i == 37 || i == 59 {
			return failure.E(failure.Unavailable, "read ReleasedProductsV2", errors.New("HTTP 500"))
		}
		return nil
	}}
	ix := newFakeIndex()
	a := &Import{Source: src, Index: ix, Settings: Settings{PageSize: 8}}
	p := &erp.Partition{Company: "usmf", After: "0029", Through: "0059"}
	res, err := a.SyncChunk(context.Background(), ChunkInput{Entity: erp.Products, Target: "erpsync-products-gen2", MaxPages: 100, MaxDuration: time.Hour, Partition: p, Width: 13})
	if err != nil {
		t.Fatal(err)
	}
	// The pages are read with the partition's share of the ERP's requests.
	if src.widths[0] != 13 {
		t.Fatalf("pages read with %v requests at once, want the first with 13", src.widths)
	}
	written := slices.Sorted(slices.Values(ix.written["erpsync-products-gen2"]))
	var want []string
	for i := 30; i <= 59; i++ {
		if i != 37 && i != 59 {
			want = append(want, fmt.Sprintf("usmf:%04d", i))
		}
	}
	if !res.Done || res.Counts.Indexed != len(want) || res.Counts.DeadLettered != 2 || fmt.Sprint(written) != fmt.Sprint(want) {
		t.Fatalf("result %+v, written %v; want %v indexed, 2 dead-lettered", res, written, want)
	}
	if len(ix.rejected) != 2 || ix.rejected[0].Key != "0037" || ix.rejected[1].Key != "0059" {
		t.Fatalf("dead letters %+v, want 0037 and 0059", ix.rejected)
	}
}

// badPlans is a partitioner whose plan fails with err.
type badPlans struct {
	*fakeSource
	err error
}

func (b badPlans) Partitions(context.Context, erp.Entity, time.Time, erp.PartitionPlan) ([]erp.Partition, int, error) {
	return nil, 0, b.err
}

// fixedPlan is a fakeSource whose plan is parts, as a source gives it: in (company, key) order.
type fixedPlan struct {
	*fakeSource
	parts []erp.Partition
}

func (f fixedPlan) Partitions(context.Context, erp.Entity, time.Time, erp.PartitionPlan) ([]erp.Partition, int, error) {
	n := 0
	for _, p := range f.parts {
		n += p.Expected
	}
	return slices.Clone(f.parts), n, nil
}

// TestBeginOrdersThePartitionsByTheirStart: the workflow starts partitions in the order Begin
// gives them, each on the first slot that is free, and the plan has each begin where the one
// before it on its slot ends (erp.Partition.Start): Begin orders them by that, largest first
// where they begin together; partitions alike in both keep the source's order.
func TestBeginOrdersThePartitionsByTheirStart(t *testing.T) {
	plan := []erp.Partition{
		{Company: "demf", Through: "0100", Expected: 300, ByKey: true},
		{Company: "demf", After: "0100", Expected: 100, Start: 300, ByKey: true},
		{Company: "gbsi", Expected: 400, ByKey: true},
		{Company: "usmf", Through: "0200", Expected: 250, Start: 150, ByKey: true},
		{Company: "usmf", After: "0200", Through: "0400", Expected: 400, ByKey: true},
		{Company: "usmf", After: "0400", Expected: 150, ByKey: true},
	}
	a := &Import{Source: fixedPlan{&fakeSource{n: 10}, plan}, Index: newFakeIndex(), Settings: Settings{PartitionSize: 100}}
	b, err := a.Begin(context.Background(), BeginInput{Entity: erp.Products, Mode: Rebuild, RunID: "r", Partitioned: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []erp.Partition{plan[2], plan[4], plan[0], plan[5], plan[3], plan[1]}
	if !slices.Equal(b.Partitions, want) || b.Expected != 1_600 {
		t.Fatalf("partitions %+v (%d expected), want %+v (1600)", b.Partitions, b.Expected, want)
	}
}

// TestARebuildThatCannotBePartitionedIsOneStream: an ERP answer the plan cannot use (one over
// the size bound, as the fault soak's oversized answer was) leaves the rebuild one stream
// instead of failing it for good; an outage fails the begin, which Temporal retries.
func TestARebuildThatCannotBePartitionedIsOneStream(t *testing.T) {
	ctx := context.Background()
	oversized := failure.E(failure.Invalid, "count ReleasedProductsV2", errors.New("answer larger than 2097152 bytes"))
	a := &Import{Source: badPlans{&fakeSource{n: 10}, oversized}, Index: newFakeIndex()}
	b, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Rebuild, RunID: "r", Partitioned: true})
	if err != nil || b.Partitions != nil || b.Target == "" {
		t.Fatalf("with an unusable plan: %+v, %v; want one stream", b, err)
	}
	down := failure.E(failure.Unavailable, "count ReleasedProductsV2", errors.New("503"))
	a = &Import{Source: badPlans{&fakeSource{n: 10}, down}, Index: newFakeIndex()}
	if _, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: Rebuild, RunID: "r", Partitioned: true}); err == nil || isNonRetryable(err) {
		t.Fatalf("with the ERP down: %v, want a retryable error", err)
	}
}

// countedSource is a fakeSource that counts its roots (erp.Counter) and tells how often it was
// asked to count and to plan, and with what plan.
type countedSource struct {
	*fakeSource
	// planErr fails every plan, as an ERP whose answers a plan cannot use does.
	planErr       error
	counts, plans int
	plan          erp.PartitionPlan
}

func (c *countedSource) Count(context.Context, erp.Entity, erp.ReadRequest) (int, error) {
	c.counts++
	return c.n, nil
}

func (c *countedSource) Partitions(ctx context.Context, e erp.Entity, until time.Time, plan erp.PartitionPlan) ([]erp.Partition, int, error) {
	c.plans++
	c.plan = plan
	if c.planErr != nil {
		return nil, 0, c.planErr
	}
	return c.fakeSource.Partitions(ctx, e, until, plan)
}

// TestAPlannedRunCountsItsRootsOnce: a partitioned rebuild or audit shows its progress against
// the plan's count of the roots and does not count them again. An entity of no more roots than
// a partition holds (the company-wide data, a small catalog) gets a plan of none and is read in
// one stream; a bigger one is split.
func TestAPlannedRunCountsItsRootsOnce(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ size, parts int }{{95, 0}, {100, 0}, {94, 2}, {20, 5}} {
		src := &countedSource{fakeSource: &fakeSource{n: 95}}
		a := &Import{Source: src, Index: newFakeIndex(), Settings: Settings{PartitionSize: tc.size, Partitions: 3, MaxPartitions: 6}}
		for _, mode := range []Mode{Rebuild, Audit} {
			src.plans, src.counts = 0, 0
			b, err := a.Begin(ctx, BeginInput{Entity: erp.Products, Mode: mode, RunID: "r", Partitioned: true})
			if err != nil {
				t.Fatal(err)
			}
			if src.plans != 1 || src.counts != 0 || len(b.Partitions) != tc.parts || b.Expected != 95 {
				t.Errorf("%s of 95 roots, partitions of %d: %d plans, %d counts, %d partitions, %d expected; want 1, 0, %d, 95",
					mode, tc.size, src.plans, src.counts, len(b.Partitions), b.Expected, tc.parts)
			}
		}
	}
}

// TestARunWithoutAPlanCountsItsRoots: a rebuild whose plan cannot be used, and one that asks for
// no partitions, count their roots for their progress.
func TestARunWithoutAPlanCountsItsRoots(t *testing.T) {
	oversized := failure.E(failure.Invalid, "count ReleasedProductsV2", errors.New("answer larger than 2097152 bytes"))
	for _, tc := range []struct {
		name        string
		partitioned bool
		planErr     error
	}{{"unusable plan", true, oversized}, {"no partitions asked for", false, nil}} {
		src := &countedSource{fakeSource: &fakeSource{n: 95}, planErr: tc.planErr}
		a := &Import{Source: src, Index: newFakeIndex(), Settings: Settings{PartitionSize: 20, Partitions: 3, MaxPartitions: 6}}
		b, err := a.Begin(context.Background(), BeginInput{Entity: erp.Products, Mode: Rebuild, RunID: "r", Partitioned: tc.partitioned})
		if err != nil {
			t.Fatal(err)
		}
		if src.counts != 1 || b.Partitions != nil || b.Expected != 95 {
			t.Errorf("%s: %d counts, %d partitions, %d expected; want 1, 0, 95", tc.name, src.counts, len(b.Partitions), b.Expected)
		}
	}
}
