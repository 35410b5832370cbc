package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// DefaultPrefix is the index prefix when New is given "".
const DefaultPrefix = "erpsync"

// Defaults of the options.
const (
	// DefaultShards is the number of primary shards of a new index.
	DefaultShards = 1
	// DefaultReplicas is the number of replicas: none, which is all a single node can place.
	// A cluster of several nodes wants at least 1 (WithReplicas).
	DefaultReplicas = 0
	// DefaultFlushBytes is the most bytes of one bulk request (a larger document goes alone).
	DefaultFlushBytes = 5 << 20
)

// DefaultBulkWorkers returns the number of concurrent bulk requests of one Write: the number of
// CPUs, at most 8.
func DefaultBulkWorkers() int { return min(runtime.NumCPU(), 8) }

// DefaultMaxBulkRequests is how many bulk requests an Index has in flight at most, over all its
// writes: two, one being indexed while the next is on its way. A node's CPU per document grows
// with the requests it has at once (raw _bulk of 100,000 products into a node on one CPU: 19.9 s
// of its CPU with one request in flight, 20.4 with two, 21.5 with four, 22.9 with eight; 26.5
// with eight when its thread pools were sized for two CPUs), and a partitioned rebuild writes
// many pages at once.
const DefaultMaxBulkRequests = 2

// Index is erpsync's view of Elasticsearch: per-entity read aliases over index generations,
// the bulk writer, the dead-letter index and the sync state. Create one per process with New;
// its methods are safe for concurrent use.
//
// Names: the alias of an entity is <prefix>-<entity> (Alias); generations are
// <prefix>-<entity>-<UTC yyyymmdd-hhmmss.micro>; the state is in <prefix>-sync-state and
// rejected records in <prefix>-dead-letters.
type Index struct {
	es     *elasticsearch.Client
	prefix string
	cfg    config
	// bulkSlots bound the bulk requests in flight over every Write (WithMaxBulkRequests).
	bulkSlots chan struct{}
}

type config struct {
	languages       []string
	analyzers       map[string]string
	shards          int
	replicas        int
	refreshInterval string
	gcDeletes       string
	workers         int
	maxBulk         int
	flushBytes      int
	attempts        int
	retryDeadline   time.Duration
	backoff         func(attempt int) time.Duration
	now             func() time.Time
}

// Option configures an Index.
type Option func(*config)

// WithLanguages sets the language codes of the per-language text fields (default
// document.DefaultLanguages()). They must be the languages the documents are built with.
func WithLanguages(codes ...string) Option {
	return func(c *config) { c.languages = slices.Clone(codes) }
}

// WithAnalyzer sets the analyzer of one language's text fields, e.g. WithAnalyzer("de",
// "german") in production. The default is "standard", the only one the bare test distribution
// has.
func WithAnalyzer(lang, analyzer string) Option {
	return func(c *config) {
		if c.analyzers == nil {
			c.analyzers = map[string]string{}
		}
		c.analyzers[lang] = analyzer
	}
}

// WithAnalyzers sets several languages' analyzers at once ({"de": "german", "en": "english"}).
func WithAnalyzers(byLang map[string]string) Option {
	return func(c *config) {
		for l, a := range byLang {
			WithAnalyzer(l, a)(c)
		}
	}
}

// WithReplicas sets the number of replicas a finished generation and the internal indexes get
// (default DefaultReplicas: a single node cannot place replicas).
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithShards sets the number of primary shards of new indexes (default DefaultShards).
func WithShards(n int) Option { return func(c *config) { c.shards = n } }

// WithRefreshInterval sets the refresh interval a finished generation gets (default "1s").
func WithRefreshInterval(d string) Option { return func(c *config) { c.refreshInterval = d } }

// WithGCDeletes sets how long generations remember a deleted document's version (default "1h";
// Elasticsearch's own default is 60s). Within it, a write older than a delete is stale and
// cannot bring the document back; it should exceed the longest delay with which a retried page
// can be written again.
func WithGCDeletes(d string) Option { return func(c *config) { c.gcDeletes = d } }

// WithBulkWorkers sets the number of concurrent bulk requests of one Write (default
// DefaultBulkWorkers()). A Write goes in requests of up to FlushBytes; one smaller than that is
// one request.
func WithBulkWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithMaxBulkRequests bounds the bulk requests the Index has in flight over all its writes
// (default DefaultMaxBulkRequests); a Write waits for a free one. Dead letters are not bounded.
func WithMaxBulkRequests(n int) Option { return func(c *config) { c.maxBulk = n } }

// WithFlushBytes sets the most bytes of one bulk request (default DefaultFlushBytes): a Write
// fills its requests in turn up to it, and a document larger than it goes alone.
func WithFlushBytes(n int) Option { return func(c *config) { c.flushBytes = n } }

