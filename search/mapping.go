package search

import (
	"github.com/erpsync/erpsync/erp"
)

// Mapping returns the explicit mapping (dynamic: strict) of e's documents, as built by package
// document. Text in languages gets one field per language (name.en, name.de ...) analysed by
// the language's analyzer (WithAnalyzer; "standard" by default) with a keyword sub-field raw
// for exact match and sorting; facets are keywords; variants, trade agreement lines, "from"
// prices and dimension values are nested so the storefront can filter on one line's fields
// together.
//
// A field an older version mapped keeps its type here (Setup can only add fields to a live
// generation); fields older documents have and this version's do not write stay mapped.
func (x *Index) Mapping(e erp.Entity) map[string]any {
	var props map[string]any
	switch e {
	case erp.Products:
		props = x.productProperties()
	case erp.Customers:
		props = customerProperties()
	case erp.Contacts:
		props = contactProperties()
	case erp.SalesReps:
		props = salesRepProperties()
	case erp.Categories:
		props = categoryProperties()
	case erp.LineDiscounts:
		props = lineDiscountProperties()
		props["rec_id"] = typ("long")
	case erp.Activations:
		props = map[string]any{"activated": keyword()}
	default:
		return nil
	}
	for k, v := range envelopeProperties() {
		props[k] = v
	}
	return map[string]any{"dynamic": "strict", "properties": props}
}

func envelopeProperties() map[string]any {
	return map[string]any{
		"id":          keyword(),
		"company":     keyword(),
		"key":         keyword(),
		"modified_at": typ("date_nanos"),
		"deleted":     typ("boolean"),
		// Compared by the audit and the import through _source only.
		"source_digest": stored(),
		"content_hash":  stored(),
		// The webshops that take the record (docs/webshops.md): the storefront filters by it.
		"webshops": keyword(),
	}
}

func (x *Index) productProperties() map[string]any {
	names, descs := map[string]any{}, map[string]any{}
	for _, l := range x.cfg.languages {
		a := x.analyzer(l)
		// index_prefixes makes prefix queries (autocomplete) fast without edge n-grams, which
		// the bare test distribution does not have.
		names[l] = map[string]any{"type": "text", "analyzer": a,
			"index_prefixes": map[string]any{"min_chars": 1, "max_chars": 10},
			"fields":         map[string]any{"raw": rawKeyword()}}
		descs[l] = map[string]any{"type": "text", "analyzer": a}
	}
	dims := map[string]any{"color": keyword(), "size": keyword(), "style": keyword(), "configuration": keyword()}
	return map[string]any{
		"item_number":     keywordWithText(),
		"search_name":     keywordWithText(),
		"sub_type":        keyword(),
		"dimension_group": keyword(),
		"product_group":   keyword(),
		"unit":            keyword(),
		"language":        keyword(),
		"languages":       keyword(),
		"name":            object(names),
		"description":     object(descs),

		"currency":         keyword(),
		"base_price":       stored(),
		"base_price_value": typ("double"),
		"price_min":        typ("double"),
		"price_max":        typ("double"),
		"discount_group":   keyword(),
		"from_price":       typ("double"),
		"from_prices": nested(map[string]any{
			"group": keyword(),
			"price": typ("double"),
		}),
		"line_discounts": nested(lineDiscountProperties()),
		"prices": nested(map[string]any{
			"rec_id":              typ("long"),
			"all_items":           typ("boolean"),
			"find_next":           storedBool(),
			"account_code":        keyword(),
			"customer":            keyword(),
			"price_group":         keyword(),
			"currency":            keyword(),
			"price":               stored(),
			"price_value":         typ("double"),
			"unit":                keyword(),
			"from_quantity":       stored(),
			"from_quantity_value": typ("double"),
			"to_quantity":         stored(),
			"to_quantity_value":   typ("double"),
			"valid_from":          day(),
			"valid_to":            day(),
			"color":               keyword(),
			"size":                keyword(),
			"style":               keyword(),
			"configuration":       keyword(),
		}),

		"visible":       typ("boolean"),
		"sales_stopped": typ("boolean"),
		"order_settings": object(map[string]any{
			"minimum_quantity":  stored(),
			"maximum_quantity":  stored(),
			"multiple_quantity": stored(),
			"standard_quantity": stored(),
		}),

		"unit_conversions": object(map[string]any{
			"from":         keyword(),
			"to":           keyword(),
			"factor":       stored(),
			"factor_value": typ("double"),
			"numerator":    typ("long"),
			"denominator":  typ("long"),
			"inner_offset": stored(),
			"outer_offset": stored(),
			"rounding":     keyword(),
		}),

		"categories": nested(map[string]any{
			"id":            keyword(),
			"name":          textWithRaw(),
			"parent_id":     keyword(),
			"visible":       typ("boolean"),
			"display_order": typ("integer"),
		}),
		"category_ids": keyword(),

		"dimensions": object(dims),
		"dimension_values": nested(map[string]any{
			"dimension":     keyword(),
			"value":         keyword(),
			"description":   keyword(),
			"display_order": typ("integer"),
		}),
		"variants": nested(map[string]any{
			"variant_number":            keyword(),
			"name":                      typ("text"),
			"description":               typ("text"),
			"color":                     keyword(),
			"color_description":         keyword(),
			"size":                      keyword(),
			"size_description":          keyword(),
			"style":                     keyword(),
			"style_description":         keyword(),
			"configuration":             keyword(),
			"configuration_description": keyword(),
			"barcodes":                  keyword(),
		}),
		"barcodes": keyword(),

		"related": object(map[string]any{
			"item_number":   keyword(),
			"relation_type": keyword(),
			"display_order": typ("integer"),
		}),
		"attachments": object(map[string]any{
			"id":            keyword(),
			"document_type": keyword(),
			"file_name":     stored(),
			"title":         stored(),
			"url":           stored(),
			"default_image": typ("boolean"),
			"display_order": typ("integer"),
		}),
		"image_url": stored(),
	}
}

