package search_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
	"github.com/erpsync/erpsync/search"
)

// fakeBulk is an Elasticsearch that answers _bulk requests with the item statuses answer
// decides, by document id and round (1-based, per id). Dead letters (_bulk without an index in
// the path) are accepted and kept.
type fakeBulk struct {
	answer func(id string, round int) (status int, errType string)
	// whole, when set, is the status of every document bulk request as a whole, with the
	// error type wholeType ("unavailable" when empty).
	whole     int
	wholeType string

	mu          sync.Mutex
	rounds      map[string]int
	deadLetters []map[string]any
	requests    int
	// bulkSizes are the sizes of the document bulk requests' bodies, in the order they came.
	bulkSizes []int
}

func (f *fakeBulk) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/_bulk" { // dead letters
		var items []string
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<20)
		for i := 0; sc.Scan(); i++ {
			if i%2 == 1 {
				var d map[string]any
				_ = json.Unmarshal(sc.Bytes(), &d)
				f.deadLetters = append(f.deadLetters, d)
				items = append(items, `{"index":{"status":201}}`)
			}
		}
		return respond(200, fmt.Sprintf(`{"errors":false,"items":[%s]}`, strings.Join(items, ","))), nil
	}
	if f.whole != 0 {
		typ := f.wholeType
		if typ == "" {
			typ = "unavailable"
		}
		return respond(f.whole, fmt.Sprintf(`{"error":{"type":%q,"reason":"whole request"},"status":%d}`, typ, f.whole)), nil
	}
	f.bulkSizes = append(f.bulkSizes, len(body))
	var items []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var meta map[string]struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &meta); err != nil {
			return nil, err
		}
		for action, m := range meta {
			if action != "delete" {
				sc.Scan() // the document
			}
			f.rounds[m.ID]++
			status, errType := f.answer(m.ID, f.rounds[m.ID])
			item := map[string]any{"_id": m.ID, "status": status}
			if errType != "" {
				item["error"] = map[string]any{"type": errType, "reason": "crafted " + errType}
			}
			b, _ := json.Marshal(map[string]any{action: item})
			items = append(items, string(b))
		}
	}
	return respond(200, fmt.Sprintf(`{"took":1,"errors":true,"items":[%s]}`, strings.Join(items, ","))), nil
}

func respond(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body)),
		Header: http.Header{"X-Elastic-Product": {"Elasticsearch"}, "Content-Type": {"application/json"}}}
}

// fakeIndex is an Index on f: 2 bulk workers, a flush size of 200 bytes and quick retries,
// unless opts say otherwise.
func fakeIndex(t *testing.T, f *fakeBulk, opts ...search.Option) *search.Index {
	t.Helper()
	f.rounds = map[string]int{}
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{"http://fake:9200"}, Transport: f, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	return search.New(es, "fake", append([]search.Option{search.WithRetry(4, time.Minute, func(int) time.Duration { return time.Millisecond }),
		search.WithBulkWorkers(2), search.WithFlushBytes(200)}, opts...)...)
}

func ops(ids ...string) []search.Op {
	var out []search.Op
	for _, id := range ids {
		if strings.HasPrefix(id, "del-") {
			out = append(out, search.DeleteOp(id, 2))
			continue
		}
		out = append(out, search.IndexOp(id, 2, map[string]string{"id": id}))
	}
	return out
}

