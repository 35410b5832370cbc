package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/workflows"
)

// orphans writes n product documents the ERP does not have (as a lost deletion would leave).
func (s *stack) orphans(n int) {
	s.t.Helper()
	var ops []search.Op
	for i := 0; i < n; i++ {
		p := erp.Product{Company: "usmf", ItemNumber: fmt.Sprintf("GONE-%03d", i), Name: "Lost deletion", Modified: time.Now().UTC()}
		d, err := document.FromProduct(p, s.settings.Document)
		if err != nil {
			s.t.Fatal(err)
		}
		ops = append(ops, search.IndexOp(document.ID(p.Company, p.ItemNumber), document.Version(p.Modified), d))
	}
	if _, err := s.index.Write(context.Background(), s.index.Alias(erp.Products), ops); err != nil {
		s.t.Fatal(err)
	}
}

// TestReconcileRemovesOrphansButNotTooMany: a reconcile run deletes documents whose record the
// ERP no longer has; when they are more than the allowed share it deletes nothing and says why.
func TestReconcileRemovesOrphansButNotTooMany(t *testing.T) {
	t.Parallel()
	s := newStack(t, simtest.Catalog(19), erpsim.Config{}, activities.Settings{PageSize: 100})
	s.run(workflows.ProductImportName, activities.Rebuild)

	s.orphans(60) // 60 of 360: more than the default 10%
	res := s.run(workflows.ProductImportName, activities.Reconcile)
	rec := res.Of(erp.Products).Reconcile
	if rec == nil || rec.Refused == "" || rec.Deleted != 0 || rec.Orphans != 60 {
		t.Fatalf("with 60 orphans of 360 the reconcile gave %+v, want it refused", rec)
	}
	t.Logf("refused: %s", rec.Refused)
	if got := len(s.docs(erp.Products)); got != 360 {
		t.Fatalf("%d documents after a refused reconcile, want 360", got)
	}

	in := workflows.ImportInput{Mode: activities.Reconcile, MaxDeleteShare: 0.5}
	rec = s.wait(s.start(workflows.ProductImportName, in)).Of(erp.Products).Reconcile
	if rec.Refused != "" || rec.Deleted != 60 {
		t.Fatalf("reconcile allowed 50%%: %+v, want 60 deleted", rec)
	}
	s.checkProducts()
}
