package erp

import (
	"fmt"
	"testing"
	"time"
)

// TestPartitionPlanCounts: the partitions are a multiple of the slots, within the size, one at
// least per company with roots and never more than a company's roots, shared so that the
// largest is as small as it can be, and enough waves of them (at most 3 more) that the last
// ends within 5% of an even share. The expected shares are worked out by hand.
func TestPartitionPlanCounts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		plan       PartitionPlan
		perCompany []int
		want       []int
	}{
		// Even share 100,000/13 = 7,692. One wave, 5/4/4: partitions of 8,333 end 8% late. Two
		// waves, 9/9/8 (33,334 first, then the first 33,333): 8 slots read 4,167 then 3,704
		// (7,871), 5 read 3,704 twice (7,408); 7,871 is 2.3% late.
		{"three equal companies, 13 slots", PartitionPlan{Size: 10_000, Slots: 13}, []int{33_334, 33_333, 33_333}, []int{9, 9, 8}},
		// 11 partitions within the size, rounded up to 12 for 4 slots: 3 of 8,333 each, even.
		{"three equal companies, 4 slots", PartitionPlan{Size: 10_000, Slots: 4}, []int{33_334, 33_333, 33_333}, []int{4, 4, 4}},
		// Even share 25,000. 12 partitions, 10 and 2: ten of 9,000 and two of 5,000 on 4 slots
		// end at 27,000 (8% late). 16, 14 and 2 (90,000/14 = 6,429 still beats 10,000/3): the
		// 6,429s take 4, 4, 3 and 3 turns (25,714, 25,714, 19,286, 19,286), the 5,000s go to
		// the last two: 25,714 is 2.9% late.
		{"one big company", PartitionPlan{Size: 10_000, Slots: 4}, []int{90_000, 10_000}, []int{14, 2}},
		// Even share 12.5: partitions of 5, 5, 5, 5, 2.5, 2.5 make 12.5 on each slot.
		{"more companies than slots", PartitionPlan{Size: 100, Slots: 2}, []int{5, 5, 5, 5, 5}, []int{2, 1, 1, 1, 1}},
		// Even share 25.25. 1 and 11 (of 9.09): 27.3 (8% late); 1 and 15 (of 6.67): 26.7 (5.6%
		// late); 1 and 19 (of 5.26): 5 on three slots, 4 and the root of one on the last, 26.3
		// (4.2% late).
		{"a company of one root", PartitionPlan{Size: 10, Slots: 4}, []int{1, 100}, []int{1, 19}},
		{"a company without roots", PartitionPlan{Size: 100, Slots: 4}, []int{0, 50}, []int{0, 4}},
		// A partition of one root each, however many waves: the first plan.
		{"fewer roots than slots", PartitionPlan{Size: 100, Slots: 8}, []int{2, 3}, []int{2, 3}},
		// Even share 500.5 on 2 slots. 1 and 1: 1,000; 1 and 3: 667; 1 and 5: 600; 1 and 7 (of
		// 143): 571, 14% late after the 3 waves a plan may add: the one that ends soonest.
		{"never within 5%", PartitionPlan{Size: 1_000, Slots: 2}, []int{1, 1_000}, []int{1, 7}},
		{"nothing", PartitionPlan{Size: 100, Slots: 4}, []int{0, 0}, []int{0, 0}},
		{"one slot", PartitionPlan{Size: 40, Slots: 1}, []int{150, 150, 150}, []int{4, 4, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.plan.Counts(tc.perCompany); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("%+v of %v: %v, want %v", tc.plan, tc.perCompany, got, tc.want)
			}
		})
	}
}

// TestSchedule: partitions begin largest first on whichever slot is free.
func TestSchedule(t *testing.T) {
	for _, tc := range []struct {
		sizes []float64
		slots int
		want  float64
	}{
		{[]float64{2, 3, 2, 3, 2}, 2, 7}, // 3 | 3, then 2 on each (5 | 5), then 2: 7
		{[]float64{1, 1, 4}, 2, 4},       // 4 | 1, then 1 on the second: 4 | 2
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
