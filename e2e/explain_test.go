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

// explained is what `starter explain --json` prints.
type explained struct {
	ID  string `json:"id"`
	ERP struct {
		Found    bool      `json:"found"`
		Modified time.Time `json:"modified"`
		Rejected string    `json:"rejected"`
	} `json:"erp"`
	Index struct {
		Found       bool      `json:"found"`
		Version     int64     `json:"version"`
		VersionTime time.Time `json:"version_time"`
		Current     bool      `json:"current"`
	} `json:"index"`
	Shown       *bool               `json:"shown"`
	Why         []string            `json:"why"`
	Elsewhere   []string            `json:"elsewhere"`
	DeadLetters []search.DeadLetter `json:"dead_letters"`
	Runs        []struct {
		Mode    string `json:"mode"`
		Outcome string `json:"outcome"`
		Link    string `json:"link"`
	} `json:"runs"`
}

func (s *stack) explain(t *testing.T, bin string, args ...string) explained {
	t.Helper()
	out := s.starter(t, bin, append([]string{"explain", "--json"}, args...)...)
	var x explained
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("explain %v: %v\n%s", args, err, out)
	}
	return x
}

// TestExplainAndRetryDeadLetters: `starter explain` answers "why is SKU X (not) in the shop?"
// for a product that is shown, one in no visible category, one deleted in the ERP and one
// dead-lettered; `starter dead-letters retry` re-reads the dead-lettered one once the ERP is
// fixed, and its dead letter is gone.
func TestExplainAndRetryDeadLetters(t *testing.T) {
	t.Parallel()
	s := newStack(t, simtest.Catalog(20), erpsim.Config{}, activities.Settings{PageSize: 100, SafetyLag: time.Second})
	s.run(workflows.ProductImportName, activities.Rebuild)
	bin := buildStarter(t)

	// The index's own view of which products the shop shows, by the documented rule: a product
	// is shown when one of its categories is visible in the webshop (the categories index).
	visibleCategory := map[string]bool{}
	for _, src := range s.docs(erp.Categories) {
		var c struct {
			Company    string `json:"company"`
			CategoryID string `json:"category_id"`
			Visible    bool   `json:"visible"`
		}
		if err := json.Unmarshal(src, &c); err != nil {
			t.Fatal(err)
		}
		if c.Visible {
			visibleCategory[c.Company+":"+c.CategoryID] = true
		}
	}
	var shown, invisible []string
	companies := map[string]bool{}
	has := map[string]bool{} // company:key
	for id, src := range s.docs(erp.Products) {
		var d struct {
			Company      string   `json:"company"`
			CategoryIDs  []string `json:"category_ids"`
			SalesStopped bool     `json:"sales_stopped"`
		}
		if err := json.Unmarshal(src, &d); err != nil {
			t.Fatal(err)
		}
		companies[d.Company], has[id] = true, true
		if d.Company != "usmf" || d.SalesStopped {
			continue
		}
		visible := false
		for _, c := range d.CategoryIDs {
			visible = visible || visibleCategory[d.Company+":"+c]
		}
		if visible {
			shown = append(shown, id)
		} else {
			invisible = append(invisible, id)
		}
	}
	if len(shown) < 3 || len(invisible) == 0 {
		t.Fatalf("the catalog has %d shown and %d invisible usmf products; the test needs 3 and 1", len(shown), len(invisible))
	}
	item := func(id string) string { return strings.TrimPrefix(id, "usmf:") }

	// Shown: the ERP's stamp is the indexed version's (parent-stamps), and the rebuild wrote it.
	var x explained
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		x = s.explain(t, bin, "products", "usmf", item(shown[0]))
		if len(x.Runs) > 0 || time.Now().After(deadline) {
			break // the UI's list (visibility) catches up within a second or so
		}
	}
	if !x.ERP.Found || !x.Index.Found || !x.Index.Current || x.Shown == nil || !*x.Shown || len(x.Why) != 0 ||
		!x.Index.VersionTime.Equal(x.ERP.Modified) || len(x.DeadLetters) != 0 {
		t.Fatalf("shown product %s: %+v", shown[0], x)
	}
	if len(x.Runs) == 0 || x.Runs[0].Mode != "rebuild" || x.Runs[0].Outcome != "success" || !strings.Contains(x.Runs[0].Link, "/workflows/") {
		t.Fatalf("shown product %s: runs %+v, want the rebuild that wrote it", shown[0], x.Runs)
	}

	// In no visible category.
	x = s.explain(t, bin, "products", "usmf", item(invisible[0]))
	if x.Shown == nil || *x.Shown || len(x.Why) != 1 || x.Why[0] != "in no visible category" {
		t.Fatalf("invisible product %s: shown %v, why %v", invisible[0], x.Shown, x.Why)
	}

	// Another company: asked in a company that has no product with the key.
	other := "nosuchco"
	for co := range companies {
		if !has[co+":"+item(shown[0])] {
			other = co
		}
	}
	x = s.explain(t, bin, "products", other, item(shown[0]))
	if x.Index.Found || x.Shown == nil || *x.Shown || !slicesContain(x.Elsewhere, "usmf") || !anyContains(x.Why, "other company") {
		t.Fatalf("usmf's product %s asked in %s: %+v", shown[0], other, x)
	}

	// Deleted in the ERP; the update applies the deletion log.
	deleted := item(shown[1])
	s.erp.Write(t, "DELETE", "ReleasedProductsV2"+key("usmf", "ItemNumber", deleted), nil)
	// Dead-lettered: a price in a currency that is no ISO code, of a shown product.
	var bad string
	var line simtest.Row
	for _, l := range s.erp.All(t, "SalesPriceAgreements") {
		if id := "usmf:" + l.S("ItemNumber"); l.S("dataAreaId") == "usmf" && l.S("ItemCode") == "Table" &&
			slicesContain(shown[2:], id) {
			bad, line = l.S("ItemNumber"), l
			break
		}
	}
	if bad == "" {
		t.Fatal("no shown usmf product has a price line of its own")
	}
	lineKey := "SalesPriceAgreements(dataAreaId='usmf',RecordId=" + line.S("RecordId") + ")"
	currency := line.S("PriceCurrencyCode")
	s.erp.Write(t, "PATCH", lineKey, map[string]any{"PriceCurrencyCode": "dollars"})
	s.pastSafetyLag()
	if c := s.run(workflows.ProductImportName, activities.Update).Of(erp.Products).Counts; c.Deleted != 1 || c.DeadLettered != 1 {
		t.Fatalf("update counts %+v, want one deleted and one dead-lettered", c)
	}

	x = s.explain(t, bin, "products", "usmf", deleted)
	if x.ERP.Found || x.Index.Found || x.Shown == nil || *x.Shown || !anyContains(x.Why, "deleted") {
		t.Fatalf("deleted product %s: %+v", deleted, x)
	}

	x = s.explain(t, bin, "products", "usmf", bad)
	if !strings.Contains(x.ERP.Rejected, "dollars") || len(x.DeadLetters) != 1 || !strings.Contains(x.DeadLetters[0].Reason, "dollars") ||
		!x.Index.Found || x.Index.Current {
		t.Fatalf("dead-lettered product %s: %+v; want the ERP's rejection, its dead letter and the older indexed version", bad, x)
	}

	// Fixed in the ERP, retried: re-read, and the dead letter is gone. Put back as it was, the
	// record's document is the one the index holds (same content hash): it is current without
	// a write.
	s.erp.Write(t, "PATCH", lineKey, map[string]any{"PriceCurrencyCode": currency})
	out := s.starter(t, bin, "dead-letters", "retry", "--id", "usmf:"+bad, "--json")
	var res activities.RedriveResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("dead-letters retry: %v\n%s", err, out)
	}
	if res.Roots != 1 || res.Counts.Indexed+res.Counts.Unchanged != 1 || res.Cleared != 1 || res.Counts.DeadLettered != 0 {
		t.Fatalf("retry %+v: want the product re-read, indexed or found current, and its dead letter cleared", res)
	}
	x = s.explain(t, bin, "products", "usmf", bad)
	if !x.Index.Current || len(x.DeadLetters) != 0 || x.Shown == nil || !*x.Shown {
		t.Fatalf("after the retry %s: %+v", bad, x)
	}
	if out := s.starter(t, bin, "dead-letters"); !strings.Contains(out, "no dead letters") {
		t.Fatalf("dead-letters after the retry:\n%s", out)
	}
	t.Log(s.starter(t, bin, "explain", "products", "usmf", bad))
}

func slicesContain(xs []string, v string) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

func anyContains(xs []string, sub string) bool {
	for _, x := range xs {
		if strings.Contains(x, sub) {
			return true
		}
	}
	return false
}