// WithRetry bounds the retries of items Elasticsearch answered 429 or 5xx: at most attempts
// bulk rounds in all (default 6) and no new round after deadline from the start of the Write
// (default 2 minutes), waiting backoff(n) before round n+1 (default Backoff(200ms, 10s)).
func WithRetry(attempts int, deadline time.Duration, backoff func(attempt int) time.Duration) Option {
	return func(c *config) {
		c.attempts, c.retryDeadline = attempts, deadline
		if backoff != nil {
			c.backoff = backoff
		}
	}
}

// WithClock sets the clock used for generation names, dead letters and state (default
// time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// New returns an Index over es whose names start with prefix (DefaultPrefix when ""). It does
// not contact the cluster; call Setup once at start.
func New(es *elasticsearch.Client, prefix string, opts ...Option) *Index {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	c := config{
		languages:       document.DefaultLanguages(),
		shards:          DefaultShards,
		replicas:        DefaultReplicas,
		refreshInterval: "1s",
		gcDeletes:       "1h",
		workers:         DefaultBulkWorkers(),
		maxBulk:         DefaultMaxBulkRequests,
		flushBytes:      DefaultFlushBytes,
		attempts:        6,
		retryDeadline:   2 * time.Minute,
		backoff:         Backoff(200*time.Millisecond, 10*time.Second),
		now:             time.Now,
	}
	for _, o := range opts {
		o(&c)
	}
	return &Index{es: es, prefix: strings.ToLower(prefix), cfg: c, bulkSlots: make(chan struct{}, max(c.maxBulk, 1))}
}

// Prefix returns the index prefix.
func (x *Index) Prefix() string { return x.prefix }

// Alias returns the read alias of e: <prefix>-products, -customers, -contacts, -salesreps.
func (x *Index) Alias(e erp.Entity) string { return x.prefix + "-" + string(e) }

// StateIndex is the name of the sync-state index.
func (x *Index) StateIndex() string { return x.prefix + "-sync-state" }

// DeadLetterIndex is the name of the dead-letter index.
func (x *Index) DeadLetterIndex() string { return x.prefix + "-dead-letters" }

const generationLayout = "20060102-150405.000000"

var generationSuffix = regexp.MustCompile(`^\d{8}-\d{6}\.\d{6}$`)

// isGeneration reports whether name is a generation of e.
func (x *Index) isGeneration(e erp.Entity, name string) bool {
	rest, ok := strings.CutPrefix(name, x.Alias(e)+"-")
	return ok && generationSuffix.MatchString(rest)
}

// entityOf returns the entity whose alias or generation target is, or "".
func (x *Index) entityOf(target string) erp.Entity {
	for _, e := range erp.Entities {
		if target == x.Alias(e) || x.isGeneration(e, target) {
			return e
		}
	}
	return ""
}

// Ping asks for the cluster's health and returns nil when Elasticsearch answered it (any
// status colour): the worker's readiness.
func (x *Index) Ping(ctx context.Context) error {
	return x.do(ctx, "ping Elasticsearch", esapi.ClusterHealthRequest{}, nil)
}

// Setup creates what is missing, idempotently: the sync-state and dead-letter indexes, and for
// each entity without an alias a first, empty generation behind it. Of what exists it changes
// only the mapping of an entity's live generation, adding the fields this version's documents
// have and an older version's mapping lacks (Elasticsearch refuses any other change: then
// Setup fails and a rebuild is needed). Concurrent Setups of one prefix are safe except that both may create a first
// generation; the later swap wins and the other is kept as the previous generation.
func (x *Index) Setup(ctx context.Context) error {
	for name, mapping := range map[string]map[string]any{x.StateIndex(): stateMapping(), x.DeadLetterIndex(): deadLetterMapping()} {
		body := map[string]any{
			"settings": map[string]any{"number_of_shards": 1, "number_of_replicas": x.cfg.replicas},
			"mappings": mapping,
		}
		if err := x.createIndex(ctx, name, body); err != nil && !isAlreadyExists(err) {
			return err
		}
	}
	for _, e := range erp.Entities {
		_, err := x.Current(ctx, e)
		if err == nil {
			m := x.Mapping(e)
			body := map[string]any{"properties": m["properties"]}
			if err := x.do(ctx, "update mapping of "+x.Alias(e), esapi.IndicesPutMappingRequest{Index: []string{x.Alias(e)}, Body: jsonBody(body)}, nil); err != nil {
				return fmt.Errorf("the mapping of %s differs from this version's (rebuild it): %w", x.Alias(e), err)
			}
			continue
		}
		if failure.KindOf(err) != failure.NotFound {
			return err
		}
		gen, err := x.CreateGeneration(ctx, e)
		if err != nil {
			return err
		}
		if err := x.FinishGeneration(ctx, gen); err != nil {
			return err
		}
		if _, err := x.SwapAlias(ctx, e, gen); err != nil {
			return err
		}
	}
	return nil
}

