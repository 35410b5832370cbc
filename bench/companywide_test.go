package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/internal/testenv"
)

// BenchmarkCompanyWideEdits measures what one company-wide edit costs an update run at
// BENCH_PRODUCTS products (default 100,000), in each change detection mode against the ERP it is
// for (parent-stamps: an ERP add-on stamps every product of the category, or of the company for
// an all-items discount; child-stamps: stock D365, which stamps only the row): the documents
// written by one category's visibility flip and by one change of the line discount for all items
// and all customers, per index, the products the update read again, and its wall time. It
// ignores b.N (run it with -benchtime 1x, as `make bench` does).
func BenchmarkCompanyWideEdits(b *testing.B) {
	products := testenv.EnvInt(b, "BENCH_PRODUCTS", 100_000)
	r := &Report{Started: time.Now().UTC(), Machine: ThisMachine(), Settings: settings(),
		Command: "make bench" + map[bool]string{true: " BENCH_PRODUCTS=" + strconv.Itoa(products), false: ""}[products != 100_000]}
	cat := catalog(products)
	r.Catalog = map[string]int{"products": cat.Products, "customers": cat.Customers, "companies": len(cat.Companies)}
	s := newSuite(b)
	defer s.finish(r)
	ctx := context.Background()
	for _, mode := range []struct {
		detection string
		simFlags  []string
	}{
		{"parent-stamps", nil},
		{"child-stamps", []string{"--bumps", "off", "--deletion-log", "off"}},
	} {
		sm := s.startSim(cat, mode.simFlags...)
		prefix := s.prefix + "-" + mode.detection
		w := s.startWorker(sm, prefix, "ERPSYNC_CHANGE_DETECTION="+mode.detection)
		if res, took := s.runImport(prefix, "rebuild"); res.Of(erp.Products).Counts.Indexed != products {
			b.Fatalf("%s: the rebuild indexed %+v", mode.detection, res.Of(erp.Products).Counts)
		} else {
			s.logf("%s: rebuild of %d products in %s", mode.detection, products, took.Round(time.Second))
		}
		e := newERPHTTP(b, sm.url)
		first := func(coll, filter string) map[string]any {
			var page struct {
				Value []map[string]any `json:"value"`
			}
			path := "/data/" + coll + "?cross-company=true&$top=1&$filter=" + url.QueryEscape(filter)
			if _, err := e.do(ctx, http.MethodGet, path, nil, &page); err != nil || len(page.Value) == 0 {
				b.Fatalf("%s with %s: %v", coll, filter, err)
			}
			return page.Value[0]
		}
		category := first("ProductCategories", "dataAreaId eq 'usmf' and ParentCategoryId ne '' and IsVisibleInWebshop eq 'Yes'")["CategoryId"].(string)
		discount := first("SalesLineDiscountAgreements", "dataAreaId eq 'usmf' and ItemCode eq 'All' and AccountCode eq 'All'")["RecordId"]
		for _, edit := range []struct {
			key, name, path string
			patch           map[string]any
		}{
			{"category_flip", "one category visibility flip", "/data/ProductCategories(dataAreaId='usmf',CategoryId='" + category + "')",
				map[string]any{"IsVisibleInWebshop": "No"}},
			{"all_items_discount", "one change of the line discount for all items", fmt.Sprintf("/data/SalesLineDiscountAgreements(dataAreaId='usmf',RecordId=%v)", discount),
				map[string]any{"DiscountPercentage1": 3.5}},
		} {
			time.Sleep(safetyLag(b) + time.Second) // the previous run's bound is behind
			if _, err := e.do(ctx, http.MethodPatch, edit.path, edit.patch, nil); err != nil {
				b.Fatal(err)
			}
			time.Sleep(safetyLag(b) + time.Second) // the edit is inside the next run's bound
			res, took := s.runImport(prefix, "update")
			written, parts := 0, []string{}
			for _, en := range res.Entities {
				written += en.Counts.Indexed + en.Counts.Deleted
				parts = append(parts, fmt.Sprintf("%s %d", en.Entity, en.Counts.Indexed+en.Counts.Deleted))
			}
			p := res.Of(erp.Products).Counts
			r.Add(edit.key+"_written_"+strings.ReplaceAll(mode.detection, "-", "_"), fmt.Sprintf("documents written by %s (%s)", edit.name, mode.detection),
				float64(written), "docs", fmt.Sprintf("%s; %d products read again, %d unchanged; update %s", strings.Join(parts, ", "), p.Read, p.Unchanged, took.Round(100*time.Millisecond)))
		}
		stop(w.cmd)
		stop(sm.cmd)
	}
}
