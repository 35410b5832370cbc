package search

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// Doc is one document as the index holds it.
type Doc struct {
	ID string
	// Index is the physical index (generation) that holds it.
	Index string
	// Version is its external version (document.Version of a time).
	Version int64
	Source  json.RawMessage
}

// Document reads document id of entity e from its alias in real time (no refresh needed); found
// is false when the index does not hold it (never written, or deleted).
func (x *Index) Document(ctx context.Context, e erp.Entity, id string) (doc Doc, found bool, err error) {
	var out struct {
		Index   string          `json:"_index"`
		Found   bool            `json:"found"`
		Version int64           `json:"_version"`
		Source  json.RawMessage `json:"_source"`
	}
	err = x.do(ctx, "read "+string(e)+" "+id, esapi.GetRequest{Index: x.Alias(e), DocumentID: id}, &out)
	if failure.KindOf(err) == failure.NotFound {
		return Doc{ID: id}, false, nil
	}
	if err != nil {
		return Doc{ID: id}, false, err
	}
	return Doc{ID: id, Index: out.Index, Version: out.Version, Source: out.Source}, out.Found, nil
}

// Companies returns the companies (lower case) whose documents of entity e have key, as of the
// last refresh: where a record lives when it is not in the company someone looked in.
func (x *Index) Companies(ctx context.Context, e erp.Entity, key string) ([]string, error) {
	q := map[string]any{
		"size":    100,
		"_source": []string{"company"},
		"query":   map[string]any{"bool": map[string]any{"filter": []any{map[string]any{"term": map[string]any{"key": key}}}}},
		"sort":    []any{map[string]any{"company": "asc"}},
	}
	var out struct {
		Hits struct {
			Hits []struct {
				Source struct {
					Company string `json:"company"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := x.do(ctx, "find "+string(e)+" "+key+" by company", esapi.SearchRequest{Index: []string{x.Alias(e)}, Body: jsonBody(q)}, &out); err != nil {
		return nil, err
	}
	var cos []string
	for _, h := range out.Hits.Hits {
		cos = append(cos, strings.ToLower(h.Source.Company))
	}
	return cos, nil
}

// VisibleCategories returns the ids of the categories of company (lower case) that are visible in
// the webshop, sorted, from the categories index as of its last refresh: what the storefront
// filters products by (storefront.HiddenBecause).
func (x *Index) VisibleCategories(ctx context.Context, company string) ([]string, error) {
	q := map[string]any{
		"size":             10_000,
		"track_total_hits": false,
		"_source":          []string{"category_id"},
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{"company": strings.ToLower(company)}},
			map[string]any{"term": map[string]any{"visible": true}},
			map[string]any{"term": map[string]any{"deleted": false}},
		}}},
	}
	var out struct {
		Hits struct {
			Hits []struct {
				Source struct {
					CategoryID string `json:"category_id"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	alias := x.Alias(erp.Categories)
	if err := x.do(ctx, "read the visible categories of "+company, esapi.SearchRequest{Index: []string{alias}, Body: jsonBody(q)}, &out); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out.Hits.Hits))
	for _, h := range out.Hits.Hits {
		ids = append(ids, h.Source.CategoryID)
	}
	slices.Sort(ids)
	return ids, nil
}