// CreateGeneration creates a new, empty physical index for e with e's mapping and bulk-load
// settings (no refresh, no replicas) and returns its name. It is not behind the alias until
// SwapAlias; call FinishGeneration first.
func (x *Index) CreateGeneration(ctx context.Context, e erp.Entity) (string, error) {
	if !e.Valid() {
		return "", failure.E(failure.Invalid, "create generation", fmt.Errorf("unknown entity %q", e))
	}
	body := map[string]any{
		"settings": map[string]any{
			"number_of_shards":   x.cfg.shards,
			"number_of_replicas": 0,
			"refresh_interval":   "-1",
			"gc_deletes":         x.cfg.gcDeletes,
		},
		"mappings": x.Mapping(e),
	}
	for try := 0; ; try++ {
		name := x.Alias(e) + "-" + x.cfg.now().UTC().Format(generationLayout)
		err := x.createIndex(ctx, name, body)
		if err == nil {
			return name, nil
		}
		if !isAlreadyExists(err) || try == 5 {
			return "", err
		}
		time.Sleep(time.Millisecond) // the same microsecond: take the next
	}
}

// FinishGeneration ends bulk loading of index: it restores the refresh interval and the
// replicas, and refreshes, so that everything written so far is searchable.
func (x *Index) FinishGeneration(ctx context.Context, index string) error {
	body := map[string]any{"index": map[string]any{
		"refresh_interval":   x.cfg.refreshInterval,
		"number_of_replicas": x.cfg.replicas,
	}}
	if err := x.do(ctx, "finish generation "+index, esapi.IndicesPutSettingsRequest{Index: []string{index}, Body: jsonBody(body)}, nil); err != nil {
		return err
	}
	return x.Refresh(ctx, index)
}

// Refresh makes everything written to target (an index or alias) searchable.
func (x *Index) Refresh(ctx context.Context, target string) error {
	return x.do(ctx, "refresh "+target, esapi.IndicesRefreshRequest{Index: []string{target}}, nil)
}

// Current returns the physical index behind e's alias; a failure.NotFound error when there is
// no alias.
func (x *Index) Current(ctx context.Context, e erp.Entity) (string, error) {
	idx, err := x.aliased(ctx, x.Alias(e))
	if err != nil {
		return "", err
	}
	switch len(idx) {
	case 0:
		return "", failure.E(failure.NotFound, "current generation", fmt.Errorf("alias %s does not exist", x.Alias(e)))
	case 1:
		return idx[0], nil
	}
	return "", failure.E(failure.Invalid, "current generation", fmt.Errorf("alias %s points to %d indexes: %v", x.Alias(e), len(idx), idx))
}

// aliased returns the indexes behind alias, sorted; none when it does not exist.
func (x *Index) aliased(ctx context.Context, alias string) ([]string, error) {
	var out map[string]json.RawMessage
	err := x.do(ctx, "get alias "+alias, esapi.IndicesGetAliasRequest{Name: []string{alias}}, &out)
	if failure.KindOf(err) == failure.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var idx []string
	for name := range out {
		idx = append(idx, name)
	}
	slices.Sort(idx)
	return idx, nil
}

