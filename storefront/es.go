package storefront

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/document"
)

// search runs a _search of body on index and decodes the answer into out.
func (s *Server) search(ctx context.Context, index string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("search %s: %w", index, err)
	}
	res, err := esapi.SearchRequest{Index: []string{index}, Body: bytes.NewReader(b)}.Do(ctx, s.es)
	if err != nil {
		return fmt.Errorf("search %s: %w", index, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		return fmt.Errorf("search %s: %s: %s", index, res.Status(), msg)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("search %s: decode: %w", index, err)
	}
	return nil
}

// searchReq is one search of an msearch: its index, body and where its answer goes.
type searchReq struct {
	index string
	body  any
	out   any
}

// msearch runs the searches in one _msearch request and decodes each answer into its out; any
// search that fails fails the whole.
func (s *Server) msearch(ctx context.Context, reqs []searchReq) error {
	if len(reqs) == 1 {
		return s.search(ctx, reqs[0].index, reqs[0].body, reqs[0].out)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range reqs {
		if err := enc.Encode(map[string]any{"index": r.index}); err != nil {
			return fmt.Errorf("msearch: %w", err)
		}
		if err := enc.Encode(r.body); err != nil {
			return fmt.Errorf("msearch %s: %w", r.index, err)
		}
	}
	res, err := esapi.MsearchRequest{Body: &buf}.Do(ctx, s.es)
	if err != nil {
		return fmt.Errorf("msearch: %w", err)
	}
	defer res.Body.Close()
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		return fmt.Errorf("msearch: %s: %s", res.Status(), msg)
	}
	var out struct {
		Responses []json.RawMessage `json:"responses"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return fmt.Errorf("msearch: decode: %w", err)
	}
	if len(out.Responses) != len(reqs) {
		return fmt.Errorf("msearch: %d answers to %d searches", len(out.Responses), len(reqs))
	}
	for i, r := range reqs {
		var status struct {
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(out.Responses[i], &status); err != nil {
			return fmt.Errorf("msearch %s: decode: %w", r.index, err)
		}
		if status.Error != nil || status.Status >= 300 {
			return fmt.Errorf("msearch %s: %d: %.2048s", r.index, status.Status, status.Error)
		}
		if err := json.Unmarshal(out.Responses[i], r.out); err != nil {
			return fmt.Errorf("msearch %s: decode: %w", r.index, err)
		}
	}
	return nil
}

// get reads the document of key in company from index with only the includes fields of its
// source (all when none) into out; found is false when there is no such document. The id is
// escaped as one path segment, so no key can add a parameter (?_source_excludes=blocked), cut
// the path (#) or break it (%); and the answer counts only when it is the document asked for:
// its _id, and the id and company in its source, must be the ones of company and key.
func (s *Server) get(ctx context.Context, index, company, key string, includes []string, out any) (found bool, err error) {
	id := document.ID(company, key)
	if len(includes) > 0 {
		includes = append(slices.Clip(includes), "id", "company")
	}
	res, err := esapi.GetRequest{Index: index, DocumentID: url.PathEscape(id), SourceIncludes: includes}.Do(ctx, s.es)
	if err != nil {
		return false, fmt.Errorf("get %s/%s: %w", index, id, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		return false, fmt.Errorf("get %s/%s: %s: %s", index, id, res.Status(), msg)
	}
	var doc struct {
		ID     string          `json:"_id"`
		Found  bool            `json:"found"`
		Source json.RawMessage `json:"_source"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		return false, fmt.Errorf("get %s/%s: decode: %w", index, id, err)
	}
	if !doc.Found {
		return false, nil
	}
	var env struct {
		ID      string `json:"id"`
		Company string `json:"company"`
	}
	if err := json.Unmarshal(doc.Source, &env); err != nil {
		return false, fmt.Errorf("get %s/%s: decode source: %w", index, id, err)
	}
	if doc.ID != id || env.ID != id || env.Company != strings.ToLower(company) {
		s.log.Warn("the index answered with another document than the one asked for", zap.String("index", index),
			zap.String("asked", id), zap.String("_id", doc.ID), zap.String("id", env.ID), zap.String("company", env.Company))
		return false, nil
	}
	if err := json.Unmarshal(doc.Source, out); err != nil {
		return false, fmt.Errorf("get %s/%s: decode source: %w", index, id, err)
	}
	return true, nil
}
