package e2e

import (
	"testing"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/workflows"
)

// TestRebuildEqualsTheERP: a rebuild of a seeded catalog leaves the index equal to the ERP,
// field by field; an update run right after finds nothing new to write.
func TestRebuildEqualsTheERP(t *testing.T) {
	t.Parallel()
	s := newStack(t, simtest.Catalog(11), erpsim.Config{}, activities.Settings{PageSize: 50, ChunkPages: 3})
	res := s.run(workflows.ProductImportName, activities.Rebuild)
	c := res.Entities[0].Counts
	t.Logf("rebuild: %+v", c)
	if c.Read == 0 || c.Read != c.Indexed || c.Rejected != 0 || c.DeadLettered != 0 {
		t.Fatalf("rebuild counts %+v: want every record read indexed, nothing rejected", c)
	}
	s.checkProducts()

	upd := s.run(workflows.ProductImportName, activities.Update).Entities[0].Counts
	if upd.Indexed != 0 {
		t.Fatalf("an update with nothing changed wrote %d documents", upd.Indexed)
	}
	t.Logf("update with nothing changed: %d ERP requests", upd.Requests)
}