// Generations returns e's generations, oldest first.
func (x *Index) Generations(ctx context.Context, e erp.Entity) ([]string, error) {
	var rows []struct {
		Index string `json:"index"`
	}
	req := esapi.CatIndicesRequest{Index: []string{x.Alias(e) + "-*"}, Format: "json", H: []string{"index"}, ExpandWildcards: "all"}
	if err := x.do(ctx, "list generations", req, &rows); err != nil {
		if failure.KindOf(err) == failure.NotFound {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, r := range rows {
		if x.isGeneration(e, r.Index) {
			out = append(out, r.Index)
		}
	}
	slices.Sort(out) // names sort by creation time
	return out, nil
}

// SwapAlias points e's alias at index in one _aliases request, so that a search sees the old
// generation or the new one, never none. It returns the previous generation, which is kept for
// rollback (SwapAlias back to it), and deletes the generations older than index except the
// previous one; generations newer than index (a rebuild in progress) are left alone. Swapping
// to the index already behind the alias changes nothing and returns the newest older
// generation as the previous one.
func (x *Index) SwapAlias(ctx context.Context, e erp.Entity, index string) (previous string, err error) {
	if !x.isGeneration(e, index) {
		return "", failure.E(failure.Invalid, "swap alias", fmt.Errorf("%s is not a generation of %s", index, e))
	}
	alias := x.Alias(e)
	cur, err := x.aliased(ctx, alias)
	if err != nil {
		return "", err
	}
	actions := []map[string]any{{"add": map[string]any{"index": index, "alias": alias}}}
	for _, old := range cur {
		if old != index {
			actions = append(actions, map[string]any{"remove": map[string]any{"index": old, "alias": alias}})
			previous = max(previous, old)
		}
	}
	if len(cur) != 1 || cur[0] != index {
		if err := x.do(ctx, "swap alias "+alias, esapi.IndicesUpdateAliasesRequest{Body: jsonBody(map[string]any{"actions": actions})}, nil); err != nil {
			return "", err
		}
	}
	gens, err := x.Generations(ctx, e)
	if err != nil {
		return previous, err
	}
	if previous == "" {
		for _, g := range gens {
			if g < index {
				previous = g
			}
		}
	}
	var stale []string
	for _, g := range gens {
		if g < index && g != previous {
			stale = append(stale, g)
		}
	}
	if len(stale) > 0 {
		err := x.do(ctx, "delete old generations", esapi.IndicesDeleteRequest{Index: stale}, nil)
		if err != nil && failure.KindOf(err) != failure.NotFound {
			return previous, err
		}
	}
	return previous, nil
}

// Count returns the number of documents in target (index or alias), as of the last refresh.
func (x *Index) Count(ctx context.Context, target string) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	if err := x.do(ctx, "count "+target, esapi.CountRequest{Index: []string{target}}, &out); err != nil {
		return 0, err
	}
	return out.Count, nil
}

// IDs returns up to n document ids of target in id order, starting after the id after ("" for
// the beginning), for a reconciliation sweep: call again with the last id until fewer than n
// come back. It sees the documents as of the last refresh.
func (x *Index) IDs(ctx context.Context, target, after string, n int) ([]string, error) {
	q := map[string]any{
		"size":             n,
		"_source":          false,
		"track_total_hits": false,
		"query":            map[string]any{"match_all": map[string]any{}},
		"sort":             []any{map[string]any{"id": "asc"}},
	}
	if after != "" {
		q["search_after"] = []string{after}
	}
	var out struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := x.do(ctx, "read ids of "+target, esapi.SearchRequest{Index: []string{target}, Body: jsonBody(q)}, &out); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out.Hits.Hits))
	for _, h := range out.Hits.Hits {
		ids = append(ids, h.ID)
	}
	return ids, nil
}

func (x *Index) createIndex(ctx context.Context, name string, body map[string]any) error {
	return x.do(ctx, "create index "+name, esapi.IndicesCreateRequest{Index: name, Body: jsonBody(body)}, nil)
}

// esError is Elasticsearch's error answer.
type esError struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

func (e *esError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("status %d: %s", e.Status, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Type, e.Reason)
}

func isAlreadyExists(err error) bool {
	var ee *esError
	return errors.As(err, &ee) && ee.Type == "resource_already_exists_exception"
}

// do sends req and decodes a 2xx answer into out (when not nil). Errors carry a failure.Kind:
// from the status, Unavailable when Elasticsearch cannot be reached, and ctx's error when it
// ended.
func (x *Index) do(ctx context.Context, op string, req esapi.Request, out any) error {
	return x.doOn(ctx, x.es, op, req, out)
}

// doOn is do through transport t.
func (x *Index) doOn(ctx context.Context, t esapi.Transport, op string, req esapi.Request, out any) error {
	res, err := req.Do(ctx, t)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
		return failure.E(failure.Unavailable, op, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return failure.E(failure.Unavailable, op, fmt.Errorf("read answer: %w", err))
	}
	if res.IsError() {
		ee := parseError(res.StatusCode, body)
		kind := failure.FromStatus(res.StatusCode)
		if refusal(res.StatusCode, ee.Type) {
			kind = failure.Refused
		}
		return &failure.Error{Kind: kind, Op: op, Err: ee}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return failure.E(failure.Unavailable, op, fmt.Errorf("decode answer: %w", err))
		}
	}
	return nil
}

func parseError(status int, body []byte) *esError {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	ee := &esError{Status: status}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var detail struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(e.Error, &detail) == nil && detail.Type != "" {
			ee.Type, ee.Reason = detail.Type, detail.Reason
			return ee
		}
		ee.Reason = string(e.Error)
		return ee
	}
	ee.Reason = strings.TrimSpace(string(body))
	if ee.Reason == "" {
		ee.Reason = http.StatusText(status)
	}
	if len(ee.Reason) > 500 {
		ee.Reason = ee.Reason[:500] + "..."
	}
	return ee
}

func jsonBody(v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("search: marshal request body: %v", err)) // only maps of JSON values
	}
	return bytes.NewReader(b)
}
