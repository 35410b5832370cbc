package d365

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/erp"
)

var companyInURL = regexp.MustCompile(`dataAreaId%20eq%20'([^']*)'`)

// readsPerList counts the requests of one page by collection and company ("" for a read of
// every company): a collection's rows of one company read in two requests are a list split
// over two URLs.
func readsPerList(urls []string) map[string]int {
	n := map[string]int{}
	for _, u := range urls {
		coll := strings.TrimPrefix(u[strings.Index(u, "/data/"):], "/data/")
		coll = coll[:strings.IndexByte(coll, '?')]
		co := ""
		if m := companyInURL.FindStringSubmatch(u); m != nil {
			co = m[1]
		}
		n[coll+" "+co]++
	}
	return n
}

// readProductsLogged reads every product of part (nil: of every company) in pages of size with
// c, which goes through log, and returns them with each page's root count, whether it was the last, and its request URLs.
func readProductsLogged(t *testing.T, c *Client, log *planProxy, part *erp.Partition, size int) (all []erp.Product, pages []loggedPage) {
	t.Helper()
	req := erp.ReadRequest{PageSize: size, Partition: part}
	for range 1000 {
		p, err := c.Products(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Records...)
		pages = append(pages, loggedPage{roots: len(p.Records) + len(p.Rejected) + len(p.Gone), done: p.Done, urls: log.take()})
		if p.Done {
			return all, pages
		}
		req.After = p.Next
	}
	t.Fatal("no end after 1,000 pages")
	return nil, nil
}

type loggedPage struct {
	roots int
	done  bool
	urls  []string
}

// TestAPageEndsWhereItsChildListsAreFull reads one company's products, as a partition of a
// rebuild does, with a URL limit just under what a page's lists of item numbers need: a page
// then ends early, where the lists are full, so that each child collection is read in one
// request, and the read still returns every product with every child. A read of every
// company's products, whose pages mix companies, may split a list or end a page early,
// whichever costs fewer requests a product; it too returns every product.
func TestAPageEndsWhereItsChildListsAreFull(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	w := s.want(t)
	const size = 140
	usmf := &erp.Partition{Company: "usmf", ByKey: true}
	wantUSMF := map[companyKey]erp.Product{}
	for k, p := range w.products {
		if p.Company == "usmf" {
			wantUSMF[k] = p
		}
	}

	// The longest URL a page of 140 products of usmf (of 150) needs, with no limit that splits a list.
	log := newPlanProxy(t, s, nil)
	probe := s.client(t, func(c *Config) { c.BaseURL, c.MaxURLLength = log.url, 100_000 })
	_, unlimited := readProductsLogged(t, probe, log, usmf, size)
	longest := 0
	for _, u := range unlimited[0].urls {
		longest = max(longest, len(u))
	}
	if unlimited[0].roots != size || longest < 1024 {
		t.Fatalf("the first page of usmf: %d roots, longest URL %d bytes; the test needs %d and 1,024", unlimited[0].roots, longest, size)
	}

	for _, tc := range []struct {
		name   string
		part   *erp.Partition
		want   map[companyKey]erp.Product
		maxURL int
	}{
		{"one company", usmf, wantUSMF, longest - 40},
		{"every company", nil, w.products, longest - 40},
		{"every company, half the limit", nil, w.products, longest / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := newPlanProxy(t, s, nil)
			c := s.client(t, func(c *Config) { c.BaseURL, c.MaxURLLength = log.url, tc.maxURL })
			got, pages := readProductsLogged(t, c, log, tc.part, size)
			compare(t, "product", got, tc.want, productKey)

			short, split, requests := 0, 0, 0
			for i, p := range pages {
				requests += len(p.urls)
				for _, u := range p.urls {
					if len(u) > tc.maxURL {
						t.Fatalf("page %d: a URL of %d bytes, over the limit of %d", i, len(u), tc.maxURL)
					}
				}
				if !p.done && p.roots < size {
					short++
				}
				for list, n := range readsPerList(p.urls) {
					if n > 1 {
						split++
						if tc.part != nil {
							t.Errorf("page %d (%d roots): %s read in %d requests", i, p.roots, list, n)
						}
					}
				}
			}
			if tc.part != nil && short == 0 {
				t.Errorf("no page of %d ended early under a limit of %d bytes (%d without one)", len(pages), tc.maxURL, longest)
			}
			t.Logf("limit %d: %d products in %d pages and %d requests (%d pages ended early, %d lists split)", tc.maxURL, len(got), len(pages), requests, short, split)
		})
	}
}

// TestAMatchingReadReportsNothingGone reads the line discounts, whose roots are the lines of
// groups and all items among every line of the trade agreements, with and without Matching:
// both return the same roots; only the read without reports the item lines as gone, and the
// read with asks the ERP for the roots alone.
func TestAMatchingReadReportsNothingGone(t *testing.T) {
	t.Parallel()
	s := newSim(t, testCatalog())
	w := s.want(t)
	c := s.client(t, nil)
	items := 0
	for _, p := range w.products {
		items += len(p.LineDiscounts)
	}
	if items == 0 || len(w.lineDiscounts) == 0 {
		t.Fatalf("the catalog has %d item lines and %d of groups and all items; the test needs both", items, len(w.lineDiscounts))
	}
	read := map[bool]int64{}
	for _, matching := range []bool{false, true} {
		var got []erp.LineDiscountAgreement
		gone, bytes := 0, int64(0)
		req := erp.ReadRequest{PageSize: 50, Matching: matching}
		for {
			p, err := c.Read(context.Background(), erp.LineDiscounts, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Records {
				got = append(got, r.Value.(erp.LineDiscountAgreement))
			}
			gone += len(p.Gone)
			bytes += p.Bytes
			if p.Done {
				break
			}
			req.After = p.Next
		}
		compare(t, "line discount", got, w.lineDiscounts, lineDiscountKey)
		switch {
		case matching && gone != 0:
			t.Errorf("matching: %d lines reported gone, want none", gone)
		case !matching && gone != items:
			t.Errorf("every line: %d reported gone, want the %d item lines", gone, items)
		}
		read[matching] = bytes
		t.Logf("matching %v: %d line discounts, %d gone, %d bytes read", matching, len(got), gone, bytes)
	}
	if read[true] >= read[false] {
		t.Errorf("matching read %d bytes, every line %d: want fewer", read[true], read[false])
	}
}
