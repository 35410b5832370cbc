package document

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/erp"
)

// Product is the search document of a released product: the whole aggregate the storefront
// shows, searches and facets on.
//
// Texts: Name and Description hold one entry per configured language code: the product's
// translation in that language, and where there is none, the product's own name and description
// (D365 keeps them in the system language), so the storefront searches and shows
// name.<shopper language> and always finds text. Languages lists the languages that have a
// translation; Language is the company's language, the shop's default for its shoppers.
//
// The document holds only what is the product's own. Categories: CategoryIDs name the
// categories it is assigned to; the categories themselves (names, tree, visibility in the webshop)
// are Category documents, and the storefront shows a product when one of its categories is
// visible, it is not deleted and not sales_stopped. A category's visibility flip therefore writes
// one Category document, not the products in it.
//
// Prices: BasePrice is the released product's sales price; Prices are its sales price agreement
// lines and LineDiscounts its own line discount agreement lines (ItemCode Table), exact decimal
// text. The line discounts for its item discount group (DiscountGroup) or all items, and the
// company's trade agreement activation, are documents of their own that the storefront joins at
// query time (docs/pricing.md). FromPrices summarise, per customer price group, the "from" price
// for the price facet and price sorting (see FromPrice); the price a customer pays is computed
// from the lines, not from the summary.
type Product struct {
	Envelope
	ItemNumber     string `json:"item_number"`
	SearchName     string `json:"search_name,omitempty"`
	SubType        string `json:"sub_type,omitempty"`
	DimensionGroup string `json:"dimension_group,omitempty"`
	ProductGroup   string `json:"product_group,omitempty"`
	Unit           string `json:"unit,omitempty"`
	// Language is the code of the company's own texts.
	Language string `json:"language"`
	// Languages are the codes that have text of their own (not a fallback), sorted.
	Languages   []string          `json:"languages,omitempty"`
	Name        map[string]string `json:"name,omitempty"`
	Description map[string]string `json:"description,omitempty"`

	Currency string `json:"currency,omitempty"`
	// BasePrice is the exact sales price; absent when the ERP has none (zero).
	BasePrice      string   `json:"base_price,omitempty"`
	BasePriceValue *float64 `json:"base_price_value,omitempty"`
	// DiscountGroup is the item line discount group (SalesLineDiscountProductGroupCode) that
	// line discounts for an item group name; absent when none.
	DiscountGroup string `json:"discount_group,omitempty"`
	// FromPrice is everybody's "from" price (FromPrice with group ""), also in FromPrices: a
	// plain field for the price facet and sort of shoppers without a price group.
	FromPrice     *float64       `json:"from_price,omitempty"`
	FromPrices    []FromPrice    `json:"from_prices,omitempty"`
	Prices        []Price        `json:"prices,omitempty"`
	LineDiscounts []LineDiscount `json:"line_discounts,omitempty"`

	SalesStopped  bool           `json:"sales_stopped"`
	OrderSettings *OrderSettings `json:"order_settings,omitempty"`
	// UnitConversions are the product's own unit conversions (of the shared product, alike in
	// every company that releases it), by from and to unit.
	UnitConversions []UnitConversion `json:"unit_conversions,omitempty"`

	// CategoryIDs are the ids of the categories the product is assigned to, in the product's
	// display order (then by id), each once: the category facet and the visibility filter.
	CategoryIDs []string `json:"category_ids,omitempty"`

	// Dimensions are the values each dimension takes, for facets; DimensionValues the same
	// with descriptions and display order.
	Dimensions      Dimensions       `json:"dimensions"`
	DimensionValues []DimensionValue `json:"dimension_values,omitempty"`
	Variants        []Variant        `json:"variants,omitempty"`
	// Barcodes are every bar code of the product and its variants.
	Barcodes []string `json:"barcodes,omitempty"`

	Related     []Related    `json:"related,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// ImageURL is the default image (or the first image) for result cards.
	ImageURL string `json:"image_url,omitempty"`
}

// Dimensions lists the values of each product dimension, sorted.
type Dimensions struct {
	Color         []string `json:"color,omitempty"`
	Size          []string `json:"size,omitempty"`
	Style         []string `json:"style,omitempty"`
	Configuration []string `json:"configuration,omitempty"`
}

// DimensionValue is one value of one dimension; Dimension is lower case ("color").
type DimensionValue struct {
	Dimension    string `json:"dimension"`
	Value        string `json:"value"`
	Description  string `json:"description,omitempty"`
	DisplayOrder int    `json:"display_order"`
}

// Variant is a product variant with its dimension values, their descriptions and its bar codes.
type Variant struct {
	VariantNumber            string   `json:"variant_number"`
	Name                     string   `json:"name,omitempty"`
	Description              string   `json:"description,omitempty"`
	Color                    string   `json:"color,omitempty"`
	ColorDescription         string   `json:"color_description,omitempty"`
	Size                     string   `json:"size,omitempty"`
	SizeDescription          string   `json:"size_description,omitempty"`
	Style                    string   `json:"style,omitempty"`
	StyleDescription         string   `json:"style_description,omitempty"`
	Configuration            string   `json:"configuration,omitempty"`
	ConfigurationDescription string   `json:"configuration_description,omitempty"`
	Barcodes                 []string `json:"barcodes,omitempty"`
}

// Related is a relation to another product of the same company.
type Related struct {
	ItemNumber   string `json:"item_number"`
	RelationType string `json:"relation_type"`
	DisplayOrder int    `json:"display_order"`
}

// Attachment is an image or document of the product.
type Attachment struct {
	ID           string `json:"id"`
	DocumentType string `json:"document_type"`
	FileName     string `json:"file_name,omitempty"`
	Title        string `json:"title,omitempty"`
	URL          string `json:"url,omitempty"`
	DefaultImage bool   `json:"default_image"`
	DisplayOrder int    `json:"display_order"`
}

// OrderSettings are the default sales order quantities as exact decimal text; a maximum or
// multiple of "0" means none.
type OrderSettings struct {
	MinimumQuantity  string `json:"minimum_quantity"`
	MaximumQuantity  string `json:"maximum_quantity"`
	MultipleQuantity string `json:"multiple_quantity"`
	StandardQuantity string `json:"standard_quantity"`
}

// UnitConversion is a product-specific unit conversion (ProductUnitOfMeasureConversions): a
// quantity q in From is (q + InnerOffset) * Factor * Numerator / Denominator + OuterOffset in To,
// rounded as Rounding says ("Nearest", "Up", "Down") to the To unit's decimals. Factor and the
// offsets are exact decimal text; FactorValue is Factor as a double, for ranges and sorting.
type UnitConversion struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	Factor      string  `json:"factor"`
	FactorValue float64 `json:"factor_value"`
	Numerator   int64   `json:"numerator"`
	Denominator int64   `json:"denominator"`
	InnerOffset string  `json:"inner_offset"`
	OuterOffset string  `json:"outer_offset"`
	Rounding    string  `json:"rounding,omitempty"`
}

// Price is a sales price agreement line of the product (SalesPriceAgreements). Price,
// FromQuantity and ToQuantity are exact decimal text; ToQuantity "0" means no upper bound;
// ValidFrom and ValidTo (YYYY-MM-DD, inclusive) are absent when the ERP has no date. Dimensions
// restrict the line to matching variants; empty ones match any.
type Price struct {
	RecID int64 `json:"rec_id"`
	// AccountCode is erp.AccountCustomer ("Table"), erp.AccountGroup ("GroupId") or
	// erp.AccountAll ("All").
	AccountCode  string `json:"account_code"`
	Customer     string `json:"customer,omitempty"`
	PriceGroup   string `json:"price_group,omitempty"`
	Currency     string `json:"currency"`
	Price        string `json:"price"`
	Unit         string `json:"unit,omitempty"`
	FromQuantity string `json:"from_quantity"`
	ToQuantity   string `json:"to_quantity"`
	ValidFrom    string `json:"valid_from,omitempty"`
	ValidTo      string `json:"valid_to,omitempty"`
	// FindNext is D365's Find next (WillSearchContinue).
	FindNext bool `json:"find_next"`
	// Dimensions are the variant the line is for (none: the item and every variant).
	erp.Dimensions
}

// LineDiscount is a line discount agreement line (SalesLineDiscountAgreements), on the product it
// is for (ItemCode Table) or as a LineDiscountAgreement document of its own (an item group or all
// items). Percent1, Percent2, Amount and the quantities are exact decimal text, dates and
// dimensions as on Price.
type LineDiscount struct {
	RecID int64 `json:"rec_id"`
	// ItemCode is erp.ItemTable, erp.ItemGroup or erp.ItemAll; ItemNumber or ItemGroup names
	// the item or the item line discount group.
	ItemCode   string `json:"item_code"`
	ItemNumber string `json:"item_number,omitempty"`
	ItemGroup  string `json:"item_group,omitempty"`
	// AccountCode is erp.AccountCustomer, erp.AccountGroup (CustomerGroup, a customer line
	// discount group) or erp.AccountAll.
	AccountCode   string `json:"account_code"`
	Customer      string `json:"customer,omitempty"`
	CustomerGroup string `json:"customer_group,omitempty"`
	Currency      string `json:"currency"`
	Percent1      string `json:"percent1"`
	Percent2      string `json:"percent2"`
	Amount        string `json:"amount"`
	Unit          string `json:"unit,omitempty"`
	FromQuantity  string `json:"from_quantity"`
	ToQuantity    string `json:"to_quantity"`
	ValidFrom     string `json:"valid_from,omitempty"`
	ValidTo       string `json:"valid_to,omitempty"`
	FindNext      bool   `json:"find_next"`
	// Dimensions are as on Price.
	erp.Dimensions
}

// FromPrice is the "from" price of the product for one customer price group, in the product's
// currency, as a double for the price facet and price sorting only. Group "" is everybody's: the
// lowest of the base price and the lines for all customers (account code All). A price group
// that has lines of its own (account code GroupId) gets the lowest of everybody's "from" price and
// those lines; a group without lines has no entry and takes everybody's. So a group's entry is
// never above everybody's, and the lowest of a shopper's group's entry and everybody's is the
// shopper's "from" price. Dates, quantities, variants, Find next and the activation are not
// considered: it is a lower bound of the prices the group sees before line discounts.
type FromPrice struct {
	Group string  `json:"group"`
	Price float64 `json:"price"`
}

// FromProduct builds the document of p. It is pure: the same record and options give the same
// document, children in a fixed order.
func FromProduct(p erp.Product, o Options) (Product, error) {
	var n numbers
	d := Product{
		Envelope:       envelope(p.Company, p.ItemNumber, p.Modified),
		ItemNumber:     p.ItemNumber,
		SearchName:     p.SearchName,
		SubType:        p.SubType,
		DimensionGroup: p.DimensionGroup,
		ProductGroup:   p.ProductGroup,
		Unit:           p.SalesUnit,
		Currency:       p.Currency,
	}
	d.Language = o.companyLanguage(p.Company)
	d.Name, d.Description, d.Languages = texts(p, o.Langs())

	if !p.SalesPrice.IsZero() {
		d.BasePrice = p.SalesPrice.String()
		v := n.value(p.SalesPrice, "SalesPrice", 0)
		d.BasePriceValue = &v
	}
	d.DiscountGroup = p.LineDiscountGroup
	d.Prices = prices(p.Prices)
	d.FromPrices = fromPrices(&n, d.BasePriceValue, p.Currency, p.Prices)
	d.UnitConversions = unitConversions(&n, p.UnitConversions)
	if n.err != nil {
		return Product{}, fmt.Errorf("product %s: %w", d.ID, n.err)
	}
	if len(d.FromPrices) > 0 && d.FromPrices[0].Group == "" {
		v := d.FromPrices[0].Price
		d.FromPrice = &v
	}
	for _, l := range p.LineDiscounts {
		d.LineDiscounts = append(d.LineDiscounts, LineDiscountOf(l))
	}
	slices.SortFunc(d.LineDiscounts, func(a, b LineDiscount) int { return cmp.Compare(a.RecID, b.RecID) })

	if s := p.OrderSettings; s != nil {
		d.SalesStopped = s.SalesStopped
		d.OrderSettings = &OrderSettings{
			MinimumQuantity:  s.MinimumQuantity.String(),
			MaximumQuantity:  s.MaximumQuantity.String(),
			MultipleQuantity: s.MultipleQuantity.String(),
			StandardQuantity: s.StandardQuantity.String(),
		}
	}

	cats := slices.Clone(p.Categories)
	slices.SortFunc(cats, func(a, b erp.ProductCategory) int {
		return cmp.Or(cmp.Compare(a.DisplayOrder, b.DisplayOrder), strings.Compare(a.ID, b.ID))
	})
	for _, c := range cats {
		if c.ID != "" && !slices.Contains(d.CategoryIDs, c.ID) {
			d.CategoryIDs = append(d.CategoryIDs, c.ID)
		}
	}

	d.DimensionValues, d.Dimensions = dimensions(p)
	d.Variants = variants(p)
	var codes []string
	for _, b := range p.Barcodes {
		codes = append(codes, b.Barcode)
	}
	d.Barcodes = sortedUnique(codes)

	for _, r := range p.Related {
		d.Related = append(d.Related, Related{ItemNumber: r.ItemNumber, RelationType: r.RelationType, DisplayOrder: r.DisplayOrder})
	}
	slices.SortFunc(d.Related, func(a, b Related) int {
		return cmp.Or(cmp.Compare(a.DisplayOrder, b.DisplayOrder), strings.Compare(a.RelationType, b.RelationType), strings.Compare(a.ItemNumber, b.ItemNumber))
	})

	for _, a := range p.Attachments {
		d.Attachments = append(d.Attachments, Attachment{ID: a.ID, DocumentType: a.DocumentType, FileName: a.FileName,
			Title: a.Title, URL: webURL(a.URL), DefaultImage: a.DefaultImage, DisplayOrder: a.DisplayOrder})
	}
	slices.SortFunc(d.Attachments, func(a, b Attachment) int {
		return cmp.Or(cmp.Compare(a.DisplayOrder, b.DisplayOrder), strings.Compare(a.ID, b.ID))
	})
	d.ImageURL = imageURL(d.Attachments)
	return d, nil
}

// texts returns the name and description per language and the languages with a translation of
// their own, as D365 F&O shows a product's texts: the product's translation
// (EcoResProductTranslation, the ProductTranslations entity) in a language wins; without one,
// the product's own name and description, which D365 keeps in the system language, stand in.
// Sources: "EcoResProductTranslation Table: stores translations of a product in different
// languages" and EcoResProductMasterDimValueTranslation::getDescriptionOrDefaultDescription: "If
// a description in the language specified ... is not found then a description in the system
// language is returned" (learn.microsoft.com/previous-versions/dynamics/ax-2012/reference/gg962386
// and dn681289; see docs/erp-model.md).
func texts(p erp.Product, langs []string) (names, descs map[string]string, own []string) {
	// Several ERP ids can map to one code (en-us, en-gb): the id equal to the code wins, then
	// the smallest id, taking the first non-empty text of each kind.
	ts := slices.Clone(p.Translations)
	slices.SortStableFunc(ts, func(a, b erp.Translation) int {
		ea, eb := strings.EqualFold(a.Language, Language(a.Language)), strings.EqualFold(b.Language, Language(b.Language))
		if ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.Language), strings.ToLower(b.Language))
	})
	name, desc := map[string]string{}, map[string]string{}
	for _, t := range ts {
		code := Language(t.Language)
		if _, ok := name[code]; !ok && t.Name != "" {
			name[code] = t.Name
		}
		if _, ok := desc[code]; !ok && t.Description != "" {
			desc[code] = t.Description
		}
	}
	names, descs = map[string]string{}, map[string]string{}
	for _, l := range langs {
		if n, ok := name[l]; ok {
			names[l] = n
			own = append(own, l)
		} else if p.Name != "" {
			names[l] = p.Name
		}
		if s, ok := desc[l]; ok {
			descs[l] = s
		} else if p.Description != "" {
			descs[l] = p.Description
		}
	}
	if len(names) == 0 {
		names = nil
	}
	if len(descs) == 0 {
		descs = nil
	}
	slices.Sort(own)
	return names, descs, own
}

// dimensionRank orders the four product dimensions; others come after them.
func dimensionRank(d string) int {
	switch d {
	case "color":
		return 0
	case "size":
		return 1
	case "style":
		return 2
	case "configuration":
		return 3
	}
	return 4
}

func dimensions(p erp.Product) ([]DimensionValue, Dimensions) {
	var out []DimensionValue
	var dims Dimensions
	for _, v := range p.DimensionValues {
		out = append(out, DimensionValue{Dimension: strings.ToLower(v.Dimension), Value: v.Value, Description: v.Description, DisplayOrder: v.DisplayOrder})
	}
	slices.SortFunc(out, func(a, b DimensionValue) int {
		return cmp.Or(cmp.Compare(dimensionRank(a.Dimension), dimensionRank(b.Dimension)), strings.Compare(a.Dimension, b.Dimension),
			cmp.Compare(a.DisplayOrder, b.DisplayOrder), strings.Compare(a.Value, b.Value))
	})
	// Facet values: the master's dimension values and whatever its variants use.
	for _, v := range out {
		switch v.Dimension {
		case "color":
			dims.Color = append(dims.Color, v.Value)
		case "size":
			dims.Size = append(dims.Size, v.Value)
		case "style":
			dims.Style = append(dims.Style, v.Value)
		case "configuration":
			dims.Configuration = append(dims.Configuration, v.Value)
		}
	}
	for _, v := range p.Variants {
		dims.Color = append(dims.Color, v.Color)
		dims.Size = append(dims.Size, v.Size)
		dims.Style = append(dims.Style, v.Style)
		dims.Configuration = append(dims.Configuration, v.Configuration)
	}
	dims.Color, dims.Size = sortedUnique(dims.Color), sortedUnique(dims.Size)
	dims.Style, dims.Configuration = sortedUnique(dims.Style), sortedUnique(dims.Configuration)
	return out, dims
}

func variants(p erp.Product) []Variant {
	describe := map[[2]string]string{}
	for _, v := range p.DimensionValues {
		describe[[2]string{strings.ToLower(v.Dimension), v.Value}] = v.Description
	}
	codes := map[erp.Dimensions][]string{}
	for _, b := range p.Barcodes {
		if !b.Dimensions.IsZero() {
			codes[b.Dimensions] = append(codes[b.Dimensions], b.Barcode)
		}
	}
	var out []Variant
	for _, v := range p.Variants {
		out = append(out, Variant{
			VariantNumber:            v.VariantNumber,
			Name:                     v.Name,
			Description:              v.Description,
			Color:                    v.Color,
			ColorDescription:         describeValue(describe, "color", v.Color),
			Size:                     v.Size,
			SizeDescription:          describeValue(describe, "size", v.Size),
			Style:                    v.Style,
			StyleDescription:         describeValue(describe, "style", v.Style),
			Configuration:            v.Configuration,
			ConfigurationDescription: describeValue(describe, "configuration", v.Configuration),
			Barcodes:                 sortedUnique(codes[v.Dimensions]),
		})
	}
	slices.SortFunc(out, func(a, b Variant) int { return strings.Compare(a.VariantNumber, b.VariantNumber) })
	return out
}

func describeValue(describe map[[2]string]string, dim, value string) string {
	if value == "" {
		return ""
	}
	return describe[[2]string{dim, value}]
}

// D365's "no date": 1900-01-01, and 2154-12-31 (the largest date) for an open end.
const (
	noDate   = "1900-01-01"
	noDateTo = "2154-12-31"
)

// date returns the YYYY-MM-DD part of an ERP date, or "" for none.
func date(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10]
	}
	if s == noDate || s == noDateTo {
		return ""
	}
	return s
}

func accountRank(code string) int {
	switch code {
	case erp.AccountCustomer:
		return 0
	case erp.AccountGroup:
		return 1
	case erp.AccountAll:
		return 2
	}
	return 3
}

func prices(lines []erp.PriceAgreement) []Price {
	var out []Price
	for _, l := range lines {
		out = append(out, Price{
			RecID:        l.RecID,
			AccountCode:  l.AccountCode,
			Customer:     l.CustomerAccount,
			PriceGroup:   l.PriceGroup,
			Currency:     l.Currency,
			Price:        l.Price.String(),
			Unit:         l.Unit,
			FromQuantity: l.FromQuantity.String(),
			ToQuantity:   l.ToQuantity.String(),
			ValidFrom:    date(l.ValidFrom),
			ValidTo:      date(l.ValidTo),
			FindNext:     l.FindNext,
			Dimensions:   l.Dimensions,
		})
	}
	slices.SortFunc(out, func(a, b Price) int {
		return cmp.Or(
			cmp.Compare(accountRank(a.AccountCode), accountRank(b.AccountCode)),
			strings.Compare(a.Customer, b.Customer),
			strings.Compare(a.PriceGroup, b.PriceGroup),
			strings.Compare(a.Currency, b.Currency),
			strings.Compare(a.Color, b.Color), strings.Compare(a.Size, b.Size),
			strings.Compare(a.Style, b.Style), strings.Compare(a.Configuration, b.Configuration),
			erp.Decimal(a.FromQuantity).Cmp(erp.Decimal(b.FromQuantity)),
			strings.Compare(a.ValidFrom, b.ValidFrom),
			cmp.Compare(a.RecID, b.RecID),
		)
	})
	return out
}

func unitConversions(n *numbers, cs []erp.UnitConversion) []UnitConversion {
	var out []UnitConversion
	for _, c := range cs {
		out = append(out, UnitConversion{From: c.From, To: c.To, Factor: c.Factor.String(),
			FactorValue: n.value(c.Factor, "unit conversion "+c.From+" to "+c.To+": Factor", 0),
			Numerator:   c.Numerator, Denominator: c.Denominator,
			InnerOffset: c.InnerOffset.String(), OuterOffset: c.OuterOffset.String(), Rounding: c.Rounding})
	}
	slices.SortFunc(out, func(a, b UnitConversion) int {
		return cmp.Or(strings.Compare(a.From, b.From), strings.Compare(a.To, b.To))
	})
	return out
}

// LineDiscountOf is the document form of a line discount agreement line.
func LineDiscountOf(l erp.LineDiscount) LineDiscount {
	return LineDiscount{
		RecID:         l.RecID,
		ItemCode:      l.ItemCode,
		ItemNumber:    l.ItemNumber,
		ItemGroup:     l.ItemGroup,
		AccountCode:   l.AccountCode,
		Customer:      l.CustomerAccount,
		CustomerGroup: l.CustomerGroup,
		Currency:      l.Currency,
		Percent1:      l.Percent1.String(),
		Percent2:      l.Percent2.String(),
		Amount:        l.Amount.String(),
		Unit:          l.Unit,
		FromQuantity:  l.FromQuantity.String(),
		ToQuantity:    l.ToQuantity.String(),
		ValidFrom:     date(l.ValidFrom),
		ValidTo:       date(l.ValidTo),
		FindNext:      l.FindNext,
		Dimensions:    l.Dimensions,
	}
}

// fromPrices are the "from" prices per price group (see FromPrice): everybody's first, then the
// groups by name. Lines in another currency than the product's (any currency when it has none)
// and customer-specific lines do not count.
func fromPrices(n *numbers, base *float64, currency string, lines []erp.PriceAgreement) []FromPrice {
	var all *float64
	lower := func(cur *float64, v float64) *float64 {
		if cur == nil || v < *cur {
			return &v
		}
		return cur
	}
	if base != nil {
		all = lower(all, *base)
	}
	groups := map[string]*float64{}
	for _, l := range lines {
		if currency != "" && l.Currency != currency {
			continue
		}
		switch {
		case l.AccountCode == erp.AccountAll:
			all = lower(all, n.value(l.Price, "Price", l.RecID))
		case l.AccountCode == erp.AccountGroup && l.PriceGroup != "":
			groups[l.PriceGroup] = lower(groups[l.PriceGroup], n.value(l.Price, "Price", l.RecID))
		}
	}
	var out []FromPrice
	if all != nil {
		out = append(out, FromPrice{Price: *all})
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		v := *groups[g]
		if all != nil {
			v = min(v, *all)
		}
		out = append(out, FromPrice{Group: g, Price: v})
	}
	return out
}

// numbers turns exact decimals into doubles, for ranges and sorting only (the exact text is
// kept beside them), and keeps the first that has no finite double.
type numbers struct{ err error }

// value is d as the nearest double, or 0 when there is none (then n.err names field, of the
// price line recID when it is not 0): a canonical Decimal always parses, but one beyond about
// 1.8e308 is +Inf or -Inf, which encoding/json refuses and Elasticsearch would not store. A value
// too small for a double rounds to zero, which is its nearest double.
func (n *numbers) value(d erp.Decimal, field string, recID int64) float64 {
	v, _ := strconv.ParseFloat(d.String(), 64)
	if math.IsInf(v, 0) || math.IsNaN(v) {
		if n.err == nil {
			text := d.String()
			if len(text) > 24 {
				text = fmt.Sprintf("%s... (%d characters)", text[:20], len(text))
			}
			if recID != 0 {
				field = fmt.Sprintf("price line %d: %s", recID, field)
			}
			n.err = fmt.Errorf("%s %s is beyond the range of a double (about 1.8e308): the document cannot hold it", field, text)
		}
		return 0
	}
	return v
}

// webURL returns u (trimmed) when it is an absolute http or https URL, else "". Attachment URLs
// end up in a shop's <a href> and <img src>, where a javascript: or data: URL from an ERP record
// would run or show whatever that record says.
func webURL(u string) string {
	u = strings.TrimSpace(u)
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" && p.Scheme != "https" || p.Host == "" {
		return ""
	}
	return u
}

func imageURL(as []Attachment) string {
	for _, a := range as {
		if a.DefaultImage && a.URL != "" {
			return a.URL
		}
	}
	for _, a := range as {
		if strings.EqualFold(a.DocumentType, "Image") && a.URL != "" {
			return a.URL
		}
	}
	return ""
}
