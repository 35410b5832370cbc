package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/erpsync/erpsync/failure"
)

// Op is one write: an index of a whole document, or a delete. Version is the external version
// (document.Version); Elasticsearch applies an op only when its version is higher than the
// stored one's, so replays and out-of-order writes never go back.
type Op struct {
	ID      string
	Version int64
	// Delete is true for a delete; Body is then unused.
	Delete bool
	// Body is the document: json.RawMessage or []byte are sent as they are (made one line),
	// anything else is marshalled with encoding/json.
	Body any
	// encoded is Body as Write sends it, when Encode made it already.
	encoded []byte
}

// IndexOp returns an op that indexes body as document id at version.
func IndexOp(id string, version int64, body any) Op { return Op{ID: id, Version: version, Body: body} }

// IndexJSON returns an op that indexes body, one line of JSON as json.Marshal writes it
// (document.Encode's), as document id at version. It is sent as it is: checking it again cost
// the import a tenth of its CPU. A body that is not JSON after all is Elasticsearch's to refuse,
// and dead-lettered.
func IndexJSON(id string, version int64, body []byte) Op {
	return Op{ID: id, Version: version, Body: json.RawMessage(body), encoded: body}
}

// Encode returns the op with its body marshalled now, so that a reader can prepare the next
// page's documents while the current page is written: Write then only sends them.
func (o Op) Encode() (Op, error) {
	if o.Delete || o.encoded != nil {
		return o, nil
	}
	b, err := marshalBody(o.Body)
	if err != nil {
		return o, fmt.Errorf("marshal document %s: %w", o.ID, err)
	}
	o.encoded = b
	return o, nil
}

// DeleteOp returns an op that deletes document id at version.
func DeleteOp(id string, version int64) Op { return Op{ID: id, Version: version, Delete: true} }

// Counts are the outcomes of a Write, one per op, except Retried and AlreadyGone which count
// again ops counted elsewhere.
type Counts struct {
	// Indexed documents were written.
	Indexed int `json:"indexed"`
	// Deleted documents were deleted or were already absent.
	Deleted int `json:"deleted"`
	// Stale ops lost to a newer version already in the index (409): success.
	Stale int `json:"stale"`
	// DeadLettered ops were rejected by Elasticsearch (a 4xx such as a mapping error) and are
	// in the dead-letter index.
	DeadLettered int `json:"dead_lettered"`
	// Retried counts resubmissions of ops answered 429 or 5xx.
	Retried int `json:"retried"`
	// AlreadyGone counts the deletes (among Deleted) of documents that did not exist.
	AlreadyGone int `json:"already_gone"`
}

// Add returns the sum of c and d.
func (c Counts) Add(d Counts) Counts {
	return Counts{Indexed: c.Indexed + d.Indexed, Deleted: c.Deleted + d.Deleted, Stale: c.Stale + d.Stale,
		DeadLettered: c.DeadLettered + d.DeadLettered, Retried: c.Retried + d.Retried, AlreadyGone: c.AlreadyGone + d.AlreadyGone}
}

// Total is the number of ops with an outcome.
func (c Counts) Total() int { return c.Indexed + c.Deleted + c.Stale + c.DeadLettered }

