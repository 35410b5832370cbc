package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/workflows"
)

// TestBadRecordsAreDeadLettered: a product whose price has a currency that is no ISO code is
// rejected with the reason; the rest of its page is indexed; `starter dead-letters` shows it.
func TestBadRecordsAreDeadLettered(t *testing.T) {
	t.Parallel()
	s := newStack(t, simtest.Catalog(20), erpsim.Config{}, activities.Settings{PageSize: 100, SafetyLag: time.Second})
	s.run(workflows.ProductImportName, activities.Rebuild)

	line := s.erp.First(t, "SalesPriceAgreements", "dataAreaId eq 'usmf' and ItemCode eq 'Table'")
	s.erp.Write(t, "PATCH", "SalesPriceAgreements(dataAreaId='usmf',RecordId="+line.S("RecordId")+")", map[string]any{"PriceCurrencyCode": "dollars"})
	other := s.erp.First(t, "ReleasedProductsV2", "dataAreaId eq 'demf'")
	s.erp.Write(t, "PATCH", "ReleasedProductsV2"+key("demf", "ItemNumber", other.S("ItemNumber")), map[string]any{"ProductName": "Still indexed"})
	s.pastSafetyLag()

	c := s.run(workflows.ProductImportName, activities.Update).Of(erp.Products).Counts
	if c.Rejected != 1 || c.DeadLettered != 1 || c.Indexed != 1 {
		t.Fatalf("update counts %+v: want the bad product rejected and dead-lettered, the other indexed", c)
	}
	out := s.starter(t, buildStarter(t), "dead-letters", "--json")
	var dls []search.DeadLetter
	if err := json.Unmarshal([]byte(out), &dls); err != nil || len(dls) != 1 {
		t.Fatalf("dead-letters --json: %v\n%s", err, out)
	}
	want := "usmf:" + line.S("ItemNumber")
	if dls[0].ID != want || !strings.Contains(dls[0].Reason, "dollars") {
		t.Fatalf("dead letter %+v, want %s with a reason naming the currency", dls[0], want)
	}
	t.Logf("dead letter: %s: %s", dls[0].ID, dls[0].Reason)
}
