package storefront

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/webshop"
)

// Product is the answer of GET /api/products/{company}/{item}: what a product page shows. It
// carries no trade agreement lines, only the shopper's own prices.
type Product struct {
	ID          string `json:"id"`
	Company     string `json:"company"`
	ItemNumber  string `json:"item_number"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Language    string `json:"language"`
	Unit        string `json:"unit,omitempty"`
	ImageURL    string `json:"image_url,omitempty"`
	// Price is what the shopper pays for one unit today (the generic, non-variant price).
	Price       Quote                     `json:"price"`
	Categories  []CategoryRef             `json:"categories,omitempty"`
	Dimensions  []document.DimensionValue `json:"dimension_values,omitempty"`
	Variants    []Variant                 `json:"variants,omitempty"`
	Barcodes    []string                  `json:"barcodes,omitempty"`
	Attachments []document.Attachment     `json:"attachments,omitempty"`
	Related     []RelatedProduct          `json:"related,omitempty"`
	// Order holds the order quantities; absent when the ERP has no order settings.
	Order *OrderQuantities `json:"order,omitempty"`
	// UnitConversions say how many of another unit one unit is ("1 box = 12 ea"), by from unit.
	UnitConversions []UnitConversion `json:"unit_conversions,omitempty"`
}

// UnitConversion is a product's unit conversion as its page shows it: one From is Quantity To.
type UnitConversion struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Quantity is exact decimal text; at most 6 decimals, rounded as the conversion says.
	Quantity string `json:"quantity"`
}

// CategoryRef is a visible category of a product.
type CategoryRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Variant is a product variant with its dimension values, bar codes and the shopper's price.
type Variant struct {
	document.Variant
	Price Quote `json:"price"`
}

// RelatedProduct is a related product the shop may show.
type RelatedProduct struct {
	Hit
	RelationType string `json:"relation_type"`
}

// OrderQuantities are exact decimal text; Maximum and Multiple are "" when there is none.
type OrderQuantities struct {
	Minimum  string `json:"minimum,omitempty"`
	Maximum  string `json:"maximum,omitempty"`
	Multiple string `json:"multiple,omitempty"`
	Standard string `json:"standard,omitempty"`
}

// Why the shop does not show a product (HiddenBecause).
const (
	HiddenDeleted      = "deleted"
	HiddenInvisible    = "in no visible category"
	HiddenSalesStopped = "sales stopped"
)

// HiddenBecause returns why the shop does not show product p, in the order the rule checks
// them; none when it shows it. visible are the ids of its company's visible categories, sorted
// (the categories index); showUncategorized is Config.ShowUncategorized. It is the rule product
// pages, search and facets apply (search filters by the visible categories and excludes deleted
// and sales_stopped), so that `starter explain` can answer "why is SKU X not in the shop?"
// with the shop's own rule.
func HiddenBecause(p document.Product, visible []string, showUncategorized bool) []string {
	var why []string
	if p.Deleted {
		why = append(why, HiddenDeleted)
	}
	if !inVisibleCategory(p.CategoryIDs, visible, showUncategorized) {
		why = append(why, HiddenInvisible)
	}
	if p.SalesStopped {
		why = append(why, HiddenSalesStopped)
	}
	return why
}

// showableProduct reads the product item of shop's company and returns it only when the webshop
// takes it and the shop may show it (HiddenBecause says nothing, with the categories the
// webshop shows); a 404 otherwise.
func (s *Server) showableProduct(ctx context.Context, shop webshop.Webshop, item string) (document.Product, error) {
	var p document.Product
	found, err := s.get(ctx, s.products, shop.Company, item, nil, &p)
	if err != nil {
		return p, fmt.Errorf("read product: %w", err)
	}
	cd, err := s.company(ctx, shop.Company)
	if err != nil {
		return p, err
	}
	if !found || !slices.Contains(p.Webshops, shop.ID) || len(HiddenBecause(p, cd.visibleIn(shop), s.cfg.ShowUncategorized)) > 0 {
		return p, apiError(http.StatusNotFound, "not_found", "no product %s in webshop %s", item, shop.ID)
	}
	return p, nil
}

func (s *Server) handleProduct(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	company, err := checkCompany(r.PathValue("company"))
	if err != nil {
		return err
	}
	item, err := checkText("item", r.PathValue("item"), maxKey)
	if err != nil {
		return err
	}
	lang, err := param(q, "lang", maxLang)
	if err != nil {
		return err
	}
	a, err := s.act(r, company)
	if err != nil {
		return err
	}
	sh := a.customer
	p, err := s.showableProduct(ctx, a.shop, item)
	if err != nil {
		return err
	}
	lang = a.language(lang)
	related, err := s.related(ctx, a.shop, p, lang)
	if err != nil {
		return err
	}
	// One read of the line discounts for the product and its related products.
	priced := []document.Product{p}
	for _, r := range related {
		priced = append(priced, r.doc)
	}
	qt, err := s.quoter(ctx, company, sh, priced)
	if err != nil {
		return err
	}
	cd, err := s.company(ctx, company)
	if err != nil {
		return err
	}
	pq := PriceQuery{Quantity: "1", Date: s.today()}
	out := Product{
		ID: p.ID, Company: p.Company, ItemNumber: p.ItemNumber, Language: lang, Unit: p.Unit, ImageURL: p.ImageURL,
		Name: text(p.Name, lang, p.Language), Description: text(p.Description, lang, p.Language),
		Price:       qt.Quote(p, pq),
		Dimensions:  p.DimensionValues,
		Barcodes:    p.Barcodes,
		Attachments: p.Attachments,
	}
	for _, id := range p.CategoryIDs {
		if c, ok := cd.categories[id]; ok && c.Visible {
			out.Categories = append(out.Categories, CategoryRef{ID: id, Name: c.Name})
		}
	}
	for _, v := range p.Variants {
		vq := pq
		vq.Variant = dimsOf(v)
		out.Variants = append(out.Variants, Variant{Variant: v, Price: qt.Quote(p, vq)})
	}
	if o := p.OrderSettings; o != nil {
		none := func(d string) string {
			if erp.Decimal(d).IsZero() {
				return ""
			}
			return d
		}
		out.Order = &OrderQuantities{Minimum: none(o.MinimumQuantity), Maximum: none(o.MaximumQuantity), Multiple: none(o.MultipleQuantity), Standard: none(o.StandardQuantity)}
	}
	for _, r := range related {
		out.Related = append(out.Related, RelatedProduct{Hit: hitOf(r.doc, lang, qt.Quote(r.doc, pq)), RelationType: r.relation})
	}
	for _, c := range p.UnitConversions {
		if q, ok := perUnit(c); ok {
			out.UnitConversions = append(out.UnitConversions, UnitConversion{From: c.From, To: c.To, Quantity: q})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// perUnit returns how many of c.To one c.From is, by D365's rule for a unit conversion: a
// quantity q in the from unit is (q + inner offset) * factor * numerator / denominator + outer
// offset in the to unit ("Unit conversions (form)", Microsoft Dynamics AX 2012,
// learn.microsoft.com/dynamicsax-2012/unit-conversions-form; docs/erp-model.md). D365 rounds
// the result to the to unit's decimals (UnitsOfMeasure, which erpsync does not read); the page
// shows it exactly up to 6 decimals and beyond them rounds as the conversion says: Up, Down or
// to the nearest (UnitOfMeasureConversionRounding). ok is false for a conversion that cannot
// convert (a zero denominator, a number that is not decimal text).
func perUnit(c document.UnitConversion) (q string, ok bool) {
	num := func(s string) (*big.Rat, bool) {
		if s == "" {
			return new(big.Rat), true
		}
		return new(big.Rat).SetString(s)
	}
	f, ok1 := num(c.Factor)
	in, ok2 := num(c.InnerOffset)
	out, ok3 := num(c.OuterOffset)
	if !ok1 || !ok2 || !ok3 || c.Denominator == 0 {
		return "", false
	}
	r := new(big.Rat).Add(big.NewRat(1, 1), in)
	r.Mul(r, f).Mul(r, big.NewRat(c.Numerator, c.Denominator)).Add(r, out)
	const decimals = 6
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(decimals), nil)))
	n, rem := new(big.Int).QuoRem(scaled.Num(), scaled.Denom(), new(big.Int)) // toward zero
	if rem.Sign() != 0 {
		sign := big.NewInt(int64(r.Sign()))
		switch c.Rounding {
		case "Up":
			if r.Sign() > 0 {
				n.Add(n, sign)
			}
		case "Down":
			if r.Sign() < 0 {
				n.Add(n, sign)
			}
		default: // Nearest, half away from zero
			if new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2)).Cmp(scaled.Denom()) >= 0 {
				n.Add(n, sign)
			}
		}
	}
	text := new(big.Rat).SetFrac(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(decimals), nil)).FloatString(decimals)
	if strings.Contains(text, ".") {
		text = strings.TrimRight(strings.TrimRight(text, "0"), ".")
	}
	if text == "-0" {
		text = "0"
	}
	return text, true
}

// relatedDoc is a related product's document and how it relates.
type relatedDoc struct {
	doc      document.Product
	relation string
}

// related returns p's related products that shop may show, in p's order.
func (s *Server) related(ctx context.Context, shop webshop.Webshop, p document.Product, lang string) ([]relatedDoc, error) {
	if len(p.Related) == 0 {
		return nil, nil
	}
	var ids []string
	for _, r := range p.Related {
		ids = append(ids, document.ID(p.Company, r.ItemNumber))
	}
	cd, err := s.company(ctx, p.Company)
	if err != nil {
		return nil, err
	}
	filter, mustNot := s.showable(cd, shop)
	body := map[string]any{
		"size":    len(ids),
		"query":   map[string]any{"bool": map[string]any{"filter": append(filter, terms("id", ids)), "must_not": mustNot}},
		"_source": hitSource(lang),
	}
	var res esSearch
	if err := s.search(ctx, s.products, body, &res); err != nil {
		return nil, fmt.Errorf("read related products: %w", err)
	}
	byID := map[string]document.Product{}
	for _, h := range res.Hits.Hits {
		byID[h.Source.ID] = h.Source
	}
	var out []relatedDoc
	for i, r := range p.Related {
		if rp, ok := byID[ids[i]]; ok {
			out = append(out, relatedDoc{doc: rp, relation: r.RelationType})
		}
	}
	return out, nil
}

func dimsOf(v document.Variant) VariantDims {
	return VariantDims{Color: v.Color, Size: v.Size, Style: v.Style, Configuration: v.Configuration}
}

// PriceAnswer is the answer of GET /api/price.
type PriceAnswer struct {
	Company    string `json:"company"`
	ItemNumber string `json:"item_number"`
	Customer   string `json:"customer,omitempty"`
	Variant    string `json:"variant,omitempty"`
	Quantity   string `json:"quantity"`
	Date       string `json:"date"`
	Quote
}

func (s *Server) handlePrice(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	company, err := param(q, "company", maxCompany)
	if err != nil {
		return err
	}
	item, err := param(q, "item", maxKey)
	if err != nil {
		return err
	}
	if item == "" {
		return badRequest("item is required")
	}
	variant, err := param(q, "variant", maxKey)
	if err != nil {
		return err
	}
	qty := erp.Decimal("1")
	if d, err := amountParam(q, "quantity"); err != nil || d != nil && d.IsZero() {
		return badRequest("quantity must be a positive decimal number up to %.0f", float64(maxAmount))
	} else if d != nil {
		qty = *d
	}
	date := s.today()
	if v := q.Get("date"); v != "" {
		d, err := parseDate(v)
		if err != nil {
			return badRequest("date must be YYYY-MM-DD")
		}
		date = d
	}
	a, err := s.act(r, company)
	if err != nil {
		return err
	}
	company, sh := a.shop.Company, a.customer
	p, err := s.showableProduct(ctx, a.shop, item)
	if err != nil {
		return err
	}
	pq := PriceQuery{Quantity: qty, Date: date}
	if variant != "" {
		i := slices.IndexFunc(p.Variants, func(v document.Variant) bool { return v.VariantNumber == variant })
		if i < 0 {
			return apiError(http.StatusNotFound, "not_found", "product %s has no variant %s", item, variant)
		}
		pq.Variant = dimsOf(p.Variants[i])
	}
	qt, err := s.quoter(ctx, company, sh, []document.Product{p})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, PriceAnswer{Company: company, ItemNumber: p.ItemNumber, Customer: sh.Account, Variant: variant,
		Quantity: qty.String(), Date: date, Quote: qt.Quote(p, pq)})
	return nil
}

// Suggestion is one autocomplete entry.
type Suggestion struct {
	ItemNumber string `json:"item_number"`
	Name       string `json:"name"`
}

func (s *Server) handleAutocomplete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	prefix, err := param(q, "q", maxPrefix)
	if err != nil {
		return err
	}
	company, err := param(q, "company", maxCompany)
	if err != nil {
		return err
	}
	lang, err := param(q, "lang", maxLang)
	if err != nil {
		return err
	}
	out := struct {
		Suggestions []Suggestion `json:"suggestions"`
	}{Suggestions: []Suggestion{}}
	a, err := s.act(r, company)
	if err != nil {
		return err
	}
	if prefix == "" {
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	lang = a.language(lang)
	cd, err := s.company(ctx, a.shop.Company)
	if err != nil {
		return err
	}
	filter, mustNot := s.showable(cd, a.shop)
	body := map[string]any{
		"size": 8,
		"query": map[string]any{"bool": map[string]any{
			"filter": filter, "must_not": mustNot,
			"should": []any{
				// index_prefixes on name.<lang> makes the last term's prefix cheap.
				map[string]any{"match_phrase_prefix": map[string]any{"name." + lang: map[string]any{"query": prefix, "max_expansions": 50}}},
				map[string]any{"match_bool_prefix": map[string]any{"name." + lang: map[string]any{"query": prefix, "operator": "and"}}},
				map[string]any{"prefix": map[string]any{"item_number": map[string]any{"value": prefix, "boost": 2}}},
			},
			"minimum_should_match": 1,
		}},
		"sort":    []any{map[string]any{"_score": "desc"}, map[string]any{"id": "asc"}},
		"_source": []string{"item_number", "language", "name." + lang},
	}
	var res esSearch
	if err := s.search(ctx, s.products, body, &res); err != nil {
		return err
	}
	for _, h := range res.Hits.Hits {
		out.Suggestions = append(out.Suggestions, Suggestion{ItemNumber: h.Source.ItemNumber, Name: text(h.Source.Name, lang, h.Source.Language)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
