package erp

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestPartitionPlanShares: the roots of all companies, one after the other, cut into Slots
// lanes and each lane into rounds of segments within Size, the cuts inside a lane staggered by
// up to a quarter of a segment, a segment split where a company ends; a piece under a twentieth of a
// segment goes to its neighbour. Each partition's Start is
// where it begins in its lane. The cuts are worked out by hand: the k-th lies at
// k*total/segments roots, rounded.
func TestPartitionPlanShares(t *testing.T) {
	for _, tc := range []struct {
		name       string
		plan       PartitionPlan
		perCompany []int
		want       [][]Share
	}{
		// One round: 13 lanes of 7,692.3, cut at 7,692, 15,385, 23,077, 30,769 | 38,462, 46,154,
		// 53,846, 61,538 | 69,231, 76,923, 84,615, 92,308; the companies end at 33,334 and
		// 66,667. The fifth lane reads 2,565 of the first company, then 5,128 of the second:
		// 7,693, as the ninth does.
		{"three equal companies, 13 slots", PartitionPlan{Size: 10_000, Slots: 13}, []int{33_334, 33_333, 33_333}, [][]Share{
			{{7692, 0}, {7693, 0}, {7692, 0}, {7692, 0}, {2565, 0}},
			{{5128, 2565}, {7692, 0}, {7692, 0}, {7692, 0}, {5129, 0}},
			{{2564, 5129}, {7692, 0}, {7692, 0}, {7693, 0}, {7692, 0}}}},
		// 25,000 a lane is over 10,000: 3 rounds, 12 segments of 8,333.3, lanes beginning at 0,
		// 25,000, 50,000 and 75,000. The cuts inside the lanes are staggered by -1,562, -520, 520
		// and 1,562 (3/16 and 1/16 of a segment): 6,771 and 15,105 | 32,813 and 41,147 |
		// 58,853 and 67,187 | 84,895 and 93,229. The companies end at 33,334 and 66,667.
		{"three equal companies, 4 slots", PartitionPlan{Size: 10_000, Slots: 4}, []int{33_334, 33_333, 33_333}, [][]Share{
			{{6771, 0}, {8334, 6771}, {9895, 15105}, {7813, 0}, {521, 7813}},
			{{7813, 8334}, {8853, 16147}, {8853, 0}, {7814, 8853}},
			{{520, 16667}, {7813, 17187}, {9895, 0}, {8334, 9895}, {6771, 18229}}}},
		// The same cuts; the big company ends 5,105 into the eleventh segment, whose rest (3,229)
		// the small company begins with, 15,000 into the last lane.
		{"one big company", PartitionPlan{Size: 10_000, Slots: 4}, []int{90_000, 10_000}, [][]Share{
			{{6771, 0}, {8334, 6771}, {9895, 15105}, {7813, 0}, {8334, 7813}, {8853, 16147}, {8853, 0}, {8334, 8853}, {7813, 17187},
				{9895, 0}, {5105, 9895}},
			{{3229, 15000}, {6771, 18229}}}},
		// Two lanes of 12.5, cut at 13, in the third company.
		{"more companies than slots", PartitionPlan{Size: 100, Slots: 2}, []int{5, 5, 5, 5, 5},
			[][]Share{{{5, 0}}, {{5, 5}}, {{3, 10}, {2, 0}}, {{5, 2}}, {{5, 7}}}},
		// 101 roots, 3 rounds of 4 lanes within 10: even cuts at 8, 17, 25, 34, 42, 51, 59, 67,
		// 76, 84 and 93, those inside the lanes staggered by -1, 0, 0 and 1; the first company
		// is its own partition of one root.
		{"a company of one root", PartitionPlan{Size: 10, Slots: 4}, []int{1, 100}, [][]Share{{{1, 0}},
			{{6, 1}, {9, 7}, {9, 16}, {9, 0}, {8, 9}, {9, 17}, {8, 0}, {8, 8}, {9, 16}, {9, 0}, {9, 9}, {7, 18}}}},
		{"a company without roots", PartitionPlan{Size: 100, Slots: 4}, []int{0, 50}, [][]Share{nil, {{13, 0}, {12, 0}, {13, 0}, {12, 0}}}},
		// No more segments than roots: 5 of one root.
		{"fewer roots than slots", PartitionPlan{Size: 100, Slots: 8}, []int{2, 3}, [][]Share{{{1, 0}, {1, 0}}, {{1, 0}, {1, 0}, {1, 0}}}},
		// The cut at 50 leaves 1 root of the first company, under a twentieth of 50.
		{"a sliver", PartitionPlan{Size: 100, Slots: 2}, []int{51, 49}, [][]Share{{{51, 0}}, {{49, 1}}}},
		{"nothing", PartitionPlan{Size: 100, Slots: 4}, []int{0, 0}, [][]Share{nil, nil}},
		// One lane of 12 segments of 37.5.
		{"one slot", PartitionPlan{Size: 40, Slots: 1}, []int{150, 150, 150}, [][]Share{
			{{38, 0}, {37, 38}, {38, 75}, {37, 113}}, {{38, 150}, {37, 188}, {38, 225}, {37, 263}}, {{38, 300}, {37, 338}, {38, 375}, {37, 413}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.plan.Shares(tc.perCompany); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("%+v of %v:\n%v, want\n%v", tc.plan, tc.perCompany, got, tc.want)
			}
		})
	}
}