func TestWriteClassifiesItems(t *testing.T) {
	f := &fakeBulk{answer: func(id string, round int) (int, string) {
		switch id {
		case "ok", "del-ok":
			return 200, ""
		case "busy": // 429 once, then fine
			if round == 1 {
				return 429, "es_rejected_execution_exception"
			}
			return 201, ""
		case "flaky": // 503 twice, then fine
			if round <= 2 {
				return 503, "unavailable_shards_exception"
			}
			return 201, ""
		case "bad":
			return 400, "document_parsing_exception"
		case "stale", "del-stale":
			return 409, "version_conflict_engine_exception"
		case "del-gone":
			return 404, ""
		}
		return 500, "unexpected"
	}}
	x := fakeIndex(t, f)
	c, err := x.Write(context.Background(), "fake-products", ops("ok", "busy", "flaky", "bad", "stale", "del-ok", "del-stale", "del-gone"))
	if err != nil {
		t.Fatal(err)
	}
	want := search.Counts{Indexed: 3, Deleted: 2, AlreadyGone: 1, Stale: 2, DeadLettered: 1, Retried: 3}
	if c != want {
		t.Errorf("counts %+v, want %+v", c, want)
	}
	if f.rounds["ok"] != 1 || f.rounds["bad"] != 1 || f.rounds["busy"] != 2 || f.rounds["flaky"] != 3 {
		t.Errorf("only retryable items are resubmitted: %v", f.rounds)
	}
	if len(f.deadLetters) != 1 {
		t.Fatalf("dead letters %v", f.deadLetters)
	}
	d := f.deadLetters[0]
	if d["id"] != "bad" || d["entity"] != string(erp.Products) || d["status"] != float64(400) || d["error_type"] != "document_parsing_exception" ||
		d["source"] != `{"id":"bad"}` || d["index"] != "fake-products" || !strings.Contains(d["reason"].(string), "crafted") {
		t.Errorf("dead letter %v", d)
	}
}

// A write is sent in requests of up to the flush size: one that fits one request is not split
// (smaller requests cost Elasticsearch more a document), and a larger one is spread over
// requests filled in turn.
func TestWriteSendsRequestsOfTheFlushSize(t *testing.T) {
	ok := func(string, int) (int, string) { return 201, "" }
	ids := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("doc-%03d", i))
		}
		return out
	}
	for _, c := range []struct{ docs, requests int }{
		// A document and its action line are about 85 bytes: two fit under the fake index's
		// flush of 200 bytes.
		{docs: 2, requests: 1},
		{docs: 12, requests: 6},
		{docs: 13, requests: 7},
	} {
		f := &fakeBulk{answer: ok}
		x := fakeIndex(t, f)
		n, err := x.Write(context.Background(), "fake-products", ops(ids(c.docs)...))
		if err != nil || n.Indexed != c.docs {
			t.Fatalf("%d docs: %+v, %v", c.docs, n, err)
		}
		if len(f.bulkSizes) != c.requests {
			t.Errorf("%d docs went in %d requests (%v bytes), want %d", c.docs, len(f.bulkSizes), f.bulkSizes, c.requests)
		}
		for _, size := range f.bulkSizes {
			if size > 200 {
				t.Errorf("%d docs: a request of %d bytes, over the flush size", c.docs, size)
			}
		}
	}
}

// A write that fits one request goes in one, and every id is sent as a JSON string whatever it
// holds (the fake decodes each action line with encoding/json).
func TestAWriteThatFitsOneRequestIsSentAsOne(t *testing.T) {
	ok := func(string, int) (int, string) { return 201, "" }
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("usmf:%03d", i)
		switch i % 5 {
		case 1:
			id += "\"\\\t" // a quote, a backslash and a tab
		case 2:
			id += "\u00ad\u2028" // runes Go's quoting escapes
		case 3:
			id += "\x01\x7f\U000e0001" // Go quotes these as \x01, \x7f and \U000e0001, which JSON has not
		case 4:
			id = "del-" + id
		}
		ids = append(ids, id)
	}
	f := &fakeBulk{answer: ok}
	x := fakeIndex(t, f, search.WithBulkWorkers(4), search.WithFlushBytes(1<<20))
	c, err := x.Write(context.Background(), "fake-products", ops(ids...))
	if err != nil || c.Indexed+c.Deleted != len(ids) {
		t.Fatalf("%+v, %v", c, err)
	}
	if len(f.bulkSizes) != 1 {
		t.Errorf("%d ops went in %d requests (%v bytes), want one", len(ids), len(f.bulkSizes), f.bulkSizes)
	}
	for _, id := range ids {
		if f.rounds[id] != 1 {
			t.Errorf("id %q: sent %d times, want once as it is", id, f.rounds[id])
		}
	}
}

