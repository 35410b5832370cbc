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

// TestNothingIsMissed: hundreds of rows share one ModifiedDateTime across page boundaries; a
// late commit lands inside the overlap window; the ERP's clock runs behind. Each update run
// leaves the index equal to the ERP: with an ERP add-on (the rows are products) and with stock
// D365 (the rows are products' translations, which stamp only themselves).
func TestNothingIsMissed(t *testing.T) {
	t.Parallel()
	inEachMode(t, nothingIsMissed)
}

func nothingIsMissed(t *testing.T, mode activities.Detection, behaviour store.Behaviour) {
	cat := simtest.Catalog(14)
	cat.Products = 600
	s := newStack(t, cat, erpsim.Config{Behaviour: behaviour},
		activities.Settings{PageSize: 40, SafetyLag: time.Second, Overlap: 5 * time.Minute, Detection: mode})
	s.run(workflows.ProductImportName, activities.Rebuild)
	ctx := context.Background()
	products := s.erp.All(t, "ReleasedProductsV2")
	// edit changes product p: its own row with an add-on, its German translation with stock D365.
	edit := func(tx *store.Tx, p row, name string) error {
		if mode == activities.ChildStamps {
			_, err := tx.Update("ProductTranslations", store.Record{"dataAreaId": p.S("dataAreaId"), "ItemNumber": p.S("ItemNumber"), "LanguageId": "de"},
				store.Record{"ProductName": name})
			return err
		}
		_, err := tx.Update("ReleasedProductsV2", store.Record{"dataAreaId": p.S("dataAreaId"), "ItemNumber": p.S("ItemNumber")}, store.Record{"ProductName": name})
		return err
	}

	// 1. One transaction edits 350 products: the rows all carry the same stamp.
	stamp, err := s.sim.Store.Write(ctx, func(tx *store.Tx) error {
		for i, p := range products[:350] {
			if err := edit(tx, p, fmt.Sprintf("Shared stamp %d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.pastSafetyLag()
	c := s.run(workflows.ProductImportName, activities.Update).Of(erp.Products).Counts
	t.Logf("350 products' rows stamped %s, pages of 40: update read %d, indexed %d", stamp.Format(time.RFC3339Nano), c.Read, c.Indexed)
	if c.Indexed < 350 {
		t.Fatalf("indexed %d of the 350 products whose rows share one stamp", c.Indexed)
	}
	s.checkProducts()

	// 2. A late commit: stamped now, visible 6 s later, after an update run has read past its stamp.
	late := products[400]
	done := make(chan error, 1)
	var lateStamp time.Time
	go func() {
		var err error
		lateStamp, err = s.sim.Store.WriteLate(ctx, 6*time.Second, func(tx *store.Tx) error { return edit(tx, late, "Committed late") })
		done <- err
	}()
	// The late change's stamp is now older than the safety lag, by the ERP's clock as the worker
	// reads it (whole seconds of its Date header).
	time.Sleep(2500 * time.Millisecond)
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
	s.pastSafetyLag()
	s.run(workflows.ProductImportName, activities.Update)
	s.checkProducts()

	// 3. The ERP's clock goes back 30 s. Its stamps stay increasing (erpsim/store.Clock), so the
	// edit is stamped behind the watermark yet ahead of what the ERP's clock now reads: it is read
	// once the ERP's clock (its Date header, not the worker's) has passed its stamp by the safety
	// lag, from inside the overlap window.
	const skew = -30 * time.Second
	var skewed time.Time
	if err := s.sim.Server.SetFaults(erpsim.Faults{ClockSkew: erpsim.Duration(skew)}); err != nil {
		t.Fatal(err)
	}
	skewed, err = s.sim.Store.Write(ctx, func(tx *store.Tx) error { return edit(tx, products[500], "Skewed clock") })
	if err != nil {
		t.Fatal(err)
	}
	if !skewed.Before(st.Watermark.Modified) {
		t.Fatalf("the skewed edit's stamp %s is not behind the watermark %s: the test shows nothing", skewed.Format(time.RFC3339Nano), st.Watermark)
	}
	wait := skewed.Sub(time.Now().Add(skew))
	t.Logf("the ERP's clock went back %s: the edit stamped %s is read once that clock passes it, in %s", -skew, skewed.Format(time.RFC3339Nano), wait.Round(time.Second))
	time.Sleep(max(wait, 0))
	s.pastSafetyLag()
	s.run(workflows.ProductImportName, activities.Update)
	s.checkProducts()
}

// TestImportWithFailingERP: with a fifth of the ERP's answers failing (429 with Retry-After, 500,
// 503, truncated bodies) both imports complete with the exact result; so does an update after
// edits of children, in both change detection modes.
func TestImportWithFailingERP(t *testing.T) {
	t.Parallel()
	inEachMode(t, func(t *testing.T, mode activities.Detection, behaviour store.Behaviour) {
		faults := erpsim.Faults{ErrorShare: 0.08, RateLimitShare: 0.06, RetryAfter: erpsim.Duration(time.Second), TruncateShare: 0.06}
		s := newStack(t, simtest.Catalog(15), erpsim.Config{Faults: faults, Seed: 5, Behaviour: behaviour},
			activities.Settings{PageSize: 60, SafetyLag: time.Second, Detection: mode})
		p := s.run(workflows.ProductImportName, activities.Rebuild)
		c := s.run(workflows.CustomerImportName, activities.Rebuild)
		t.Logf("with 20%% of ERP answers failing: products %+v; customers %+v", p.Of(erp.Products).Counts, c.Of(erp.Products).Counts)
		// Children change: a translation of every tenth product, an address of every fifth
		// customer (read from a healthy ERP, written in one transaction).
		if err := s.sim.Server.SetFaults(erpsim.Faults{}); err != nil {
			t.Fatal(err)
		}
		translations, addresses := s.erp.All(t, "ProductTranslations"), s.erp.All(t, "CustomerPostalAddresses")
		if _, err := s.sim.Store.Write(context.Background(), func(tx *store.Tx) error {
			for i, r := range translations {
				if i%30 == 0 {
					if _, err := tx.Update("ProductTranslations", store.Record{"dataAreaId": r.S("dataAreaId"), "ItemNumber": r.S("ItemNumber"),
						"LanguageId": r.S("LanguageId")}, store.Record{"ProductName": "Changed under faults"}); err != nil {
						return err
					}
				}
			}
			for i, r := range addresses {
				if i%5 == 0 {
					if _, err := tx.Update("CustomerPostalAddresses", store.Record{"dataAreaId": r.S("dataAreaId"), "CustomerAccount": r.S("CustomerAccount"),
						"AddressLocationId": r.S("AddressLocationId")}, store.Record{"AddressCity": "Faultville"}); err != nil {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.sim.Server.SetFaults(faults); err != nil {
			t.Fatal(err)
		}
		s.pastSafetyLag()
		up := s.run(workflows.ProductImportName, activities.Update)
		uc := s.run(workflows.CustomerImportName, activities.Update)
		t.Logf("updates under faults: products %+v; customers %+v", up.Of(erp.Products).Counts, uc.Of(erp.Products).Counts)
		if err := s.sim.Server.SetFaults(erpsim.Faults{}); err != nil { // the checker reads a healthy ERP
			t.Fatal(err)
		}
		s.checkProducts()
		s.checkCustomers()
	})
}

// TestRebuildWhileTheERPChanges: the change driver creates, edits and deletes while a rebuild
// runs and an update run writes alongside it; after the swap and one more update run (with stock
// D365 also an audit and a reconcile run, which find the deletes), the index equals the ERP.
func TestRebuildWhileTheERPChanges(t *testing.T) {
	t.Parallel()
	inEachMode(t, rebuildWhileTheERPChanges)
}

func rebuildWhileTheERPChanges(t *testing.T, mode activities.Detection, behaviour store.Behaviour) {
	cat := simtest.Catalog(16)
	cat.Products = 1500
	// No overlap window: it would re-read what the update alongside wrote and hide a lost write.
	s := newStack(t, cat, erpsim.Config{ChangeRate: 40, Seed: 9, Behaviour: behaviour},
		activities.Settings{PageSize: 30, ChunkPages: 4, SafetyLag: time.Second, Overlap: time.Microsecond, Detection: mode})
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

	s.pastSafetyLag()
	s.run(workflows.ProductImportName, activities.Update)
	if mode == activities.ChildStamps {
		a := s.run(workflows.ProductImportName, activities.Audit).Of(erp.Products).Counts
		// The driver deleted about a tenth of the catalog: more than reconcile deletes unasked.
		r := s.wait(s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Reconcile, MaxDeleteShare: 0.5})).Of(erp.Products)
		t.Logf("stock D365: the audit repaired %d products, the reconcile deleted %d", a.Repaired, r.Counts.Deleted)
	}
	s.checkProducts()
}
