package storefront

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8/esapi"
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

// get reads document id of index with only the includes fields of its source into out; found
// is false when there is no such document.
func (s *Server) get(ctx context.Context, index, id string, includes []string, out any) (found bool, err error) {
	res, err := esapi.GetRequest{Index: index, DocumentID: id, SourceIncludes: includes}.Do(ctx, s.es)
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
		Found  bool            `json:"found"`
		Source json.RawMessage `json:"_source"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		return false, fmt.Errorf("get %s/%s: decode: %w", index, id, err)
	}
	if !doc.Found {
		return false, nil
	}
	if err := json.Unmarshal(doc.Source, out); err != nil {
		return false, fmt.Errorf("get %s/%s: decode source: %w", index, id, err)
	}
	return true, nil
}
