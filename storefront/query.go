package storefront

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/document"
)

// Paging limits.
const (
	DefaultPerPage = 24
	MaxPerPage     = 100
	// maxWindow is Elasticsearch's index.max_result_window: from+size beyond it needs the
	// next token (search_after).
	maxWindow = 10_000
)

// dimensionFacets are the variant dimensions offered as facets, in display order.
func dimensionFacets() []string { return []string{"color", "size", "style", "configuration"} }

// priceRange is one bucket of the price facet: From <= the shopper's "from" price < To (To 0:
// open).
type priceRange struct {
	Key      string
	From, To float64
}

// priceRanges are the buckets of the price facet.
func priceRanges() []priceRange {
	return []priceRange{{"0-50", 0, 50}, {"50-100", 50, 100}, {"100-250", 100, 250}, {"250-500", 250, 500}, {"500-", 500, 0}}
}

// SearchResult is the answer of GET /api/search.
type SearchResult struct {
	// Total is the exact number of products that match, whatever the page.
	Total    int64  `json:"total"`
	Page     int    `json:"page"`
	PerPage  int    `json:"per_page"`
	Language string `json:"language"`
	Currency string `json:"currency,omitempty"`
	Hits     []Hit  `json:"hits"`
	// Facets are the facets with their counts; each facet's counts apply every other facet's
	// selection but not its own (multi-select).
	Facets []Facet `json:"facets"`
	// Next, when set, fetches the page after this one (pass it as after=); it keeps working
	// past 10,000 hits.
	Next string `json:"next,omitempty"`
}