func TestWriteGivesUpOnPersistentFailures(t *testing.T) {
	for _, c := range []struct {
		status int
		want   failure.Kind
	}{{503, failure.Unavailable}, {429, failure.RateLimited}} {
		f := &fakeBulk{answer: func(id string, round int) (int, string) {
			if id == "stuck" {
				return c.status, "overloaded"
			}
			return 201, ""
		}}
		x := fakeIndex(t, f)
		n, err := x.Write(context.Background(), "fake-products", ops("a", "stuck", "b"))
		if failure.KindOf(err) != c.want {
			t.Errorf("%d forever: %v, want %s", c.status, err, c.want)
		}
		if n.Indexed != 2 || f.rounds["stuck"] != 4 {
			t.Errorf("%d forever: counts %+v after %d rounds", c.status, n, f.rounds["stuck"])
		}
	}
}

func TestWriteWholeRequestFailure(t *testing.T) {
	f := &fakeBulk{whole: 503}
	x := fakeIndex(t, f)
	if _, err := x.Write(context.Background(), "fake-products", ops("a", "b")); failure.KindOf(err) != failure.Unavailable {
		t.Errorf("whole request 503: %v", err)
	}
	f = &fakeBulk{whole: 400}
	x = fakeIndex(t, f)
	if _, err := x.Write(context.Background(), "fake-products", ops("a")); failure.KindOf(err) != failure.Invalid {
		t.Errorf("whole request 400: %v", err)
	}
}

func TestWriteElasticsearchDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{"http://" + addr}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	x := search.New(es, "down")
	if _, err := x.Write(context.Background(), "down-products-20260101-000000.000000", ops("a")); failure.KindOf(err) != failure.Unavailable {
		t.Errorf("write with Elasticsearch down: %v", err)
	}
	if _, err := x.LoadState(context.Background(), erp.Products); failure.KindOf(err) != failure.Unavailable {
		t.Errorf("load state with Elasticsearch down: %v", err)
	}
}

// TestWriteRefusalsAreFailuresNotDeadLetters: answers that refuse writing for a reason that is
// not the document's (a write block, a full disk, a lost privilege) fail the write as Refused
// (retryable, the caller's watermark stays) and dead-letter nothing. They used to become one
// dead letter per item with no error, and the watermark moved past the whole page.
func TestWriteRefusalsAreFailuresNotDeadLetters(t *testing.T) {
	for _, c := range []struct {
		name    string
		status  int
		errType string
	}{
		{"index write block", 403, "cluster_block_exception"},
		{"disk past the flood-stage watermark", 429, "cluster_block_exception"},
		{"lost privilege", 403, "security_exception"},
		{"credential refused", 401, "security_exception"},
		{"forbidden without a type", 403, ""},
		{"closed index", 400, "index_closed_exception"},
	} {
		f := &fakeBulk{answer: func(id string, round int) (int, string) {
			if id == "a" {
				return 201, ""
			}
			return c.status, c.errType
		}}
		x := fakeIndex(t, f)
		_, err := x.Write(context.Background(), "fake-products", ops("a", "b", "c"))
		if failure.KindOf(err) != failure.Refused || failure.KindOf(err).Permanent() {
			t.Errorf("%s: %v, want a retryable refused error", c.name, err)
		}
		if len(f.deadLetters) != 0 {
			t.Errorf("%s: %d dead letters, want none", c.name, len(f.deadLetters))
		}
		if f.rounds["b"] != 1 {
			t.Errorf("%s: submitted %d times: a block is not waited for inside one write", c.name, f.rounds["b"])
		}
	}
	// The same as an answer to the whole request.
	for _, w := range []struct {
		status  int
		errType string
	}{{403, "cluster_block_exception"}, {401, "security_exception"}, {403, "security_exception"}} {
		f := &fakeBulk{whole: w.status, wholeType: w.errType}
		x := fakeIndex(t, f)
		if _, err := x.Write(context.Background(), "fake-products", ops("a")); failure.KindOf(err) != failure.Refused {
			t.Errorf("whole request %d %s: %v, want refused", w.status, w.errType, err)
		}
	}
}

