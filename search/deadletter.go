package search

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// Origins of dead letters.
const (
	// OriginElasticsearch marks a document Elasticsearch rejected.
	OriginElasticsearch = "elasticsearch"
	// OriginERP marks a record the ERP side could not read (erp.Rejection).
	OriginERP = "erp"
)

// DeadLetter is a record that did not reach the index, and why. Dead letters are kept in
// <prefix>-dead-letters for people to look at; nothing reads them back automatically.
type DeadLetter struct {
	At     time.Time  `json:"at"`
	Origin string     `json:"origin"`
	Entity erp.Entity `json:"entity,omitempty"`
	// ID is the document id; Company and Key the record's.
	ID      string `json:"id"`
	Company string `json:"company,omitempty"`
	Key     string `json:"key,omitempty"`
	// Index is where the write went (Elasticsearch rejections only).
	Index   string `json:"index,omitempty"`
	Version int64  `json:"version,omitempty"`
	// Status is Elasticsearch's item status (Elasticsearch rejections only).
	Status int `json:"status,omitempty"`
	// ErrorType is Elasticsearch's error type ("document_parsing_exception").
	ErrorType string `json:"error_type,omitempty"`
	Reason    string `json:"reason"`
	// Source is the document (or the ERP's raw record) as text.
	Source string `json:"source,omitempty"`
}

// docID is the dead letter's own _id: one per entity, document, version (or rejection), so a
// retried write replaces rather than repeats it.
func (d DeadLetter) docID() string {
	if d.Origin == OriginERP {
		h := fnv.New64a()
		h.Write([]byte(d.Reason))
		h.Write([]byte{0})
		h.Write([]byte(d.Source))
		return fmt.Sprintf("%s/%s/rejected/%x", d.Entity, d.ID, h.Sum64())
	}
	return fmt.Sprintf("%s/%s/%d", d.Entity, d.ID, d.Version)
}

func (x *Index) deadLetter(target string, p pendingOp, r itemResult) DeadLetter {
	company, key, _ := strings.Cut(p.op.ID, ":")
	return DeadLetter{
		At:        x.cfg.now().UTC(),
		Origin:    OriginElasticsearch,
		Entity:    x.entityOf(target),
		ID:        p.op.ID,
		Company:   company,
		Key:       key,
		Index:     target,
		Version:   p.op.Version,
		Status:    r.status,
		ErrorType: r.errType,
		Reason:    r.reason(),
		Source:    string(p.body),
	}
}

// DeadLetter records dead letters of any origin (At defaults to now). It returns when
// Elasticsearch has them.
func (x *Index) DeadLetter(ctx context.Context, dls ...DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	dls = slices.Clone(dls)
	for i := range dls {
		if dls[i].At.IsZero() {
			dls[i].At = x.cfg.now().UTC()
		}
	}
	return x.addDeadLetters(ctx, dls)
}

// DeadLetterRejections records records the ERP side could not read. It returns when
// Elasticsearch has them.
func (x *Index) DeadLetterRejections(ctx context.Context, rs []erp.Rejection) error {
	if len(rs) == 0 {
		return nil
	}
	dls := make([]DeadLetter, 0, len(rs))
	for _, r := range rs {
		dls = append(dls, DeadLetter{
			At:      x.cfg.now().UTC(),
			Origin:  OriginERP,
			Entity:  r.Entity,
			ID:      document.ID(r.Company, r.Key),
			Company: strings.ToLower(r.Company),
			Key:     r.Key,
			Reason:  r.Reason,
			Source:  string(r.Raw),
		})
	}
	return x.addDeadLetters(ctx, dls)
}

