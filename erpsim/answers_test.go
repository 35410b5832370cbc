package erpsim

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/store"
)

var updateAnswers = flag.Bool("update-answers", false, "rewrite testdata/answers.golden with what the simulator answers now")

// answersGolden holds the answers of answerRequests over answersCatalog, as an earlier version
// of the simulator gave them: how the simulator reads and encodes records may change for speed,
// what it answers may not.
const answersGolden = "testdata/answers.golden"

// answersCatalog is the small catalog the golden answers are read from.
func answersCatalog() generate.Config {
	return generate.Config{Seed: 7, Companies: []string{"usmf", "demf"}, Products: 40, Customers: 6, SalesReps: 4}
}

// answer is one request of the transcript: the path (and query) and the Prefer header.
type answer struct {
	path   string
	prefer string
}

// answerRequests lists the reads the connector makes (roots in keyset order, each child
// collection for a list of products, with and without $select), the first records of every
// collection, and the query options and paths through the store besides: $select without the
// order fields, $orderby on a decimal and descending (a keyset over mixed directions), $skip
// and $top across pages, $count, the cached equality queries, reads by key and errors. items
// are product numbers of usmf.
func answerRequests(tables []*store.Table, items []string) []answer {
	in := "'" + strings.Join(items, "','") + "'"
	list := []answer{
		{"/data/", ""},
		// The connector's root read: a keyset after a position, up to a bound, all companies.
		{"/data/ReleasedProductsV2?cross-company=true&$orderby=ModifiedDateTime,dataAreaId,ItemNumber&$top=9&$filter=" +
			q("(ModifiedDateTime gt 2026-01-01T00:00:00.000006Z or (ModifiedDateTime eq 2026-01-01T00:00:00.000006Z and (dataAreaId gt 'demf' or (dataAreaId eq 'demf' and ItemNumber gt '1003')))) and ModifiedDateTime le 2026-01-01T00:00:00.000012Z"), "odata.maxpagesize=4"},
		{"/data/ReleasedProductsV2?$orderby=ModifiedDateTime,ItemNumber", "odata.maxpagesize=7"},
		{"/data/ReleasedProductsV2?$count=true&$top=0&cross-company=true&$filter=" + q("dataAreaId eq 'usmf' or dataAreaId eq 'demf'"), ""},
		{"/data/ReleasedProductsV2?$select=ItemNumber,SalesPrice,ModifiedDateTime&$orderby=" + q("SalesPrice desc,ItemNumber"), "odata.maxpagesize=6"},
		{"/data/ReleasedProductsV2?$select=ProductName&$orderby=" + q("ProductSubType,SalesPrice desc") + "&$skip=3&$top=11&$count=true", "odata.maxpagesize=4"},
		{"/data/ReleasedProductsV2?$filter=" + q("SalesPrice ge 50.5 and (contains(ProductName,'a') or startswith(ItemNumber,'10'))") + "&$select=ItemNumber,ProductName,SalesPrice", ""},
		{"/data/ReleasedProductsV2(dataAreaId='usmf',ItemNumber='" + items[0] + "')", ""},
		{"/data/ReleasedProductsV2(dataAreaId='demf',ItemNumber='" + items[0] + "')?cross-company=true", ""},
		{"/data/ReleasedProductsV2(dataAreaId='usmf',ItemNumber='none')", ""},
		{"/data/ReleasedProductsV2?$filter=" + q("Colour eq 'red'"), ""},
		{"/data/SalesPriceAgreements?$filter=" + q("ItemCode eq 'Table' and AccountCode eq 'All'") + "&$top=5", ""},
		{"/data/SalesPriceAgreements?$filter=" + q("ItemCode eq 'Table' and AccountCode eq 'All'") + "&$top=5", ""}, // from the cache
		{"/data/SalesPriceAgreements?$filter=" + q("PriceApplicableFromDate ge 2026-04-01 or Price lt 10") + "&$orderby=" + q("PriceApplicableFromDate desc,Price"), "odata.maxpagesize=5"},
		{"/data/SalesLineDiscountAgreements?cross-company=true&$filter=" + q("ItemCode eq 'All' or ItemCode eq 'GroupId'") + "&$top=20", ""},
		{"/data/CustomersV3?$filter=" + q("ModifiedDateTime ge 2026-01-01T00:00:00.000001Z") + "&$select=CustomerAccount,ModifiedDateTime", "odata.maxpagesize=3"},
	}
	// The connector's child reads: each child collection for a list of products, in full and
	// with $select, over pages.
	children := [][2]string{
		{"ProductMasterDimensionValues", "ProductMasterNumber"}, {"ReleasedProductVariantsV2", "ItemNumber"},
		{"ProductTranslations", "ItemNumber"}, {"ProductAttachments", "ItemNumber"}, {"ProductCategoryAssignments", "ItemNumber"},
		{"RelatedProducts", "ItemNumber"}, {"ProductBarcodes", "ItemNumber"}, {"ItemDefaultOrderSettings", "ItemNumber"},
		{"SalesPriceAgreements", "ItemNumber"}, {"SalesLineDiscountAgreements", "ItemNumber"},
	}
	for _, c := range children {
		list = append(list,
			answer{"/data/" + c[0] + "?cross-company=true&$filter=" + q("dataAreaId eq 'usmf' and "+c[1]+" in ("+in+")"), ""},
			answer{"/data/" + c[0] + "?cross-company=true&$filter=" + q("dataAreaId eq 'usmf' and "+c[1]+" in ("+in+")") +
				"&$select=" + c[1] + ",dataAreaId,ModifiedDateTime", "odata.maxpagesize=7"})
	}
	// Every collection, every company, with its count: the first records in key order, over
	// two pages.
	for _, t := range tables {
		list = append(list, answer{"/data/" + t.Name + "?cross-company=true&$count=true&$top=24", "odata.maxpagesize=12"})
	}
	return list
}

