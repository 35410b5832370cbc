package search

import (
	"context"
	"fmt"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/erpsync/erpsync/erp"
)

// maxHolding bounds the documents Holding returns for one lookup: a child row belongs to a
// handful of documents, so more means a wrong model, not work to do.
const maxHolding = 10_000

// Holding returns the ids of target's documents of company h.Company whose field h.Field holds
// one of h.Values, as of the last refresh. A field inside a nested object ("prices.rec_id") is
// searched with a nested query. Change detection uses it to find the documents a changed child
// row belonged to before it moved.
func (x *Index) Holding(ctx context.Context, target string, h erp.Held) ([]string, error) {
	if len(h.Values) == 0 {
		return nil, nil
	}
	var match map[string]any = map[string]any{"terms": map[string]any{h.Field: h.Values}}
	if path, _, ok := strings.Cut(h.Field, "."); ok {
		match = map[string]any{"nested": map[string]any{"path": path, "query": match}}
	}
	q := map[string]any{
		"size":             maxHolding,
		"_source":          false,
		"track_total_hits": false,
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{"company": strings.ToLower(h.Company)}},
			match,
		}}},
	}
	var out struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	op := fmt.Sprintf("find documents of %s holding %s", target, h.Field)
	if err := x.do(ctx, op, esapi.SearchRequest{Index: []string{target}, Body: jsonBody(q)}, &out); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out.Hits.Hits))
	for _, hit := range out.Hits.Hits {
		ids = append(ids, hit.ID)
	}
	return ids, nil
}

// Stored is what the import and the audit need of an indexed document: the digest of the ERP rows
// it was built from, the hash of its content (document.Encode) and its external version.
type Stored struct {
	Digest      string
	ContentHash string
	Version     int64
}

// Stored returns the digest, content hash and version of the documents of target with the given
// ids, in real time (no refresh needed); ids without a document are absent.
func (x *Index) Stored(ctx context.Context, target string, ids []string) (map[string]Stored, error) {
	out := make(map[string]Stored, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	body := map[string]any{"ids": ids}
	var res struct {
		Docs []struct {
			ID      string `json:"_id"`
			Found   bool   `json:"found"`
			Version int64  `json:"_version"`
			Source  struct {
				Digest      string `json:"source_digest"`
				ContentHash string `json:"content_hash"`
			} `json:"_source"`
		} `json:"docs"`
	}
	req := esapi.MgetRequest{Index: target, Body: jsonBody(body), SourceIncludes: []string{"source_digest", "content_hash"}}
	if err := x.do(ctx, "read digests of "+target, req, &res); err != nil {
		return nil, err
	}
	for _, d := range res.Docs {
		if d.Found {
			out[d.ID] = Stored{Digest: d.Source.Digest, ContentHash: d.Source.ContentHash, Version: d.Version}
		}
	}
	return out, nil
}
