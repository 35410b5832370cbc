package storefront

import (
	"bytes"
	"cmp"
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

// priceRange is one bucket of the price facet: From <= price_min < To (To 0: open).
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

// Hit is one product in a result list.
type Hit struct {
	ID          string `json:"id"`
	Company     string `json:"company"`
	ItemNumber  string `json:"item_number"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	ImageURL    string `json:"image_url,omitempty"`
	// Price is what the shopper pays for one unit today.
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
	body := s.searchBody(p)
	var res esSearch
	if err := s.search(ctx, s.products, body, &res); err != nil {
		return err
	}
	out := SearchResult{Total: res.Hits.Total.Value, Page: p.page, PerPage: p.size, Language: p.lang, Currency: p.shopper.Currency, Hits: []Hit{}}
	today := s.today()
	for _, h := range res.Hits.Hits {
		out.Hits = append(out.Hits, hitOf(h.Source, p.lang, p.shopper, today))
	}
	if n := len(res.Hits.Hits); n == p.size && int64((p.page-1)*p.size+n) < out.Total || p.after != nil && n == p.size {
		out.Next = encodeAfter(res.Hits.Hits[n-1].Sort)
	}
	out.Facets = facetsOf(res.Aggregations, p)
	writeJSON(w, http.StatusOK, out)
	return nil
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
	p.lang = s.language(r.Context(), lang, p.shopper, p.company)
	return p, nil
}

// showable is the filter every product query carries: only what the shop may show.
func showable(company string) (filter, mustNot []any) {
	filter = []any{term("company", company), term("visible", true)}
	mustNot = []any{term("deleted", true), term("sales_stopped", true)}
	return filter, mustNot
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
		rg := map[string]any{}
		if p.priceMin != nil {
			rg["gte"] = *p.priceMin
		}
		if p.priceMax != nil {
			rg["lt"] = *p.priceMax
		}
		return map[string]any{"range": map[string]any{"price_min": rg}}
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
	filter, mustNot := showable(p.company)
	query := map[string]any{"filter": filter, "must_not": mustNot}
	if p.text != "" {
		query["must"] = textQuery(p.text, p.lang)
	}
	var sort []any
	switch p.sort {
	case "name":
		sort = []any{map[string]any{"name." + p.lang + ".raw": "asc"}}
	case "price":
		sort = []any{map[string]any{"price_min": map[string]any{"order": "asc", "missing": "_last"}}}
	case "price_desc":
		sort = []any{map[string]any{"price_min": map[string]any{"order": "desc", "missing": "_last"}}}
	default:
		sort = []any{map[string]any{"_score": "desc"}}
	}
	sort = append(sort, map[string]any{"id": "asc"}) // the tie-breaker that makes search_after exact

	aggs := map[string]any{
		"category": map[string]any{
			"filter": map[string]any{"bool": map[string]any{"filter": p.facetFilters("category")}},
			"aggs": map[string]any{"categories": map[string]any{
				"nested": map[string]any{"path": "categories"},
				"aggs": map[string]any{"visible": map[string]any{
					"filter": term("categories.visible", true),
					"aggs": map[string]any{"ids": map[string]any{
						"terms": map[string]any{"field": "categories.id", "size": 100},
						"aggs": map[string]any{
							"products": map[string]any{"reverse_nested": map[string]any{}},
							"name":     map[string]any{"terms": map[string]any{"field": "categories.name.raw", "size": 1}},
						},
					}},
				}},
			}},
		},
		"price": map[string]any{
			"filter": map[string]any{"bool": map[string]any{"filter": p.facetFilters("price")}},
			"aggs":   map[string]any{"ranges": map[string]any{"range": map[string]any{"field": "price_min", "keyed": false, "ranges": esRanges()}}},
		},
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

func esRanges() []any {
	var out []any
	for _, r := range priceRanges() {
		x := map[string]any{"key": r.Key, "from": r.From}
		if r.To != 0 {
			x["to"] = r.To
		}
		out = append(out, x)
	}
	return out
}

// hitSource are the source fields a result card needs.
func hitSource(lang string) []string {
	return []string{"id", "company", "item_number", "language", "name." + lang, "description." + lang,
		"image_url", "currency", "base_price", "prices", "dimensions", "sub_type"}
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

func hitOf(p document.Product, lang string, sh Shopper, today string) Hit {
	return Hit{
		ID: p.ID, Company: p.Company, ItemNumber: p.ItemNumber,
		Name: text(p.Name, lang, p.Language), Description: text(p.Description, lang, p.Language),
		ImageURL: p.ImageURL, Price: PriceFor(p, sh, PriceQuery{Quantity: "1", Date: today}),
		Colors: p.Dimensions.Color, Sizes: p.Dimensions.Size, HasVariant: p.SubType == "ProductMaster",
	}
}

func facetsOf(aggs map[string]json.RawMessage, p searchParams) []Facet {
	var out []Facet
	selected := func(name, v string) bool { return slices.Contains(p.selected[name], v) }

	var cat struct {
		Categories struct {
			Visible struct {
				IDs struct {
					Buckets []struct {
						Key      string `json:"key"`
						Products struct {
							DocCount int64 `json:"doc_count"`
						} `json:"products"`
						Name struct {
							Buckets []struct {
								Key string `json:"key"`
							} `json:"buckets"`
						} `json:"name"`
					} `json:"buckets"`
				} `json:"ids"`
			} `json:"visible"`
		} `json:"categories"`
	}
	if json.Unmarshal(aggs["category"], &cat) == nil {
		f := Facet{Name: "category", Values: []FacetValue{}}
		for _, b := range cat.Categories.Visible.IDs.Buckets {
			label := b.Key
			if len(b.Name.Buckets) > 0 {
				label = b.Name.Buckets[0].Key
			}
			f.Values = append(f.Values, FacetValue{Value: b.Key, Label: label, Count: b.Products.DocCount, Selected: selected("category", b.Key)})
		}
		slices.SortStableFunc(f.Values, func(a, b FacetValue) int {
			return cmp.Or(-cmp.Compare(a.Count, b.Count), strings.Compare(a.Label, b.Label))
		})
		out = append(out, f)
	}
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
	var pr struct {
		Ranges struct {
			Buckets []struct {
				Key      string   `json:"key"`
				From     *float64 `json:"from"`
				To       *float64 `json:"to"`
				DocCount int64    `json:"doc_count"`
			} `json:"buckets"`
		} `json:"ranges"`
	}
	if json.Unmarshal(aggs["price"], &pr) == nil {
		f := Facet{Name: "price", Values: []FacetValue{}}
		for _, b := range pr.Ranges.Buckets {
			sel := b.From != nil && p.priceMin != nil && *p.priceMin == *b.From &&
				(b.To == nil && p.priceMax == nil || b.To != nil && p.priceMax != nil && *p.priceMax == *b.To)
			f.Values = append(f.Values, FacetValue{Value: b.Key, Label: b.Key, Count: b.DocCount, Selected: sel})
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