// Hit is one product in a result list: what its card shows.
type Hit struct {
	ID          string `json:"id"`
	Company     string `json:"company"`
	ItemNumber  string `json:"item_number"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	ImageURL    string `json:"image_url,omitempty"`
	// Price is what the shopper pays for one unit today, with the list price and the agreements
	// that gave it.
	Price      Quote    `json:"price"`
	Colors     []string `json:"colors,omitempty"`
	Sizes      []string `json:"sizes,omitempty"`
	HasVariant bool     `json:"has_variants"`
}

// Facet is one facet: its values with the number of products each.
type Facet struct {
	Name   string       `json:"name"`
	Values []FacetValue `json:"values"`
}

// FacetValue is one value of a facet; Label is what to show (a category's name).
type FacetValue struct {
	Value    string `json:"value"`
	Label    string `json:"label"`
	Count    int64  `json:"count"`
	Selected bool   `json:"selected,omitempty"`
}

// searchParams are the parsed parameters of a search.
type searchParams struct {
	text       string
	company    string
	lang       string
	shopper    Shopper
	cd         *companyData
	selected   map[string][]string // facet name -> selected values (category, color, ...)
	priceMin   *float64
	priceMax   *float64
	sort       string
	page, size int
	after      []json.RawMessage
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	p, err := s.parseSearch(r, q)
	if err != nil {
		return err
	}
	// One request: the products, and the line discounts for item groups and all items the shopper
	// can get (the prices of the page's hits join them).
	var res esSearch
	var discounts discountHits
	var currencies []string
	if p.shopper.Currency != "" {
		currencies = []string{p.shopper.Currency}
	}
	reqs := []searchReq{{s.products, s.searchBody(p), &res}}
	dq := discountQuery(p.company, p.cd, p.shopper, currencies, nil)
	if dq != nil {
		reqs = append(reqs, searchReq{s.lineDiscounts, dq, &discounts})
	}
	if err := s.msearch(ctx, reqs); err != nil {
		return err
	}
	out := SearchResult{Total: res.Hits.Total.Value, Page: p.page, PerPage: p.size, Language: p.lang, Currency: p.shopper.Currency, Hits: []Hit{}}
	items := make([]document.Product, len(res.Hits.Hits))
	for i, h := range res.Hits.Hits {
		items[i] = h.Source
	}
	// Prices for this page's hits only: their own lines, the line discounts of their item groups
	// and of all items, and the company's activation.
	qt := Quoter{Shopper: p.shopper, Activation: p.cd.activation, Discounts: discounts.lines()}
	pq := PriceQuery{Quantity: "1", Date: s.today()}
	for _, it := range items {
		out.Hits = append(out.Hits, hitOf(it, p.lang, qt.Quote(it, pq)))
	}
	if n := len(res.Hits.Hits); n == p.size && int64((p.page-1)*p.size+n) < out.Total || p.after != nil && n == p.size {
		out.Next = encodeAfter(res.Hits.Hits[n-1].Sort)
	}
	out.Facets = facetsOf(res.Aggregations, p)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// quoter reads what pricing the given products of company for sh needs besides their own
// documents: the company's activation and the line discounts for their item groups and all
// items.
func (s *Server) quoter(ctx context.Context, company string, sh Shopper, items []document.Product) (Quoter, error) {
	cd, err := s.company(ctx, company)
	if err != nil {
		return Quoter{}, err
	}
	q := Quoter{Shopper: sh, Activation: cd.activation}
	if sh.Blocked {
		return q, nil
	}
	var currencies []string
	for _, it := range items {
		if c := cmp.Or(sh.Currency, it.Currency); c != "" && !slices.Contains(currencies, c) {
			currencies = append(currencies, c)
		}
	}
	q.Discounts, err = s.discountLines(ctx, company, cd, sh, currencies, items)
	return q, err
}

func (s *Server) parseSearch(r *http.Request, q url.Values) (searchParams, error) {
	p := searchParams{selected: map[string][]string{}}
	var err error
	if p.text, err = param(q, "q", maxQuery); err != nil {
		return p, err
	}
	if p.company, err = s.companyOf(r); err != nil {
		return p, err
	}
	account, err := param(q, "customer", maxKey)
	if err != nil {
		return p, err
	}
	lang, err := param(q, "lang", maxLang)
	if err != nil {
		return p, err
	}
	for _, f := range append([]string{"category"}, dimensionFacets()...) {
		for _, v := range q[f] {
			for _, x := range strings.Split(v, ",") {
				if x = strings.TrimSpace(x); x == "" {
					continue
				}
				if _, err := checkText(f, x, maxFacetValue); err != nil {
					return p, err
				}
				if len(p.selected[f]) == maxFacetValues {
					return p, badRequest("%s: more than %d values", f, maxFacetValues)
				}
				p.selected[f] = append(p.selected[f], x)
			}
		}
	}
	for name, dst := range map[string]**float64{"price_min": &p.priceMin, "price_max": &p.priceMax} {
		d, err := amountParam(q, name)
		if err != nil {
			return p, err
		}
		if d != nil {
			f, _ := strconv.ParseFloat(d.String(), 64) // the summary field is a double
			*dst = &f
		}
	}
	p.sort = cmp.Or(strings.TrimSpace(q.Get("sort")), "relevance")
	switch p.sort {
	case "relevance", "name", "price", "price_desc":
	default:
		return p, badRequest("sort must be relevance, name, price or price_desc")
	}
	if p.size, err = intParam(q, "per_page", DefaultPerPage, MaxPerPage); err != nil {
		return p, err
	}
	// page <= maxWindow and size <= MaxPerPage: page*size cannot overflow.
	if p.page, err = intParam(q, "page", 1, maxWindow); err != nil {
		return p, err
	}
	if v := q.Get("after"); v != "" {
		if len(v) > maxAfter {
			return p, badRequest("after: not a token from next")
		}
		after, err := decodeAfter(v)
		if err != nil {
			return p, badRequest("after: not a token from next")
		}
		p.after = after
	} else if p.page*p.size > maxWindow {
		return p, badRequest("page %d is beyond the first %d hits: follow the next token instead", p.page, maxWindow)
	}
	// Only a valid request reads the customer.
	if p.shopper, err = s.shopper(r.Context(), p.company, account); err != nil {
		return p, err
	}
	if p.cd, err = s.company(r.Context(), p.company); err != nil {
		return p, err
	}
	p.lang = s.language(r.Context(), lang, p.shopper, p.company)
	return p, nil
}

// showable is the filter every product query carries: only what the shop may show, the
// products of company in a visible category (cd's visible set: a category's visibility is its
// own document's, not each product's) that are neither deleted nor sales-stopped.
func (s *Server) showable(cd *companyData, company string) (filter, mustNot []any) {
	visible := terms("category_ids", cd.visible)
	if s.cfg.ShowUncategorized {
		visible = map[string]any{"bool": map[string]any{"should": []any{
			visible,
			map[string]any{"bool": map[string]any{"must_not": map[string]any{"exists": map[string]any{"field": "category_ids"}}}},
		}, "minimum_should_match": 1}}
	}
	filter = []any{term("company", company), visible}
	mustNot = []any{term("deleted", true), term("sales_stopped", true)}
	return filter, mustNot
}

// fromPriceGroups are the groups of the "from" prices (document.FromPrice) that apply to a
// shopper with price group g: everybody's, and g's own when it has one.
func fromPriceGroups(g string) []string {
	if g == "" {
		return []string{""}
	}
	return []string{"", g}
}

// fromPriceIn matches the products whose "from" price for a shopper with price group g is within
// [lo, hi) (either open when nil): the group's own entry where the product has one, else
// everybody's (the plain field from_price).
func fromPriceIn(g string, lo, hi *float64) map[string]any {
	rg := map[string]any{}
	if lo != nil {
		rg["gte"] = *lo
	}
	if hi != nil {
		rg["lt"] = *hi
	}
	everybody := map[string]any{"range": map[string]any{"from_price": rg}}
	if g == "" {
		return everybody
	}
	own := func(filter ...any) map[string]any {
		return map[string]any{"nested": map[string]any{"path": "from_prices", "query": map[string]any{"bool": map[string]any{
			"filter": append([]any{term("from_prices.group", g)}, filter...)}}}}
	}
	return map[string]any{"bool": map[string]any{"should": []any{
		own(map[string]any{"range": map[string]any{"from_prices.price": rg}}),
		map[string]any{"bool": map[string]any{"filter": []any{everybody}, "must_not": []any{own()}}},
	}, "minimum_should_match": 1}}
}

func term(field string, v any) map[string]any {
	return map[string]any{"term": map[string]any{field: v}}
}

func terms(field string, vs []string) map[string]any {
	return map[string]any{"terms": map[string]any{field: vs}}
}

// textQuery matches q in the language's name and description, the item number, the search name
// and bar codes.
func textQuery(q, lang string) map[string]any {
	return map[string]any{"bool": map[string]any{
		"should": []any{
			map[string]any{"multi_match": map[string]any{
				"query": q, "type": "cross_fields", "operator": "and",
				"fields": []string{"name." + lang + "^3", "description." + lang, "item_number.text^2", "search_name.text"},
			}},
			map[string]any{"term": map[string]any{"item_number": map[string]any{"value": q, "boost": 10}}},
			map[string]any{"term": map[string]any{"barcodes": map[string]any{"value": q, "boost": 10}}},
		},
		"minimum_should_match": 1,
	}}
}

// facetFilter is the filter of one facet's selection, nil when nothing is selected.
func (p searchParams) facetFilter(name string) any {
	if name == "price" {
		if p.priceMin == nil && p.priceMax == nil {
			return nil
		}
		return fromPriceIn(p.shopper.PriceGroup, p.priceMin, p.priceMax)
	}
	vs := p.selected[name]
	if len(vs) == 0 {
		return nil
	}
	if name == "category" {
		return terms("category_ids", vs)
	}
	return terms("dimensions."+name, vs)
}

// facetFilters are the selections of every facet but except.
func (p searchParams) facetFilters(except string) []any {
	out := []any{}
	for _, f := range append([]string{"category", "price"}, dimensionFacets()...) {
		if f == except {
			continue
		}
		if x := p.facetFilter(f); x != nil {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) searchBody(p searchParams) map[string]any {
	filter, mustNot := s.showable(p.cd, p.company)
	query := map[string]any{"filter": filter, "must_not": mustNot}
	if p.text != "" {
		query["must"] = textQuery(p.text, p.lang)
	}
	var sort []any
	switch p.sort {
	case "name":
		sort = []any{map[string]any{"name." + p.lang + ".raw": "asc"}}
	case "price", "price_desc":
		// The shopper's "from" price: the lowest of everybody's and their group's entry, which is
		// their group's where it has one (document.FromPrice); everybody's is a plain field too.
		order := map[string]string{"price": "asc", "price_desc": "desc"}[p.sort]
		sort = []any{map[string]any{"from_price": map[string]any{"order": order, "missing": "_last"}}}
		if g := p.shopper.PriceGroup; g != "" {
			sort = []any{map[string]any{"from_prices.price": map[string]any{"order": order, "mode": "min", "missing": "_last",
				"nested": map[string]any{"path": "from_prices", "filter": terms("from_prices.group", fromPriceGroups(g))}}}}
		}
	default:
		sort = []any{map[string]any{"_score": "desc"}}
	}
	sort = append(sort, map[string]any{"id": "asc"}) // the tie-breaker that makes search_after exact

	aggs := map[string]any{
		"price": map[string]any{
			"filter": map[string]any{"bool": map[string]any{"filter": p.facetFilters("price")}},
			"aggs":   priceFacet(p.shopper.PriceGroup),
		},
	}
	if len(p.cd.visible) > 0 {
		// Only the visible categories, named from the company's category documents.
		aggs["category"] = map[string]any{
			"filter": map[string]any{"bool": map[string]any{"filter": p.facetFilters("category")}},
			"aggs": map[string]any{"ids": map[string]any{
				"terms": map[string]any{"field": "category_ids", "size": 100, "include": p.cd.visible}}},
		}
	}
	for _, d := range dimensionFacets() {
		aggs[d] = map[string]any{
			"filter": map[string]any{"bool": map[string]any{"filter": p.facetFilters(d)}},
			"aggs":   map[string]any{"values": map[string]any{"terms": map[string]any{"field": "dimensions." + d, "size": 50}}},
		}
	}
	body := map[string]any{
		"size":             p.size,
		"track_total_hits": true,
		"query":            map[string]any{"bool": query},
		"post_filter":      map[string]any{"bool": map[string]any{"filter": p.facetFilters("")}},
		"sort":             sort,
		"aggs":             aggs,
		"_source":          hitSource(p.lang),
	}
	if p.after != nil {
		body["search_after"] = p.after
	} else {
		body["from"] = (p.page - 1) * p.size
	}
	return body
}

// priceFacet counts the products in each price range by the "from" price of a shopper with price
// group g: "everybody" counts everybody's (the plain field from_price) of the products without an
// entry of g (all products when g is ""), "own" the entries of g. A product has at most one entry
// per group, so entries count products, and the two add up per range.
func priceFacet(g string) map[string]any {
	var ranges []any
	for _, r := range priceRanges() {
		x := map[string]any{"key": r.Key, "from": r.From}
		if r.To != 0 {
			x["to"] = r.To
		}
		ranges = append(ranges, x)
	}
	rangesOf := func(field string) map[string]any {
		return map[string]any{"ranges": map[string]any{"range": map[string]any{"field": field, "keyed": false, "ranges": ranges}}}
	}
	if g == "" {
		return map[string]any{"everybody": map[string]any{"filter": map[string]any{"match_all": map[string]any{}}, "aggs": rangesOf("from_price")}}
	}
	hasOwn := map[string]any{"nested": map[string]any{"path": "from_prices", "query": term("from_prices.group", g)}}
	return map[string]any{
		"everybody": map[string]any{"filter": map[string]any{"bool": map[string]any{"must_not": []any{hasOwn}}}, "aggs": rangesOf("from_price")},
		"own": map[string]any{"nested": map[string]any{"path": "from_prices"}, "aggs": map[string]any{"group": map[string]any{
			"filter": term("from_prices.group", g), "aggs": rangesOf("from_prices.price")}}},
	}
}

// hitSource are the source fields a result card needs: its texts in the shopper's language, its
// image, colours and sizes, and what its price is computed from (the product's own price and
// line discount lines, its base price, unit, currency and item discount group).
func hitSource(lang string) []string {
	return []string{"id", "company", "item_number", "language", "name." + lang, "description." + lang,
		"image_url", "currency", "unit", "base_price", "discount_group", "prices", "line_discounts",
		"dimensions.color", "dimensions.size", "sub_type"}
}

// esSearch is the part of a _search answer the storefront reads.
type esSearch struct {
	Hits struct {
		Total struct {
			Value int64 `json:"value"`
		} `json:"total"`
		Hits []struct {
			Source document.Product  `json:"_source"`
			Sort   []json.RawMessage `json:"sort"`
		} `json:"hits"`
	} `json:"hits"`
	Aggregations map[string]json.RawMessage `json:"aggregations"`
}

// text returns m[lang], else the company language's text, else any.
func text(m map[string]string, lang, own string) string {
	if t := m[lang]; t != "" {
		return t
	}
	if t := m[own]; t != "" {
		return t
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if m[k] != "" {
			return m[k]
		}
	}
	return ""
}

func hitOf(p document.Product, lang string, price Quote) Hit {
	return Hit{
		ID: p.ID, Company: p.Company, ItemNumber: p.ItemNumber,
		Name: text(p.Name, lang, p.Language), Description: text(p.Description, lang, p.Language),
		ImageURL: p.ImageURL, Price: price,
		Colors: p.Dimensions.Color, Sizes: p.Dimensions.Size, HasVariant: p.SubType == "ProductMaster",
	}
}

func facetsOf(aggs map[string]json.RawMessage, p searchParams) []Facet {
	var out []Facet
	selected := func(name, v string) bool { return slices.Contains(p.selected[name], v) }

	var cat struct {
		IDs struct {
			Buckets []struct {
				Key      string `json:"key"`
				DocCount int64  `json:"doc_count"`
			} `json:"buckets"`
		} `json:"ids"`
	}
	f := Facet{Name: "category", Values: []FacetValue{}}
	if raw, ok := aggs["category"]; ok && json.Unmarshal(raw, &cat) == nil {
		for _, b := range cat.IDs.Buckets {
			label := b.Key
			if c, ok := p.cd.categories[b.Key]; ok && c.Name != "" {
				label = c.Name
			}
			f.Values = append(f.Values, FacetValue{Value: b.Key, Label: label, Count: b.DocCount, Selected: selected("category", b.Key)})
		}
	}
	slices.SortStableFunc(f.Values, func(a, b FacetValue) int {
		return cmp.Or(-cmp.Compare(a.Count, b.Count), strings.Compare(a.Label, b.Label))
	})
	out = append(out, f)
	for _, d := range dimensionFacets() {
		var agg struct {
			Values struct {
				Buckets []struct {
					Key      string `json:"key"`
					DocCount int64  `json:"doc_count"`
				} `json:"buckets"`
			} `json:"values"`
		}
		if json.Unmarshal(aggs[d], &agg) != nil || len(agg.Values.Buckets) == 0 {
			continue
		}
		f := Facet{Name: d}
		for _, b := range agg.Values.Buckets {
			f.Values = append(f.Values, FacetValue{Value: b.Key, Label: b.Key, Count: b.DocCount, Selected: selected(d, b.Key)})
		}
		out = append(out, f)
	}
	type ranges struct {
		Ranges struct {
			Buckets []struct {
				DocCount int64 `json:"doc_count"`
			} `json:"buckets"`
		} `json:"ranges"`
	}
	var pr struct {
		Everybody ranges `json:"everybody"`
		Own       struct {
			Group ranges `json:"group"`
		} `json:"own"`
	}
	if json.Unmarshal(aggs["price"], &pr) == nil {
		f := Facet{Name: "price", Values: []FacetValue{}}
		everybody, own := pr.Everybody.Ranges.Buckets, pr.Own.Group.Ranges.Buckets
		for i, r := range priceRanges() {
			var n int64
			if i < len(everybody) {
				n += everybody[i].DocCount
			}
			if i < len(own) {
				n += own[i].DocCount
			}
			sel := p.priceMin != nil && *p.priceMin == r.From &&
				(r.To == 0 && p.priceMax == nil || r.To != 0 && p.priceMax != nil && *p.priceMax == r.To)
			f.Values = append(f.Values, FacetValue{Value: r.Key, Label: r.Key, Count: n, Selected: sel})
		}
		out = append(out, f)
	}
	return out
}

// encodeAfter makes the next token of a hit's sort values: URL-safe base64 of their JSON, kept
// exact (numbers as Elasticsearch wrote them).
func encodeAfter(sort []json.RawMessage) string {
	b, _ := json.Marshal(sort)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeAfter(tok string) ([]json.RawMessage, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, err
	}
	var out []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if len(out) == 0 || len(out) > 3 {
		return nil, fmt.Errorf("%d sort values", len(out))
	}
	for _, v := range out {
		if len(v) == 0 || (v[0] != '"' && v[0] != '-' && (v[0] < '0' || v[0] > '9') && string(v) != "null") {
			return nil, fmt.Errorf("sort value %s", v)
		}
	}
	return out, nil
}

// parseDate checks a YYYY-MM-DD date.
func parseDate(s string) (string, error) {
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", err
	}
	return s, nil
}