// Write applies ops to target (an alias or a generation) with the bulk API and
// version_type=external, and returns when every op is acknowledged or classified:
//
//   - 2xx: indexed or deleted; a delete answered 404 was already gone (deleted).
//   - 409: a newer version is in the index; stale, which is success.
//   - a refusal that is not about the document: a block (cluster_block_exception: a write
//     block, a disk past the flood-stage watermark), security_exception, 401 or 403. Write
//     returns a failure.Refused error at once and dead-letters nothing: an operator has to
//     lift it, and until then the caller must not move on (its watermark must not pass
//     documents that are not in the index).
//   - 429 and 5xx: resubmitted (those items only) with backoff, within the WithRetry bounds;
//     when they are exhausted Write returns a failure.RateLimited or failure.Unavailable error.
//   - any other 4xx (a mapping error, a malformed document): written to the dead-letter index
//     with the reason and the document, counted, and the rest goes on; unless at least two
//     and more than half of the ops fail with one error type: that is a refusal of the whole
//     index (a mapping that does not fit the documents), a failure.Refused error, and nothing
//     is dead-lettered.
//
// A request Elasticsearch does not answer returns a failure.Unavailable error; one it refuses
// as a whole returns the kind of its status (failure.Invalid for a 4xx about the request, such
// as a body too large; failure.Refused for a block or a missing privilege); a missing target
// returns failure.NotFound. Counts are filled as far as the write got. Writing to an alias or a
// generation requires it to exist (no index is created by accident). Ops should have distinct IDs: the bulk API does
// not order ops on one document across requests.
func (x *Index) Write(ctx context.Context, target string, ops []Op) (Counts, error) {
	var c Counts
	if len(ops) == 0 {
		return c, nil
	}
	pending := make([]pendingOp, 0, len(ops))
	for _, op := range ops {
		op, err := op.Encode()
		if err != nil {
			return c, failure.E(failure.Invalid, "write "+target, err)
		}
		p := pendingOp{op: op, body: op.encoded}
		pending = append(pending, p)
	}
	// Never create an index by accident (a bulk write to a missing index creates one with a
	// dynamic mapping): writes to an alias require it, writes to a generation check it first.
	e := x.entityOf(target)
	requireAlias := e != "" && target == x.Alias(e)
	if e != "" && !requireAlias {
		if err := x.do(ctx, "write "+target, esapi.IndicesExistsRequest{Index: []string{target}}, nil); err != nil {
			return c, err
		}
	}
	start := x.cfg.now()
	for attempt := 1; ; attempt++ {
		results, err := x.bulk(ctx, target, pending, requireAlias)
		if err != nil {
			return c, err
		}
		var retry []pendingOp
		var dead []DeadLetter
		var last itemResult
		for i, r := range results {
			p := pending[i]
			switch classify(p.op, r) {
			case outcomeRefused:
				return c, failure.E(failure.Refused, "write "+target, fmt.Errorf("%s refused: %d %s", p.op.ID, r.status, r.reason()))
			case outcomeIndexed:
				c.Indexed++
			case outcomeDeleted:
				c.Deleted++
			case outcomeGone:
				c.Deleted++
				c.AlreadyGone++
			case outcomeStale:
				c.Stale++
			case outcomeRetry:
				retry = append(retry, p)
				last = r
			case outcomeMissingIndex:
				return c, failure.E(failure.NotFound, "write "+target, errors.New(r.reason()))
			case outcomeDead:
				dead = append(dead, x.deadLetter(target, p, r))
			}
		}
		if err := massRefusal(dead, len(ops)); err != nil {
			return c, failure.E(failure.Refused, "write "+target, err)
		}
		if len(dead) > 0 {
			if err := x.addDeadLetters(ctx, dead); err != nil {
				return c, fmt.Errorf("write %s: %w", target, err)
			}
			c.DeadLettered += len(dead)
		}
		if len(retry) == 0 {
			return c, nil
		}
		wait := x.cfg.backoff(attempt)
		if attempt >= x.cfg.attempts || x.cfg.now().Add(wait).Sub(start) > x.cfg.retryDeadline {
			kind := failure.Unavailable
			if last.status == http.StatusTooManyRequests {
				kind = failure.RateLimited
			}
			return c, failure.E(kind, "write "+target, fmt.Errorf("%d of %d items still failing after %d attempts, last: %d %s",
				len(retry), len(ops), attempt, last.status, last.reason()))
		}
		c.Retried += len(retry)
		select {
		case <-ctx.Done():
			return c, fmt.Errorf("write %s: %w", target, ctx.Err())
		case <-time.After(wait):
		}
		pending = retry
	}
}

type pendingOp struct {
	op   Op
	body []byte
}

// itemResult is what Elasticsearch answered for one item.
type itemResult struct {
	status      int
	result      string
	errType     string
	errReason   string
	causeType   string
	causeReason string
}

func (r itemResult) reason() string {
	s := r.errType + ": " + r.errReason
	if r.errType == "" {
		s = r.result
	}
	if r.causeType != "" {
		s += " (caused by " + r.causeType + ": " + r.causeReason + ")"
	}
	return s
}

type outcome int

const (
	outcomeIndexed outcome = iota
	outcomeDeleted
	outcomeGone
	outcomeStale
	outcomeRetry
	outcomeDead
	outcomeMissingIndex
	outcomeRefused
)

