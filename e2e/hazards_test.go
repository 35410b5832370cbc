package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/workflows"
)

// TestNothingIsMissed: hundreds of records share one ModifiedDateTime across page boundaries; a
// late commit lands inside the overlap window; the ERP's clock runs behind. Each update run
// leaves the index equal to the ERP.
func TestNothingIsMissed(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(14)
	cat.Products = 600
	s := newStack(t, cat, erpsim.Config{}, activities.Settings{PageSize: 40, SafetyLag: time.Second, Overlap: 5 * time.Minute})
	s.run(workflows.ProductImportName, activities.Rebuild)
	ctx := context.Background()

	// 1. One transaction renames 350 products: they all carry the same stamp.
	products := s.erp.All(t, "ReleasedProductsV2")
	stamp, err := s.sim.Store.Write(ctx, func(tx *store.Tx) error {
		for i, p := range products[:350] {
			k := store.Record{"dataAreaId": p.S("dataAreaId"), "ItemNumber": p.S("ItemNumber")}
			if _, err := tx.Update("ReleasedProductsV2", k, store.Record{"ProductName": fmt.Sprintf("Shared stamp %d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	c := s.run(workflows.ProductImportName, activities.Update).Of(erp.Products).Counts
	t.Logf("350 products stamped %s, pages of 40: update read %d, indexed %d", stamp.Format(time.RFC3339Nano), c.Read, c.Indexed)
	if c.Indexed < 350 {
		t.Fatalf("indexed %d of the 350 products that share one stamp", c.Indexed)
	}
	s.checkProducts()

	// 2. A late commit: stamped now, visible 4 s later, after an update run has read past its stamp.
	late := products[400]
	done := make(chan error, 1)
	var lateStamp time.Time
	go func() {
		var err error
		lateStamp, err = s.sim.Store.WriteLate(ctx, 4*time.Second, func(tx *store.Tx) error {
			_, err := tx.Update("ReleasedProductsV2", store.Record{"dataAreaId": late.S("dataAreaId"), "ItemNumber": late.S("ItemNumber")},
				store.Record{"ProductName": "Committed late"})
			return err
		})
		done <- err
	}()
	time.Sleep(1500 * time.Millisecond) // the late change's stamp is now older than the safety lag
	s.run(workflows.ProductImportName, activities.Update)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, err := s.index.LoadState(ctx, "products")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Watermark.Modified.After(lateStamp) {
		t.Fatalf("the watermark %s did not pass the late change's stamp %s: the test shows nothing", st.Watermark, lateStamp.Format(time.RFC3339Nano))
	}
	t.Logf("the late change, stamped %s, became visible after the watermark moved to %s", lateStamp.Format(time.RFC3339Nano), st.Watermark)
	time.Sleep(1100 * time.Millisecond)
	s.run(workflows.ProductImportName, activities.Update)
	s.checkProducts()

	// 3. The ERP's clock runs two minutes behind: its stamps are older than the watermark.
	if err := s.sim.Server.SetFaults(erpsim.Faults{ClockSkew: erpsim.Duration(-2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	skewed := products[500]
	s.erp.Write(t, "PATCH", "ReleasedProductsV2"+key(skewed.S("dataAreaId"), "ItemNumber", skewed.S("ItemNumber")), map[string]any{"ProductName": "Skewed clock"})
	s.run(workflows.ProductImportName, activities.Update)
	s.checkProducts()
}

// TestImportWithFailingERP: with a fifth of the ERP's answers failing (429 with Retry-After, 500,
// 503, truncated bodies) both imports complete with the exact result.
func TestImportWithFailingERP(t *testing.T) {
	t.Parallel()
	faults := erpsim.Faults{ErrorShare: 0.08, RateLimitShare: 0.06, RetryAfter: erpsim.Duration(time.Second), TruncateShare: 0.06}
	s := newStack(t, simtest.Catalog(15), erpsim.Config{Faults: faults, Seed: 5}, activities.Settings{PageSize: 60})
	p := s.run(workflows.ProductImportName, activities.Rebuild)
	c := s.run(workflows.CustomerImportName, activities.Rebuild)
	t.Logf("with 20%% of ERP answers failing: products %+v; customers %+v", p.Of(erp.Products).Counts, c.Entities[0].Counts)
	if err := s.sim.Server.SetFaults(erpsim.Faults{}); err != nil { // the checker reads a healthy ERP
		t.Fatal(err)
	}
	s.checkProducts()
	s.checkCustomers()
}

// TestRebuildWhileTheERPChanges: the change driver creates, edits and deletes while a rebuild
// runs and an update run writes alongside it; after the swap and one more update run, the index
// equals the ERP.
func TestRebuildWhileTheERPChanges(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(16)
	cat.Products = 1500
	// No overlap window: it would re-read what the update alongside wrote and hide a lost write.
	s := newStack(t, cat, erpsim.Config{ChangeRate: 40, Seed: 9}, activities.Settings{PageSize: 30, ChunkPages: 4, SafetyLag: time.Second, Overlap: time.Microsecond})
	s.run(workflows.ProductImportName, activities.Rebuild)

	ctx, stopDriver := context.WithCancel(context.Background())
	driverDone := make(chan struct{})
	go func() { defer close(driverDone); _ = s.sim.Server.Driver().Run(ctx) }()
	rebuild := s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild})
	time.Sleep(2 * time.Second)
	upd := s.run(workflows.ProductImportName, activities.Update) // alongside the rebuild
	res := s.wait(rebuild)
	time.Sleep(time.Second)
	stopDriver()
	<-driverDone
	stats := s.sim.Server.Driver().Stats()
	t.Logf("during the rebuild the ERP changed: %+v; update alongside: %+v; rebuild: %+v", stats, upd.Of(erp.Products).Counts, res.Of(erp.Products).Counts)

	time.Sleep(1100 * time.Millisecond)
	s.run(workflows.ProductImportName, activities.Update)
	s.checkProducts()
}