// TestPartitionPlansBalance: for plans of many shapes, the partitions hold each company's roots,
// each within a segment (and the stagger and a sliver), no more of them than the segments
// and one per company boundary, and begun in the order of their Start, each on whichever slot
// is free first (schedule, as the workflow begins them), they end within a sliver and the
// rounding of the cuts (a root a round) of an even share.
func TestPartitionPlansBalance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		plan := PartitionPlan{Size: 1 + rng.IntN(3000), Slots: 1 + rng.IntN(16)}
		perCompany := make([]int, 1+rng.IntN(6))
		total := 0
		for i := range perCompany {
			perCompany[i] = rng.IntN(20_000)
			if rng.IntN(8) == 0 {
				perCompany[i] = rng.IntN(3)
			}
			total += perCompany[i]
		}
		got := plan.Shares(perCompany)
		if total == 0 {
			continue
		}
		rounds := (total + plan.Slots*plan.Size - 1) / (plan.Slots * plan.Size)
		segments := min(plan.Slots*rounds, total)
		segment := float64(total) / float64(segments)
		var all []Share
		boundaries := -1
		for i, n := range perCompany {
			sum := 0
			for _, s := range got[i] {
				if s.Size <= 0 || float64(s.Size) > segment*(1+1.0/4+1.0/20)+2 {
					t.Fatalf("%+v of %v: %v holds a partition of %d, segments of %.1f", plan, perCompany, got, s.Size, segment)
				}
				sum += s.Size
				all = append(all, s)
			}
			if sum != n {
				t.Fatalf("%+v of %v: %v holds %d roots of company %d's %d", plan, perCompany, got, sum, i, n)
			}
			if n > 0 {
				boundaries++
			}
		}
		if len(all) > segments+boundaries {
			t.Fatalf("%+v of %v: %d partitions %v, want at most %d segments and %d boundaries", plan, perCompany, len(all), got, segments, boundaries)
		}
		slices.SortStableFunc(all, func(a, b Share) int { return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(b.Size, a.Size)) })
		sizes := make([]float64, len(all))
		for i, s := range all {
			sizes[i] = float64(s.Size)
		}
		even := float64(total) / float64(min(plan.Slots, segments))
		if end := schedule(sizes, plan.Slots); end > even+segment/20+float64(rounds) {
			t.Fatalf("%+v of %v: partitions %v end at %.1f, even share %.1f", plan, perCompany, got, end, even)
		}
	}
}

// schedule returns when the last of partitions of the given sizes ends, begun in this order
// on slots readers, each on the reader that is free first, every reader as fast as the others:
// the time unit is one root.
func schedule(sizes []float64, slots int) float64 {
	load := make([]float64, max(slots, 1))
	for _, s := range sizes {
		least := 0
		for i := range load {
			if load[i] < load[least] {
				least = i
			}
		}
		load[least] += s
	}
	return slices.Max(load)
}

// TestSchedule: partitions begin in order on whichever slot is free first.
func TestSchedule(t *testing.T) {
	for _, tc := range []struct {
		sizes []float64
		slots int
		want  float64
	}{
		{[]float64{3, 3, 2, 2, 2}, 2, 7}, // 3 | 3, then 2 on each (5 | 5), then 2: 7
		{[]float64{4, 1, 1}, 2, 4},       // 4 | 1, then 1 on the second: 4 | 2
		{[]float64{1, 1, 4}, 2, 5},       // 1 | 1, then 4 on the first: 5 | 1
		{[]float64{5}, 3, 5},
		{nil, 2, 0},
	} {
		if got := schedule(tc.sizes, tc.slots); got != tc.want {
			t.Errorf("schedule(%v, %d) = %v, want %v", tc.sizes, tc.slots, got, tc.want)
		}
	}
}

// TestPartitionAt: a position in a partition read by key is shown as its key (its stamp says
// nothing there), in one read in change order as the cursor.
func TestPartitionAt(t *testing.T) {
	c := Cursor{Modified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Company: "usmf", Key: "1500"}
	for _, tc := range []struct {
		p    Partition
		c    Cursor
		want string
	}{
		{Partition{Company: "usmf", ByKey: true}, c, "key 1500"},
		{Partition{Company: "usmf", ByKey: true}, Cursor{}, "beginning"},
		{Partition{Company: "usmf"}, c, "2026-01-02T03:04:05Z usmf/1500"},
	} {
		if got := tc.p.At(tc.c); got != tc.want {
			t.Errorf("%+v.At(%v) = %q, want %q", tc.p, tc.c, got, tc.want)
		}
	}
}