// lineDiscountProperties map a line discount agreement line (document.LineDiscount): the keys and
// relations the storefront selects by are keywords, amounts and dates are only kept.
func lineDiscountProperties() map[string]any {
	return map[string]any{
		"rec_id":         typ("long"),
		"item_code":      keyword(),
		"item_number":    keyword(),
		"item_group":     keyword(),
		"account_code":   keyword(),
		"customer":       keyword(),
		"customer_group": keyword(),
		"currency":       keyword(),
		"percent1":       stored(),
		"percent2":       stored(),
		"amount":         stored(),
		"unit":           stored(),
		"from_quantity":  stored(),
		"to_quantity":    stored(),
		"valid_from":     stored(),
		"valid_to":       stored(),
		"find_next":      storedBool(),
		"color":          stored(),
		"size":           stored(),
		"style":          stored(),
		"configuration":  stored(),
	}
}

func categoryProperties() map[string]any {
	return map[string]any{
		"category_id": keyword(),
		"name":        textWithRaw(),
		"parent_id":   keyword(),
		"visible":     typ("boolean"),
	}
}

func customerProperties() map[string]any {
	return map[string]any{
		"account":             keyword(),
		"name":                textWithRaw(),
		"group":               keyword(),
		"price_group":         keyword(),
		"line_discount_group": keyword(),
		"currency":            keyword(),
		"language":            keyword(),
		"language_id":         keyword(),
		"on_hold":             keyword(),
		"blocked":             typ("boolean"),
		"sales_group":         keyword(),
		"email":               keyword(),
		"phone":               keyword(),
		"addresses": object(map[string]any{
			"id":          keyword(),
			"description": typ("text"),
			"street":      typ("text"),
			"city":        textWithRaw(),
			"zip_code":    keyword(),
			"state":       keyword(),
			"country":     keyword(),
			"roles":       keyword(),
			"primary":     typ("boolean"),
		}),
	}
}

func contactProperties() map[string]any {
	return map[string]any{
		"customer":    keyword(),
		"customer_id": keyword(),
		"first_name":  textWithRaw(),
		"last_name":   textWithRaw(),
		"name":        textWithRaw(),
		"job_title":   typ("text"),
		"email":       keyword(),
		"phone":       keyword(),
		"language":    keyword(),
		"language_id": keyword(),
	}
}

func salesRepProperties() map[string]any {
	return map[string]any{
		"personnel_number": keyword(),
		"name":             textWithRaw(),
		"email":            keyword(),
		"phone":            keyword(),
		"groups":           keyword(),
		"customers":        keyword(),
		"customer_ids":     keyword(),
	}
}

// stateMapping maps the few fields of the sync-state documents anyone queries; the rest is
// kept in _source only (dynamic: false), so State can grow without a new index.
func stateMapping() map[string]any {
	return map[string]any{"dynamic": false, "properties": map[string]any{
		"entity":  keyword(),
		"updated": typ("date"),
	}}
}

// deadLetterMapping maps what the dead-letters command filters and sorts on; the document
// source is stored as text, unindexed, whatever its shape.
func deadLetterMapping() map[string]any {
	return map[string]any{"dynamic": false, "properties": map[string]any{
		"at":         typ("date_nanos"),
		"origin":     keyword(),
		"entity":     keyword(),
		"id":         keyword(),
		"company":    keyword(),
		"key":        keyword(),
		"index":      keyword(),
		"version":    typ("long"),
		"status":     typ("integer"),
		"error_type": keyword(),
		"reason":     typ("text"),
		"source":     stored(),
	}}
}

func (x *Index) analyzer(lang string) string {
	if a := x.cfg.analyzers[lang]; a != "" {
		return a
	}
	return "standard"
}

func typ(t string) map[string]any { return map[string]any{"type": t} }

func keyword() map[string]any { return typ("keyword") }

// stored is a keyword kept in _source only: exact decimal text, URLs.
func stored() map[string]any {
	return map[string]any{"type": "keyword", "index": false, "doc_values": false}
}

// storedBool is a boolean kept in _source only.
func storedBool() map[string]any {
	return map[string]any{"type": "boolean", "index": false, "doc_values": false}
}

func rawKeyword() map[string]any { return map[string]any{"type": "keyword", "ignore_above": 256} }

func textWithRaw() map[string]any {
	return map[string]any{"type": "text", "fields": map[string]any{"raw": rawKeyword()}}
}

// keywordWithText is a keyword (exact match, sorting) with a text sub-field for full text.
func keywordWithText() map[string]any {
	return map[string]any{"type": "keyword", "fields": map[string]any{"text": typ("text")}}
}

func day() map[string]any { return map[string]any{"type": "date", "format": "strict_date"} }

func object(props map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": props}
}

func nested(props map[string]any) map[string]any {
	return map[string]any{"type": "nested", "properties": props}
}