// TestWriteMostItemsFailingAlikeIsAFailure: when most of a write's documents fail with one
// error type (a mapping that does not fit the documents), the index refuses them, not each
// document: the write fails and nothing is dead-lettered. A few failing documents among many
// are still dead letters.
func TestWriteMostItemsFailingAlikeIsAFailure(t *testing.T) {
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%02d", i)
	}
	f := &fakeBulk{answer: func(id string, round int) (int, string) { return 400, "strict_dynamic_mapping_exception" }}
	x := fakeIndex(t, f)
	c, err := x.Write(context.Background(), "fake-products", ops(ids...))
	if failure.KindOf(err) != failure.Refused || !strings.Contains(err.Error(), "50 of 50") {
		t.Fatalf("50 of 50 refused alike: counts %+v, error %v; want a refused error", c, err)
	}
	if c.DeadLettered != 0 || len(f.deadLetters) != 0 {
		t.Fatalf("%d dead letters, want none", len(f.deadLetters))
	}

	// 26 of 50 alike is most; 25 of 50 is not, nor are 2 types of 20.
	for _, k := range []struct {
		failing   int
		types     int
		wantError bool
	}{{26, 1, true}, {25, 1, false}, {40, 2, false}, {1, 1, false}} {
		f := &fakeBulk{answer: func(id string, round int) (int, string) {
			var i int
			fmt.Sscanf(id, "p%d", &i)
			if i < k.failing {
				return 400, fmt.Sprintf("mapper_parsing_exception_%d", i%k.types)
			}
			return 201, ""
		}}
		x := fakeIndex(t, f)
		c, err := x.Write(context.Background(), "fake-products", ops(ids...))
		if (err != nil) != k.wantError || (!k.wantError && c.DeadLettered != k.failing) {
			t.Errorf("%d of 50 failing in %d types: counts %+v, error %v", k.failing, k.types, c, err)
		}
	}
}

// inFlight is an Elasticsearch that takes a while over each bulk request and remembers the most
// it had at once.
type inFlight struct {
	mu        sync.Mutex
	now, most int
}

func (f *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodHead { // the write checks that its generation exists
		return respond(200, ""), nil
	}
	f.mu.Lock()
	f.now++
	f.most = max(f.most, f.now)
	f.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	f.mu.Lock()
	f.now--
	f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	var items []string
	for range bytes.Count(body, []byte("\n")) / 2 {
		items = append(items, `{"index":{"status":201}}`)
	}
	return respond(200, fmt.Sprintf(`{"errors":false,"items":[%s]}`, strings.Join(items, ","))), nil
}

// Writes at once share the process's bulk requests in flight (WithMaxBulkRequests), whatever
// their own workers: a partitioned rebuild writes a page of every partition at once.
func TestWritesShareTheBulkRequestsInFlight(t *testing.T) {
	for _, bound := range []int{1, 3} {
		f := &inFlight{}
		es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{"http://fake:9200"}, Transport: f, DisableRetry: true})
		if err != nil {
			t.Fatal(err)
		}
		x := search.New(es, "fake", search.WithBulkWorkers(4), search.WithFlushBytes(200), search.WithMaxBulkRequests(bound))
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				c, err := x.Write(context.Background(), "fake-products", ops(fmt.Sprintf("a%d", w), fmt.Sprintf("b%d", w), fmt.Sprintf("c%d", w), fmt.Sprintf("d%d", w)))
				if err != nil || c.Indexed != 4 {
					t.Errorf("write %d: %+v, %v", w, c, err)
				}
			})
		}
		wg.Wait()
		if f.most != bound {
			t.Errorf("bound %d: %d bulk requests were in flight at most, want %d", bound, f.most, bound)
		}
	}
}
