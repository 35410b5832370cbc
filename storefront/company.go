package storefront

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/pricing"
)

// DefaultCompanyDataTTL is how long the storefront keeps a company's categories and trade
// agreement activation before reading them again (Config.CompanyDataTTL).
const DefaultCompanyDataTTL = 5 * time.Second

// companyData is what the storefront needs of a company besides its products: the category tree
// with each category's visibility in the webshop, and the trade agreement activation. Both are
// stored once per company (the categories and activations indexes) and read together, at most
// once per Config.CompanyDataTTL, so that a visibility flip or an activation change shows in the
// shop within that time after the import wrote it. A companyData is never modified once built.
type companyData struct {
	// categories are the company's categories by id.
	categories map[string]document.Category
	// visible are the ids of the visible categories, sorted.
	visible []string
	// activation is the company's activation; the zero value (no relation searched, so base
	// prices only) when the company has no activation document.
	activation pricing.Activation
}

// companyCache holds each company's data with the time it was read.
type companyCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*companyEntry
}

// companyEntry is one company's data; its mutex is held while it is read, so that concurrent
// requests wait for one read.
type companyEntry struct {
	mu   sync.Mutex
	data *companyData
	read time.Time
}

func newCompanyCache(ttl time.Duration, now func() time.Time) *companyCache {
	return &companyCache{ttl: ttl, now: now, entries: map[string]*companyEntry{}}
}

