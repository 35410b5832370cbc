package d365

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/failure"
)

// planProducts plans c's product partitions of at most about size roots, for one slot, of every
// root whatever its stamp.
func planProducts(t *testing.T, c *Client, size int) []erp.Partition {
	t.Helper()
	parts, _, err := c.Partitions(context.Background(), erp.Products, time.Time{}, erp.PartitionPlan{Size: size, Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	return parts
}

// readPartitions reads every partition to its end and returns the products read, and how many
// each partition returned.
func readPartitions(t *testing.T, c *Client, parts []erp.Partition) ([]erp.Product, []int) {
	t.Helper()
	var all []erp.Product
	sizes := make([]int, len(parts))
	for i := range parts {
		got, _, _, _ := readAll(t, c.Products, erp.ReadRequest{PageSize: 17, Partition: &parts[i]}, false)
		all = append(all, got...)
		sizes[i] = len(got)
	}
	return all, sizes
}

// TestPartitionsHoldEveryRootOnce: 450 products over three companies, in partitions of at most
// about 40 for 4 slots: 3 rounds of 4 lanes, 12 segments of 37.5, and a partition more where a
// company ends inside one (the cuts inside a lane are staggered), each company split by key
// ranges the ERP gives in proportion to its products; the partitions read side by side return
// every product exactly once with all its children, each as many roots as planned, none over a
// segment and the quarter of one a stagger adds.
func TestPartitionsHoldEveryRootOnce(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	c := s.client(t, nil)
	w := s.want(t)
	perCompany := map[string]int{}
	for k := range w.products {
		perCompany[k.company]++
	}
	parts, _, err := c.Partitions(context.Background(), erp.Products, s.store.Clock().Next(), erp.PartitionPlan{Size: 40, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.products) != 450 || len(parts) < 12 || len(parts) > 14 {
		t.Fatalf("%d products in %d partitions, want 450 in 12 to 14: %v", len(w.products), len(parts), parts)
	}
	partsOf := map[string]int{}
	for _, p := range parts {
		partsOf[p.Company]++
	}
	for co, n := range perCompany {
		// A company's partitions are about its share of the 12 segments (one more where it ends inside one).
		if got, want := float64(partsOf[co]), 12*float64(n)/450; got < want-1 || got > want+1 {
			t.Errorf("%s has %d products in %d partitions, want about %.1f: %v", co, n, partsOf[co], want, parts)
		}
	}
	got, sizes := readPartitions(t, c, parts)
	compare(t, "product", got, w.products, productKey)
	for i, p := range parts {
		if sizes[i] != p.Expected || sizes[i] < 1 || sizes[i] > 47 {
			t.Errorf("partition %s: %d products read, %d expected; want 1 to 47", p, sizes[i], p.Expected)
		}
		n, err := c.Count(context.Background(), erp.Products, erp.ReadRequest{Partition: &parts[i]})
		if err != nil || n != sizes[i] {
			t.Errorf("partition %s counts %d (%v), read %d", p, n, err, sizes[i])
		}
	}
	t.Logf("%d partitions: %v", len(parts), parts)

	// A page that ends with a partition's last key is its last: read in pages of its size, a
	// partition with an upper bound takes one page, not a second, empty one.
	for i, p := range parts {
		if p.Through == "" {
			continue
		}
		page, err := c.Read(context.Background(), erp.Products, erp.ReadRequest{Partition: &parts[i], PageSize: sizes[i]})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Records) != sizes[i] || !page.Done {
			t.Errorf("partition %s in a page of %d: %d products, done %v; want all, done", p, sizes[i], len(page.Records), page.Done)
		}
	}
}

// planProxy stands between a client and a simulator: it records the data requests' URLs and
// how many requests were in flight at most, and answers 404 Not Found to those refuse says.
type planProxy struct {
	url    string
	refuse func(*http.Request) bool

	mu             sync.Mutex
	urls           []string
	inFlight, most int
	// counting and mostCounting are the same for the requests of counts ($count=true).
	counting, mostCounting int
}

func newPlanProxy(t *testing.T, s *sim, refuse func(*http.Request) bool) *planProxy {
	t.Helper()
	p := &planProxy{refuse: refuse}
	target, _ := url.Parse(s.http.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count := r.URL.Query().Get("$count") == "true"
		p.mu.Lock()
		p.inFlight++
		p.most = max(p.most, p.inFlight)
		if count {
			p.counting++
			p.mostCounting = max(p.mostCounting, p.counting)
		}
		if strings.HasPrefix(r.URL.Path, "/data/") {
			p.urls = append(p.urls, r.URL.Path+"?"+r.URL.RawQuery)
		}
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			p.inFlight--
			if count {
				p.counting--
			}
			p.mu.Unlock()
		}()
		if p.refuse != nil && p.refuse(r) {
			http.Error(w, `{"error":{"code":"NotFound","message":"no such collection"}}`, http.StatusNotFound)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// take returns the URLs of the data requests recorded since the last take, whole (with the
// proxy's address, as the client wrote them).
func (p *planProxy) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	urls := make([]string, len(p.urls))
	for i, u := range p.urls {
		urls[i] = p.url + u
	}
	p.urls = nil
	return urls
}

// requests returns how many recorded requests went to collection with every one of the
// (unescaped) query parts.
func (p *planProxy) requests(collection string, parts ...string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, u := range p.urls {
		q, _ := url.QueryUnescape(u)
		if !strings.HasPrefix(q, "/data/"+collection+"?") {
			continue
		}
		all := true
		for _, part := range parts {
			all = all && strings.Contains(q, part)
		}
		if all {
			n++
		}
	}
	return n
}

// TestAPlanReadsAsWideAsTheRebuild: a plan's counts and boundaries are read side by side, as
// many at once as the rebuild will read with (its slots times Config.Concurrency), never more:
// an ERP answering each request 50 ms late sees up to 3*2 of them in flight at once, not the
// 2 of one page's child requests.
func TestAPlanReadsAsWideAsTheRebuild(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	if err := s.srv.Load().SetFaults(erpsim.Faults{Latency: erpsim.Duration(50 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	p := newPlanProxy(t, s, nil)
	c := s.client(t, func(c *Config) { c.BaseURL, c.Concurrency = p.url, 2 })
	parts, _, err := c.Partitions(context.Background(), erp.Products, time.Time{}, erp.PartitionPlan{Size: 10, Slots: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 45 {
		t.Fatalf("%d partitions of 450 products, want at least 45", len(parts))
	}
	if p.most != 6 {
		t.Fatalf("at most %d requests in flight while planning, want 6 (3 slots of 2)", p.most)
	}
}

// TestAPlanFindsTheCompaniesInLegalEntities: the companies come from LegalEntities when their
// roots add up to all roots, without the walk over the companies; when the service lists fewer
// companies than hold roots (gbsi's row deleted), or has no LegalEntities (404), the walk finds
// them. Every time, the partitions hold every product of every company once.
func TestAPlanFindsTheCompaniesInLegalEntities(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		unlist       string
		noCollection bool
		walked       bool
	}{
		{name: "listed"},
		{name: "gbsi unlisted", unlist: "gbsi", walked: true},
		{name: "no LegalEntities", noCollection: true, walked: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, testCatalog())
			if tc.unlist != "" {
				s.write(t, func(tx *store.Tx) error {
					return tx.Delete(store.LegalEntities, store.Record{"LegalEntityId": tc.unlist})
				})
			}
			p := newPlanProxy(t, s, func(r *http.Request) bool {
				return tc.noCollection && r.URL.Path == "/data/"+erp.LegalEntities
			})
			c := s.client(t, func(c *Config) { c.BaseURL = p.url })
			parts, n, err := c.Partitions(context.Background(), erp.Products, s.store.Clock().Next(), erp.PartitionPlan{Size: 40, Slots: 4})
			if err != nil {
				t.Fatal(err)
			}
			if want := len(s.want(t).products); n != want {
				t.Fatalf("the plan counted %d roots, want %d", n, want)
			}
			// The walk asks for the first company after the one before: $orderby=dataAreaId&$top=1.
			walk := p.requests(erp.ReleasedProducts, "$orderby=dataAreaId", "$top=1")
			if tc.walked != (walk > 0) || p.requests(erp.LegalEntities) != 1 {
				t.Fatalf("%d requests of the walk, %d of LegalEntities; want the walk %v and LegalEntities once", walk, p.requests(erp.LegalEntities), tc.walked)
			}
			companies := map[string]bool{}
			for _, pt := range parts {
				companies[pt.Company] = true
			}
			if len(companies) != 3 {
				t.Fatalf("partitions of %d companies, want 3: %v", len(companies), parts)
			}
			got, _ := readPartitions(t, c, parts)
			compare(t, "product", got, s.want(t).products, productKey)
		})
	}
}

// TestAPlanAfterTheClockCountsInOneRound: a run reads the ERP's clock (Now) just before its
// plan, and that request is the list of LegalEntities: the plan asks for it no more, and counts
// all roots and each legal entity's roots side by side, one round of requests where a plan
// that lists the legal entities itself takes two (the list beside the count of all roots, then
// each entity's). Either way the partitions hold every product once.
func TestAPlanAfterTheClockCountsInOneRound(t *testing.T) {
	t.Parallel()
	for _, clockFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("clock first %v", clockFirst), func(t *testing.T) {
			t.Parallel()
			s := newSim(t, testCatalog())
			// Latency keeps the requests of one round in flight together.
			if err := s.srv.Load().SetFaults(erpsim.Faults{Latency: erpsim.Duration(200 * time.Millisecond)}); err != nil {
				t.Fatal(err)
			}
			p := newPlanProxy(t, s, nil)
			c := s.client(t, func(c *Config) { c.BaseURL = p.url })
			if clockFirst {
				if _, err := c.Now(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			parts, n, err := c.Partitions(context.Background(), erp.Products, s.store.Clock().Next(), erp.PartitionPlan{Size: 40, Slots: 4})
			if err != nil {
				t.Fatal(err)
			}
			companies := len(testCatalog().Companies)
			p.mu.Lock()
			most := p.mostCounting
			p.mu.Unlock()
			// The count of all roots and the companies' together, or the companies' alone.
			wantMost := companies
			if clockFirst {
				wantMost = companies + 1
			}
			if lists := p.requests(erp.LegalEntities); lists != 1 || most != wantMost {
				t.Fatalf("LegalEntities read %d times, at most %d counts at once; want once and %d", lists, most, wantMost)
			}
			if want := len(s.want(t).products); n != want {
				t.Fatalf("the plan counted %d roots, want %d", n, want)
			}
			if err := s.srv.Load().SetFaults(erpsim.Faults{}); err != nil {
				t.Fatal(err)
			}
			got, _ := readPartitions(t, c, parts)
			compare(t, "product", got, s.want(t).products, productKey)
		})
	}
}

// TestAPlanOfFewRootsIsTheirCount: roots that fit one partition are counted and not split: the
// plan ends after its first round of requests (the count of all roots beside LegalEntities),
// which is the one request a run would make to count them for its progress.
func TestAPlanOfFewRootsIsTheirCount(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	p := newPlanProxy(t, s, nil)
	c := s.client(t, func(c *Config) { c.BaseURL = p.url })
	want := len(s.want(t).products)
	parts, n, err := c.Partitions(context.Background(), erp.Products, s.store.Clock().Next(), erp.PartitionPlan{Size: want, Slots: 4})
	if err != nil || parts != nil || n != want {
		t.Fatalf("a plan of %d roots in partitions of %d: %v, counted %d, %v; want none, %d", want, want, parts, n, err, want)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.urls) != 2 {
		t.Fatalf("%d requests, want 2 (the count and LegalEntities): %v", len(p.urls), p.urls)
	}
}

// TestPartitionsStayCompleteWhileTheERPChanges: the plan is made, then products are created
// before the first key, between boundaries and after the last, and the boundary products
// themselves are deleted: reading the partitions still returns every product the ERP has, once.
func TestPartitionsStayCompleteWhileTheERPChanges(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	c := s.client(t, nil)
	parts, _, err := c.Partitions(context.Background(), erp.Products, s.store.Clock().Next(), erp.PartitionPlan{Size: 50, Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.write(t, func(tx *store.Tx) error {
		for i, p := range parts {
			if p.Through != "" {
				if err := tx.Delete(store.ReleasedProducts, store.Record{"dataAreaId": p.Company, "ItemNumber": p.Through}); err != nil {
					return err
				}
				// Just after the boundary, and the boundary's key again but longer.
				for _, k := range []string{p.Through + "0", p.Through + "-new"} {
					if _, err := tx.Create(store.ReleasedProducts, store.Record{"dataAreaId": p.Company, "ItemNumber": k, "ProductName": "new"}); err != nil {
						return err
					}
				}
			}
			// Before the first key (item numbers start at 1000) and after the last.
			for _, k := range []string{fmt.Sprintf("0-%d", i), fmt.Sprintf("~%d", i)} {
				if _, err := tx.Create(store.ReleasedProducts, store.Record{"dataAreaId": p.Company, "ItemNumber": k, "ProductName": "new"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	got, _ := readPartitions(t, c, parts)
	compare(t, "product", got, s.want(t).products, productKey)
}

// TestPartitionsOfConfiguredCompanies: with erp.companies set, only those companies are split,
// a company without roots gives no partition, and the count is of their roots alone; when those
// fit one partition, the plan is that count and no partitions.
func TestPartitionsOfConfiguredCompanies(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	c := s.client(t, func(c *Config) { c.Companies = []string{"gbsi", "nope"} })
	gbsi := 0
	for _, p := range s.want(t).products {
		if p.Company == "gbsi" {
			gbsi++
		}
	}
	until := s.store.Clock().Next()
	parts, n, err := c.Partitions(context.Background(), erp.Products, until, erp.PartitionPlan{Size: 5, Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readPartitions(t, c, parts)
	if len(parts) < 2 || n != gbsi || len(got) != gbsi {
		t.Fatalf("%d partitions holding %d products, counted %d; want several holding gbsi's %d: %v", len(parts), len(got), n, gbsi, parts)
	}
	for _, p := range got {
		if p.Company != "gbsi" {
			t.Fatalf("product %s/%s read from the partitions of gbsi", p.Company, p.ItemNumber)
		}
	}
	parts, n, err = c.Partitions(context.Background(), erp.Products, until, erp.PartitionPlan{Size: gbsi, Slots: 1})
	if err != nil || parts != nil || n != gbsi {
		t.Fatalf("partitions of %d: %v, counted %d, %v; want none, %d", gbsi, parts, n, err, gbsi)
	}
}

// TestKeysOfAPartition: an audit's key pages of one partition hold exactly its keys, in
// (company, key) order, and its pages of all partitions every key once.
func TestKeysOfAPartition(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	c := s.client(t, nil)
	parts := planProducts(t, c, 50)
	seen := map[companyKey]bool{}
	for i := range parts {
		req := erp.KeyRequest{Entity: erp.Products, PageSize: 7, Partition: &parts[i]}
		n := 0
		for {
			p, err := c.Keys(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range p.Records {
				ck := companyKey{k.Company, k.Key}
				if seen[ck] || k.Company != parts[i].Company || (parts[i].After != "" && k.Key <= parts[i].After) || (parts[i].Through != "" && k.Key > parts[i].Through) {
					t.Fatalf("key %s in partition %s (or seen before)", ck, parts[i])
				}
				seen[ck] = true
				n++
			}
			req.After = p.Next
			if p.Done {
				break
			}
		}
		if n != parts[i].Expected {
			t.Errorf("partition %s: %d keys, %d expected", parts[i], n, parts[i].Expected)
		}
	}
	if w := s.want(t); len(seen) != len(w.products) {
		t.Fatalf("%d keys read over the partitions, %d products", len(seen), len(w.products))
	}
}

// TestAPartitionIsReadInKeyOrder: the planner's partitions are read by key (ByKey): each page
// continues after the last key alone, the roots come in ascending key order within the
// partition's range, and a read resumed from a cursor of only a company and key continues
// where it stopped. The same ranges planned before reads by key existed (ByKey unset, as in a
// checkpoint of an older run) are read in change order and hold the same roots.
func TestAPartitionIsReadInKeyOrder(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	c := s.client(t, nil)
	// Every other product edited in descending key order, one at a time, so that change order
	// within a partition is not key order.
	w := s.want(t)
	edit := slices.SortedFunc(maps.Keys(w.products), func(a, b companyKey) int { return -cmp.Compare(a.company+"/"+a.key, b.company+"/"+b.key) })
	for i := 0; i < len(edit); i += 2 {
		s.write(t, func(tx *store.Tx) error {
			_, err := tx.Update(store.ReleasedProducts, store.Record{"dataAreaId": edit[i].company, "ItemNumber": edit[i].key}, store.Record{"ProductSearchName": "EDITED"})
			return err
		})
	}
	parts := planProducts(t, c, 50)
	if len(parts) < 6 {
		t.Fatalf("%d partitions, want at least 6 for 450 products in partitions of 50", len(parts))
	}
	keys := func(ps []erp.Product) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.ItemNumber
		}
		return out
	}
	var all []erp.Product
	for _, p := range parts {
		if !p.ByKey {
			t.Fatalf("partition %s is not read by key", p)
		}
		got, _, _, _ := readAll(t, c.Products, erp.ReadRequest{PageSize: 17, Partition: &p}, false)
		all = append(all, got...)
		k := keys(got)
		for i, key := range k {
			if (p.After != "" && key <= p.After) || (p.Through != "" && key > p.Through) || (i > 0 && key <= k[i-1]) {
				t.Fatalf("partition %s read %q at %d after %q: want ascending keys in its range: %v", p, key, i, k[max(i-1, 0)], k)
			}
		}

		// Resumed after its 20th root from the company and key alone.
		if len(got) > 20 {
			rest, _, _, _ := readAll(t, c.Products, erp.ReadRequest{PageSize: 17, Partition: &p,
				After: erp.Cursor{Company: p.Company, Key: got[19].ItemNumber}}, false)
			if want := k[20:]; fmt.Sprint(keys(rest)) != fmt.Sprint(want) {
				t.Fatalf("partition %s resumed after %q read %v, want %v", p, got[19].ItemNumber, keys(rest), want)
			}
		}

		old := p
		old.ByKey = false
		byStamp, _, _, _ := readAll(t, c.Products, erp.ReadRequest{PageSize: 17, Partition: &old}, false)
		for i := 1; i < len(byStamp); i++ {
			if byStamp[i].Modified.Before(byStamp[i-1].Modified) {
				t.Fatalf("partition %s without ByKey: %s stamped %s after %s: want change order", p, byStamp[i].ItemNumber, byStamp[i].Modified, byStamp[i-1].Modified)
			}
		}
		want := map[companyKey]erp.Product{}
		for _, r := range got {
			want[productKey(r)] = r
		}
		compare(t, "product of "+p.String()+" in change order", byStamp, want, productKey)
	}
	compare(t, "product", all, s.want(t).products, productKey)
}

// TestSkipInAPartitionReadByKey: stepping past a root of a partition read by key names that
// root and continues after its key: the next read starts at the root after it in key order.
func TestSkipInAPartitionReadByKey(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	c := s.client(t, nil)
	parts := planProducts(t, c, 50)
	p := parts[1]
	got, _, _, _ := readAll(t, c.Products, erp.ReadRequest{PageSize: 100, Partition: &p}, false)
	if len(got) < 12 {
		t.Fatalf("partition %s holds %d products, want at least 12", p, len(got))
	}
	after := erp.Cursor{Company: p.Company, Key: got[9].ItemNumber}
	rej, next, done, found, err := c.Skip(context.Background(), erp.Products, erp.ReadRequest{After: after, Partition: &p}, "why")
	if err != nil || !found || done || rej.Key != got[10].ItemNumber || next.Company != p.Company || next.Key != got[10].ItemNumber {
		t.Fatalf("skip after %s: rejection %s/%s, next %v, done %v found %v err %v; want %s and to continue after it",
			got[9].ItemNumber, rej.Company, rej.Key, next, done, found, err, got[10].ItemNumber)
	}
	page, err := c.Products(context.Background(), erp.ReadRequest{After: next, PageSize: 1, Partition: &p})
	if err != nil || len(page.Records) != 1 || page.Records[0].ItemNumber != got[11].ItemNumber {
		t.Fatalf("read after the skipped root: %v (%v), want %s", page.Records, err, got[11].ItemNumber)
	}
}

// TestAPartitionReadByKeyHoldsItsCompany: a page of a partition read by key is ordered by the
// key alone, so a root of another company in it means the service ignored the company filter:
// the read fails as invalid rather than carry on in a wrong order. The company's case does not
// matter (D365 compares dataAreaIds without it).
func TestAPartitionReadByKeyHoldsItsCompany(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		company string
		ok      bool
	}{{"usmf", true}, {"USMF", true}, {"demf", false}} {
		h := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/ReleasedProductsV2") && r.URL.Query().Get("$orderby") == "ItemNumber" {
				fmt.Fprintf(w, `{"value":[{"ModifiedDateTime":"2026-11-27T10:00:00Z","dataAreaId":%q,"ItemNumber":"1500","ProductName":"x"}]}`, tc.company)
				return
			}
			io.WriteString(w, `{"value":[]}`)
		})
		c := h.client(t, nil)
		p := erp.Partition{Company: "usmf", After: "1000", Through: "2000", ByKey: true}
		page, err := c.Products(context.Background(), erp.ReadRequest{PageSize: 10, Partition: &p})
		if tc.ok && (err != nil || page.Next.Key != "1500" || !page.Done) {
			t.Errorf("a root of %s in a read of usmf: next %v done %v, %v; want it read", tc.company, page.Next, page.Done, err)
		}
		if !tc.ok && failure.KindOf(err) != failure.Invalid {
			t.Errorf("a root of %s in a read of usmf: %v, want an invalid answer", tc.company, err)
		}
	}
}

// TestCompanyPartitionsKeepThePlansShares: each partition holds its share of the plan and begins
// where the plan has it begin in its lane; a boundary equal to the one before it (roots deleted
// between the reads) is dropped and the next partition holds both shares, from where the first
// began; a boundary not found (fewer roots than counted) leaves the rest to the last partition.
func TestCompanyPartitionsKeepThePlansShares(t *testing.T) {
	shares := []erp.Share{{Size: 10, Start: 0}, {Size: 10, Start: 10}, {Size: 5, Start: 0}}
	for _, tc := range []struct {
		name   string
		bounds []bound
		want   []erp.Partition
	}{
		{"as planned", []bound{{"a", true}, {"b", true}}, []erp.Partition{
			{Company: "usmf", Through: "a", Expected: 10, ByKey: true},
			{Company: "usmf", After: "a", Through: "b", Expected: 10, Start: 10, ByKey: true},
			{Company: "usmf", After: "b", Expected: 5, ByKey: true}}},
		{"a boundary again", []bound{{"a", true}, {"a", true}}, []erp.Partition{
			{Company: "usmf", Through: "a", Expected: 10, ByKey: true},
			{Company: "usmf", After: "a", Expected: 15, Start: 10, ByKey: true}}},
		{"a boundary not found", []bound{{"a", true}, {"", false}}, []erp.Partition{
			{Company: "usmf", Through: "a", Expected: 10, ByKey: true},
			{Company: "usmf", After: "a", Expected: 15, Start: 10, ByKey: true}}},
	} {
		if got := companyPartitions("usmf", shares, tc.bounds); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestAReadTakesItsWidth: a page's child collections are read as many at once as the read asks
// for (erp.ReadRequest.Width, a partitioned rebuild's share of the ERP's requests), and
// without a width as many as Config.Concurrency allows; either way the page is the same.
func TestAReadTakesItsWidth(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	// Latency keeps the requests of one round in flight together.
	if err := s.srv.Load().SetFaults(erpsim.Faults{Latency: erpsim.Duration(200 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	p := newPlanProxy(t, s, nil)
	c := s.client(t, func(c *Config) { c.BaseURL = p.url; c.Concurrency = 3 })
	read := func(width int) (erp.Page[erp.Record], int, int) {
		p.mu.Lock()
		p.most, p.urls = 0, nil
		p.mu.Unlock()
		page, err := c.Read(context.Background(), erp.Products, erp.ReadRequest{Until: s.store.Clock().Next(), Width: width})
		if err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		return page, p.most, len(p.urls)
	}
	narrow, mostNarrow, requests := read(0)
	// The roots, then their child collections: more of them than the width asked for below.
	if requests < 10 || mostNarrow != 3 {
		t.Fatalf("a read without a width: %d requests, at most %d at once; want at least 10, 3 at once", requests, mostNarrow)
	}
	wide, mostWide, _ := read(8)
	if mostWide != 8 {
		t.Fatalf("a read of width 8: at most %d requests at once", mostWide)
	}
	for _, page := range []erp.Page[erp.Record]{narrow, wide} {
		if !page.Done {
			t.Fatalf("a read of the small catalog ended at %s, want all in one page", page.Next)
		}
		var got []erp.Product
		for _, r := range page.Records {
			got = append(got, r.Value.(erp.Product))
		}
		compare(t, "product", got, s.want(t).products, productKey)
	}
}