// transcript serves the requests to srv and writes each answer: status, headers and body, and
// those of the pages its @odata.nextLink leads to.
func transcript(t *testing.T, srv *Server, reqs []answer) []byte {
	t.Helper()
	token := srv.auth.issue()
	var out bytes.Buffer
	for _, a := range reqs {
		path := a.path
		for page := 0; path != ""; page++ {
			if page > 50 {
				t.Fatalf("%s: more than 50 pages", a.path)
			}
			req := httptest.NewRequest(http.MethodGet, "http://erpsim.test"+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			if a.prefer != "" {
				req.Header.Set("Prefer", a.prefer)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			fmt.Fprintf(&out, "=== GET %s\n", path)
			if a.prefer != "" {
				fmt.Fprintf(&out, "Prefer: %s\n", a.prefer)
			}
			fmt.Fprintf(&out, "--- %d\n", rec.Code)
			names := slices.Sorted(func(yield func(string) bool) {
				for k := range rec.Header() {
					if !yield(k) {
						return
					}
				}
			})
			for _, k := range names {
				fmt.Fprintf(&out, "%s: %s\n", k, strings.Join(rec.Header()[k], ", "))
			}
			out.WriteString("\n")
			out.Write(rec.Body.Bytes())
			out.WriteString("\n")
			path = ""
			if rec.Code == http.StatusOK {
				if next := decode(t, rec.Body.Bytes()).NextLink; next != "" {
					path = strings.TrimPrefix(next, "http://erpsim.test")
				}
			}
		}
	}
	return out.Bytes()
}

// TestAnswersUnchanged serves answerRequests over answersCatalog and compares every answer,
// byte for byte, with testdata/answers.golden. go test -run TestAnswersUnchanged
// -update-answers rewrites the file: only do that for a change meant to change the answers.
func TestAnswersUnchanged(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := generate.Run(ctx, st, answersCatalog()); err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(st, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for _, row := range decode(t, transcriptBody(t, srv, "/data/ReleasedProductsV2?$select=ItemNumber&$orderby=ItemNumber&$top=12")).Value {
		items = append(items, row["ItemNumber"].(string))
	}
	if len(items) != 12 {
		t.Fatalf("%d products in usmf, want 12", len(items))
	}
	got := transcript(t, srv, answerRequests(st.Schema().Tables, items))
	if *updateAnswers {
		if err := os.WriteFile(answersGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d bytes", answersGolden, len(got))
		return
	}
	want, err := os.ReadFile(answersGolden)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	// Name the first answer that differs, and where.
	g, w := strings.Split(string(got), "\n=== "), strings.Split(string(want), "\n=== ")
	for i := range min(len(g), len(w)) {
		if g[i] == w[i] {
			continue
		}
		at := 0
		for at < len(g[i]) && at < len(w[i]) && g[i][at] == w[i][at] {
			at++
		}
		head, _, _ := strings.Cut(w[i], "\n")
		t.Fatalf("answer %d (%s) differs at byte %d:\ngot  …%s…\nwant …%s…", i, head, at, excerpt(g[i], at), excerpt(w[i], at))
	}
	t.Fatalf("%d answers, want %d", len(g), len(w))
}

// transcriptBody serves one GET of usmf to srv and returns the body.
func transcriptBody(t *testing.T, srv *Server, path string) []byte {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://erpsim.test"+path, nil)
	req.Header.Set("Authorization", "Bearer "+srv.auth.issue())
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// excerpt is s around byte at.
func excerpt(s string, at int) string {
	return s[max(0, at-80):min(len(s), at+80)]
}
