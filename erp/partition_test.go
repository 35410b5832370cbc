package erp

import (
	"fmt"
	"testing"
	"time"
)

// TestPartitionPlanCounts: the partitions are a multiple of the slots, within the size, one at
// least per company with roots and never more than a company's roots, shared so that the
// largest is as small as it can be. The expected shares are worked out by hand.
func TestPartitionPlanCounts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		plan       PartitionPlan
		perCompany []int
		want       []int
	}{
		// 13 slots, one wave: 33,334 / 5 = 6,667 beats 33,333 / 4 = 8,333 at the last share.
		{"three equal companies, 13 slots", PartitionPlan{Size: 10_000, Slots: 13}, []int{33_334, 33_333, 33_333}, []int{5, 4, 4}},
		// 11 partitions within the size, rounded up to 12 for 4 slots.
		{"three equal companies, 4 slots", PartitionPlan{Size: 10_000, Slots: 4}, []int{33_334, 33_333, 33_333}, []int{4, 4, 4}},
		// 90,000/9 ties 10,000/1 (the first company wins the tie), then 10,000/1 beats 9,000.
		{"one big company", PartitionPlan{Size: 10_000, Slots: 4}, []int{90_000, 10_000}, []int{10, 2}},
		{"more companies than slots", PartitionPlan{Size: 100, Slots: 2}, []int{5, 5, 5, 5, 5}, []int{2, 1, 1, 1, 1}},
		{"a company of one root", PartitionPlan{Size: 10, Slots: 4}, []int{1, 100}, []int{1, 11}},
		{"a company without roots", PartitionPlan{Size: 100, Slots: 4}, []int{0, 50}, []int{0, 4}},
		{"fewer roots than slots", PartitionPlan{Size: 100, Slots: 8}, []int{2, 3}, []int{2, 3}},
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