// company returns company's data, read from the index when it is older than the TTL.
func (s *Server) company(ctx context.Context, company string) (*companyData, error) {
	c := s.companies
	c.mu.Lock()
	e, ok := c.entries[company]
	if !ok {
		e = &companyEntry{}
		c.entries[company] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.data != nil && c.now().Sub(e.read) < c.ttl {
		return e.data, nil
	}
	start := c.now()
	d, err := s.readCompany(ctx, company)
	if err != nil {
		return nil, err
	}
	e.data, e.read = d, start
	return d, nil
}

// maxCategories bounds the categories of one company the storefront reads (a page of 10,000 at a
// time): beyond it, the shop would pass a filter too large to be sensible.
const maxCategories = 100_000

// readCompany reads company's categories (all of them, in pages by id) and its activation.
func (s *Server) readCompany(ctx context.Context, company string) (*companyData, error) {
	d := &companyData{categories: map[string]document.Category{}}
	var after []any
	for {
		body := map[string]any{
			"size":             10_000,
			"track_total_hits": false,
			"query": map[string]any{"bool": map[string]any{
				"filter":   []any{term("company", company)},
				"must_not": []any{term("deleted", true)},
			}},
			"sort":    []any{map[string]any{"id": "asc"}},
			"_source": []string{"id", "company", "category_id", "name", "parent_id", "visible"},
		}
		if after != nil {
			body["search_after"] = after
		}
		var res struct {
			Hits struct {
				Hits []struct {
					Source document.Category `json:"_source"`
					Sort   []any             `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := s.search(ctx, s.categories, body, &res); err != nil {
			return nil, fmt.Errorf("read categories of %s: %w", company, err)
		}
		for _, h := range res.Hits.Hits {
			c := h.Source
			d.categories[c.CategoryID] = c
			if c.Visible {
				d.visible = append(d.visible, c.CategoryID)
			}
		}
		if n := len(res.Hits.Hits); n < 10_000 || len(d.categories) >= maxCategories {
			break
		}
		after = res.Hits.Hits[len(res.Hits.Hits)-1].Sort
	}
	slices.Sort(d.visible)

	var a document.Activation
	found, err := s.get(ctx, s.activations, company, "0", []string{"activated", "deleted"}, &a)
	if err != nil {
		return nil, fmt.Errorf("read the activation of %s: %w", company, err)
	}
	if found && !a.Deleted {
		d.activation = activationOf(a.Activated)
	}
	return d, nil
}

// activationOf turns the names of the activated PriceParameters fields into the engine's
// activation.
func activationOf(fields []string) pricing.Activation {
	var a pricing.Activation
	for _, k := range []pricing.Kind{pricing.SalesPrice, pricing.LineDiscount} {
		for _, r := range pricing.Relations(k) {
			if slices.Contains(fields, pricing.ParameterField(k, r)) {
				a.Set(k, r, true)
			}
		}
	}
	return a
}

// showsProduct reports whether the shop may show a product with these categories: one of them
// is visible (or it has none and the shop shows uncategorized products).
func (s *Server) showsProduct(cd *companyData, categoryIDs []string) bool {
	return inVisibleCategory(categoryIDs, cd.visible, s.cfg.ShowUncategorized)
}

// inVisibleCategory reports whether a product assigned to categoryIDs is in one of the visible
// categories (sorted ids), or in none at all when showUncategorized.
func inVisibleCategory(categoryIDs, visible []string, showUncategorized bool) bool {
	if len(categoryIDs) == 0 {
		return showUncategorized
	}
	for _, id := range categoryIDs {
		if _, ok := slices.BinarySearch(visible, id); ok {
			return true
		}
	}
	return false
}

// discountQuery is the search of the line discounts for an item discount group or all items that
// can apply for sh: for one of groups or all items (any group when groups is nil), in one of
// currencies (any when nil), and for the shopper (their account, their line discount group, or
// all customers; an anonymous visitor only all). It is nil when the company's activation searches
// no such relation or sh is on hold.
func discountQuery(company string, cd *companyData, sh Shopper, currencies, groups []string) map[string]any {
	searched := false
	for _, r := range pricing.Relations(pricing.LineDiscount) {
		searched = searched || r.Item != pricing.Table && cd.activation.On(pricing.LineDiscount, r)
	}
	if !searched || sh.Blocked || currencies != nil && len(currencies) == 0 {
		return nil
	}
	itemOf := []any{term("item_code", erp.ItemAll)}
	switch {
	case groups == nil:
		itemOf = append(itemOf, term("item_code", erp.ItemGroup))
	case len(groups) > 0:
		itemOf = append(itemOf, map[string]any{"bool": map[string]any{"filter": []any{term("item_code", erp.ItemGroup), terms("item_group", groups)}}})
	}
	accountOf := []any{term("account_code", erp.AccountAll)}
	if !sh.Anonymous() {
		accountOf = append(accountOf, map[string]any{"bool": map[string]any{"filter": []any{term("account_code", erp.AccountCustomer), term("customer", sh.Account)}}})
		if sh.LineDiscountGroup != "" {
			accountOf = append(accountOf, map[string]any{"bool": map[string]any{"filter": []any{term("account_code", erp.AccountGroup), term("customer_group", sh.LineDiscountGroup)}}})
		}
	}
	filter := []any{
		term("company", company),
		map[string]any{"bool": map[string]any{"should": itemOf, "minimum_should_match": 1}},
		map[string]any{"bool": map[string]any{"should": accountOf, "minimum_should_match": 1}},
	}
	if currencies != nil {
		filter = append(filter, terms("currency", currencies))
	}
	return map[string]any{
		"size":             10_000,
		"track_total_hits": false,
		"query":            map[string]any{"bool": map[string]any{"filter": filter, "must_not": []any{term("deleted", true)}}},
		"sort":             []any{map[string]any{"rec_id": "asc"}},
	}
}

// discountHits is the answer of a discountQuery.
type discountHits struct {
	Hits struct {
		Hits []struct {
			Source document.LineDiscountAgreement `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
}

func (d discountHits) lines() []document.LineDiscount {
	out := make([]document.LineDiscount, 0, len(d.Hits.Hits))
	for _, h := range d.Hits.Hits {
		out = append(out, h.Source.LineDiscount)
	}
	return out
}

// discountLines reads the line discounts for an item discount group or all items that can apply
// to the given products for sh: for their item discount groups or all items, in the currencies
// they are priced in for sh (see discountQuery).
func (s *Server) discountLines(ctx context.Context, company string, cd *companyData, sh Shopper, currencies []string, items []document.Product) ([]document.LineDiscount, error) {
	groups := []string{}
	for _, p := range items {
		if p.DiscountGroup != "" && !slices.Contains(groups, p.DiscountGroup) {
			groups = append(groups, p.DiscountGroup)
		}
	}
	body := discountQuery(company, cd, sh, currencies, groups)
	if body == nil || len(items) == 0 {
		return nil, nil
	}
	var res discountHits
	if err := s.search(ctx, s.lineDiscounts, body, &res); err != nil {
		return nil, fmt.Errorf("read line discounts of %s: %w", company, err)
	}
	return res.lines(), nil
}