// classify decides an item's outcome from its status and error type (docs/design.md rule 5):
// success, stale, retry, a refusal of the whole index or write (never the document's fault), or
// a dead letter.
func classify(op Op, r itemResult) outcome {
	switch {
	case r.errType == "index_not_found_exception":
		return outcomeMissingIndex
	case refusal(r.status, r.errType):
		return outcomeRefused
	case r.status >= 200 && r.status < 300 && r.errType == "":
		if op.Delete {
			return outcomeDeleted
		}
		return outcomeIndexed
	case r.status == http.StatusNotFound && op.Delete:
		return outcomeGone
	case r.status == http.StatusConflict:
		return outcomeStale
	case r.status == http.StatusTooManyRequests || r.status >= 500:
		return outcomeRetry
	}
	return outcomeDead
}

// refusal reports whether an answer refuses writing for a reason that is not the document's:
// a block on the index or cluster (an index.blocks.write setting, a read-only index, the
// flood-stage disk watermark; answered 403 or 429), a missing or insufficient credential, or a
// closed index. Such an answer is the same for every document.
func refusal(status int, errType string) bool {
	switch errType {
	case "cluster_block_exception", "security_exception", "index_closed_exception":
		return true
	}
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// massRefusal returns an error when at least two, and more than half, of a write's n ops were
// refused with one error type: then the index refuses them, not each document (a mapping that
// does not fit, a field limit), and dead-lettering them would move the watermark past a whole
// page that is not in the index.
func massRefusal(dead []DeadLetter, n int) error {
	byType := map[string]int{}
	worst := ""
	for _, d := range dead {
		byType[d.ErrorType]++
		if byType[d.ErrorType] > byType[worst] || worst == "" {
			worst = d.ErrorType
		}
	}
	if k := byType[worst]; k >= 2 && 2*k > n {
		for _, d := range dead {
			if d.ErrorType == worst {
				return fmt.Errorf("%d of %d documents refused with %s, e.g. %s: %s; a refusal of the whole index, not of one document: nothing dead-lettered",
					k, n, worst, d.ID, d.Reason)
			}
		}
	}
	return nil
}

// bulk sends one round of items in bulk requests (bulkRequests: in order, each up to the flush
// size), at most cfg.workers of them at once, and returns a result per item. It fails when a
// request failed as a whole, or when an answer does not hold one item per item sent.
func (x *Index) bulk(ctx context.Context, target string, items []pendingOp, requireAlias bool) ([]itemResult, error) {
	op := "bulk write to " + target
	reqs := bulkRequests(items, x.cfg.flushBytes)
	results := make([]itemResult, len(items))
	errs := make([]error, len(reqs))
	turns := make(chan struct{}, max(1, x.cfg.workers))
	var wg sync.WaitGroup
	for i, r := range reqs {
		turns <- struct{}{}
		wg.Go(func() {
			defer func() { <-turns }()
			errs[i] = x.bulkRequest(ctx, op, target, items[r.from:r.to], r.bytes, results[r.from:r.to], requireAlias)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: %w", op, ctx.Err())
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}

// BulkFilterPath keeps of a bulk answer what classify and the reasons read: each item's status,
// result and error, and a whole request's error. Every item keeps its status, so the items stay
// in the order of the request, which is how bulkRequest matches them. Without it each item also
// carries its index, id, version, shards, sequence number and primary term: four times the
// bytes for Elasticsearch to write and the worker to decode.
var BulkFilterPath = []string{"errors", "error", "status", "items.*.status", "items.*.result", "items.*.error"}

// span is the items [from, to) of one bulk request, and the bytes of its body (itemBytes).
type span struct{ from, to, bytes int }

// bulkRequests splits items, in order, into requests of at most flushBytes each (an item larger
// than that goes alone). A write that fits one request goes in one: smaller requests cost
// Elasticsearch more a document.
func bulkRequests(items []pendingOp, flushBytes int) []span {
	var out []span
	from, size := 0, 0
	for i, p := range items {
		n := itemBytes(p)
		if i > from && size+n > flushBytes {
			out = append(out, span{from, i, size})
			from, size = i, 0
		}
		size += n
	}
	return append(out, span{from, len(items), size})
}

// itemBytes is what an item takes of a request: its action line (appendAction; exact unless the
// id needs escapes) and its document with its newline.
func itemBytes(p pendingOp) int {
	const action = len(`{"index":{"_id":"","version":,"version_type":"external"}}` + "\n")
	n := action + len(p.op.ID) + digits(p.op.Version)
	if p.op.Delete {
		return n + 1 // "delete" is a byte longer than "index"
	}
	return n + len(p.body) + 1 // and the document's line
}

// digits is the length of v in decimal.
func digits(v int64) int { return len(strconv.AppendInt(make([]byte, 0, 20), v, 10)) }

// bulkRequest sends items, a body of about size bytes, in one bulk request and writes their
// results into out.
func (x *Index) bulkRequest(ctx context.Context, op, target string, items []pendingOp, size int, out []itemResult, requireAlias bool) error {
	body := make([]byte, 0, size)
	for _, p := range items {
		body = appendAction(body, p.op)
		if !p.op.Delete {
			body = append(body, p.body...)
			body = append(body, '\n')
		}
	}
	req := esapi.BulkRequest{Index: target, Body: bytes.NewReader(body), FilterPath: BulkFilterPath}
	if requireAlias {
		req.RequireAlias = &requireAlias
	}
	var answer struct {
		Items []map[string]struct {
			Status int    `json:"status"`
			Result string `json:"result"`
			Error  struct {
				Type     string `json:"type"`
				Reason   string `json:"reason"`
				CausedBy struct {
					Type   string `json:"type"`
					Reason string `json:"reason"`
				} `json:"caused_by"`
			} `json:"error"`
		} `json:"items"`
	}
	if err := x.doOn(ctx, boundedTransport{x.es, x.bulkSlots}, op, req, &answer); err != nil {
		return err
	}
	if len(answer.Items) != len(items) {
		return failure.E(failure.Other, op, fmt.Errorf("Elasticsearch answered %d items for the %d sent", len(answer.Items), len(items)))
	}
	for i, item := range answer.Items {
		for _, r := range item { // one action per item
			out[i] = itemResult{status: r.Status, result: r.Result, errType: r.Error.Type, errReason: r.Error.Reason,
				causeType: r.Error.CausedBy.Type, causeReason: r.Error.CausedBy.Reason}
		}
	}
	return nil
}

// appendAction appends op's action line to b, for example
// {"index":{"_id":"usmf:1000","version":1767225600000104,"version_type":"external"}}. The id is
// a JSON string whatever it holds: the bulk indexer of go-elasticsearch quoted ids the way Go
// quotes strings (\x01, \U000e0001), which is not JSON, and Elasticsearch refused the whole
// request for one such id.
func appendAction(b []byte, op Op) []byte {
	if op.Delete {
		b = append(b, `{"delete":{"_id":`...)
	} else {
		b = append(b, `{"index":{"_id":`...)
	}
	b = appendJSONString(b, op.ID)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, op.Version, 10)
	return append(b, ",\"version_type\":\"external\"}}\n"...)
}

// appendJSONString appends s as a JSON string, as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte {
	plain := utf8.ValidString(s)
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= 0x20 && s[i] != '"' && s[i] != '\\'
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// boundedTransport sends a request when one of slots is free and frees it when the answer has
// come: Elasticsearch's work on a bulk request is done when it answers.
type boundedTransport struct {
	next  esapi.Transport
	slots chan struct{}
}

func (t boundedTransport) Perform(r *http.Request) (*http.Response, error) {
	select {
	case t.slots <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	defer func() { <-t.slots }()
	return t.next.Perform(r)
}

func marshalBody(body any) ([]byte, error) {
	switch b := body.(type) {
	case json.RawMessage:
		return compact(b)
	case []byte:
		return compact(b)
	case nil:
		return nil, errors.New("no body")
	}
	return json.Marshal(body)
}

// compact returns b on one line (bulk bodies are newline-delimited), checking that it is JSON.
func compact(b []byte) ([]byte, error) {
	if !bytes.ContainsAny(b, "\n\r") {
		if !json.Valid(b) {
			return nil, errors.New("body is not JSON")
		}
		return b, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