// addDeadLetters writes dls in one bulk request and waits until they are searchable; it fails
// unless every one is stored.
func (x *Index) addDeadLetters(ctx context.Context, dls []DeadLetter) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, d := range dls {
		meta := map[string]any{"index": map[string]any{"_index": x.DeadLetterIndex(), "_id": d.docID()}}
		if err := enc.Encode(meta); err != nil {
			return err
		}
		if err := enc.Encode(d); err != nil {
			return err
		}
	}
	var out struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"items"`
	}
	op := "write dead letters"
	if err := x.do(ctx, op, esapi.BulkRequest{Body: &buf, Refresh: "wait_for"}, &out); err != nil {
		return err
	}
	if out.Errors {
		for _, it := range out.Items {
			for _, r := range it {
				if r.Status >= 300 {
					return failure.E(failure.FromStatus(r.Status), op, fmt.Errorf("status %d: %s", r.Status, r.Error))
				}
			}
		}
	}
	return nil
}

// DeadLetterQuery selects dead letters; its zero value selects every one.
type DeadLetterQuery struct {
	// Entity, when set, selects that entity's.
	Entity erp.Entity
	// IDs, when set, selects those of these document ids ("usmf:1000").
	IDs []string
	// Before, when set, selects those recorded before it.
	Before time.Time
}

func (q DeadLetterQuery) query() map[string]any {
	var filter []any
	if q.Entity != "" {
		filter = append(filter, map[string]any{"term": map[string]any{"entity": q.Entity}})
	}
	if len(q.IDs) > 0 {
		filter = append(filter, map[string]any{"terms": map[string]any{"id": q.IDs}})
	}
	if !q.Before.IsZero() {
		filter = append(filter, map[string]any{"range": map[string]any{"at": map[string]any{"lt": q.Before.UTC().Format(time.RFC3339Nano)}}})
	}
	if len(filter) == 0 {
		return map[string]any{"match_all": map[string]any{}}
	}
	return map[string]any{"bool": map[string]any{"filter": filter}}
}

// DeadLetters returns up to limit dead letters, newest first; none when there are none.
func (x *Index) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	return x.FindDeadLetters(ctx, DeadLetterQuery{}, limit)
}

// FindDeadLetters returns up to limit (at most 10,000) of the dead letters q selects, newest
// first; none when there are none.
func (x *Index) FindDeadLetters(ctx context.Context, q DeadLetterQuery, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		return nil, nil
	}
	body := map[string]any{
		"size":  min(limit, 10_000),
		"query": q.query(),
		"sort":  []any{map[string]any{"at": "desc"}, map[string]any{"id": "asc"}},
	}
	var out struct {
		Hits struct {
			Hits []struct {
				Source DeadLetter `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	err := x.do(ctx, "read dead letters", esapi.SearchRequest{Index: []string{x.DeadLetterIndex()}, Body: jsonBody(body)}, &out)
	if failure.KindOf(err) == failure.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dls := make([]DeadLetter, 0, len(out.Hits.Hits))
	for _, h := range out.Hits.Hits {
		dls = append(dls, h.Source)
	}
	return dls, nil
}

// DeleteDeadLetters deletes every dead letter q selects, a thousand per request, and returns
// how many it deleted; they are gone from searches when it returns. (Elasticsearch's
// delete-by-query is a module some distributions lack; this needs search and bulk only.)
func (x *Index) DeleteDeadLetters(ctx context.Context, q DeadLetterQuery) (int, error) {
	const op = "delete dead letters"
	deleted := 0
	for {
		body := map[string]any{"size": 1000, "_source": false, "query": q.query(), "sort": []any{"_doc"}}
		var out struct {
			Hits struct {
				Hits []struct {
					ID string `json:"_id"`
				} `json:"hits"`
			} `json:"hits"`
		}
		err := x.do(ctx, op, esapi.SearchRequest{Index: []string{x.DeadLetterIndex()}, Body: jsonBody(body)}, &out)
		if failure.KindOf(err) == failure.NotFound {
			return deleted, nil
		}
		if err != nil {
			return deleted, err
		}
		hits := out.Hits.Hits
		if len(hits) == 0 {
			return deleted, nil
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, h := range hits {
			if err := enc.Encode(map[string]any{"delete": map[string]any{"_index": x.DeadLetterIndex(), "_id": h.ID}}); err != nil {
				return deleted, err
			}
		}
		var res struct {
			Items []map[string]struct {
				Status int             `json:"status"`
				Error  json.RawMessage `json:"error"`
			} `json:"items"`
		}
		if err := x.do(ctx, op, esapi.BulkRequest{Body: &buf, Refresh: "wait_for"}, &res); err != nil {
			return deleted, err
		}
		for _, it := range res.Items {
			for _, r := range it {
				if r.Status >= 300 && r.Status != 404 {
					return deleted, failure.E(failure.FromStatus(r.Status), op, fmt.Errorf("status %d: %s", r.Status, r.Error))
				}
				deleted++
			}
		}
		if len(hits) < 1000 {
			return deleted, nil
		}
	}
}
