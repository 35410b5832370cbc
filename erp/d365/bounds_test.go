package d365

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/erpsync/erpsync/failure"
)

// hostile is an OData service that answers /data/ with whatever answer writes, and records the
// Authorization header of every request it gets.
type hostile struct {
	srv    *httptest.Server
	answer func(w http.ResponseWriter, r *http.Request)

	mu    sync.Mutex
	auths []string
}

func newHostile(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *hostile {
	t.Helper()
	h := &hostile{answer: answer}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"secret-token","token_type":"Bearer","expires_in":3600}`)
			return
		}
		h.mu.Lock()
		h.auths = append(h.auths, r.Header.Get("Authorization"))
		h.mu.Unlock()
		h.answer(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hostile) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.auths...)
}

func (h *hostile) client(t *testing.T, tune func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: h.srv.URL, ClientID: "id", ClientSecret: "secret", MaxRetries: -1}
	if tune != nil {
		tune(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fetchContacts runs one collection query through fetch, as every reader does.
func fetchContacts(c *Client) ([]row, error) {
	var n counter
	coll := c.colls[collContacts]
	return c.fetch(context.Background(), "read "+coll.name, coll, c.url(coll, param{"cross-company", "true"}), 0, 0, &n)
}

// TestOversizedAnswersFailWithoutBeingRead: an answer of 128 MiB against a bound of 1 MiB fails
// as invalid, whether its length is declared or streamed, and reading it allocates a few MiB,
// not hundreds (it was read whole: 782 MiB for 128 MiB).
func TestOversizedAnswersFailWithoutBeingRead(t *testing.T) {
	const size = 128 << 20
	chunk := []byte(`{"value":[` + strings.Repeat(`{"ContactPersonId":"x"},`, 1000))
	for _, declared := range []bool{true, false} {
		h := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
			if declared {
				w.Header().Set("Content-Length", fmt.Sprint(size))
			}
			for sent := 0; sent < size; sent += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return // the client stopped reading
				}
			}
		})
		c := h.client(t, func(c *Config) { c.MaxBodyBytes = 1 << 20 })
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := fetchContacts(c)
		runtime.ReadMemStats(&after)
		allocated := after.TotalAlloc - before.TotalAlloc
		if failure.KindOf(err) != failure.Invalid || !strings.Contains(err.Error(), "answer too large") {
			t.Errorf("declared length %v: %v, want invalid: answer too large", declared, err)
		}
		if allocated > 8<<20 {
			t.Errorf("declared length %v: reading allocated %d MiB against a bound of 1 MiB", declared, allocated>>20)
		}
		t.Logf("declared length %v: %v; %.1f MiB allocated", declared, err, float64(allocated)/(1<<20))
	}
	// Within the bound, answers are read as before.
	h := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"value":[{"ContactPersonId":"CP-1"}]}`)
	})
	if rows, err := fetchContacts(h.client(t, func(c *Config) { c.MaxBodyBytes = 4096 })); err != nil || len(rows) != 1 {
		t.Fatalf("a small answer: %d rows, %v", len(rows), err)
	}
}

// TestNextLinksStayWithTheService: an @odata.nextLink to another host (or scheme) is not
// followed and the token never reaches it; a relative one is; a link cycle, too many pages or an
// overlong link fail as invalid. The token used to follow any link, and a cycle looped forever.
func TestNextLinksStayWithTheService(t *testing.T) {
	other := newHostile(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"value":[]}`) })
	page := func(next string) string {
		if next == "" {
			return `{"value":[{"ContactPersonId":"CP-1"}]}`
		}
		return fmt.Sprintf(`{"value":[{"ContactPersonId":"CP-1"}],"@odata.nextLink":%q}`, next)
	}
	cases := []struct {
		name string
		// link returns the next link of request i (1-based) to service at base.
		link     func(base string, i int) string
		wantErr  string
		wantRows int
	}{
		{"relative link", func(base string, i int) string {
			if i == 1 {
				return "ContactPersonsV2?$skiptoken=2"
			}
			return ""
		}, "", 2},
		{"absolute link to the service", func(base string, i int) string {
			if i == 1 {
				return base + "/data/ContactPersonsV2?$skiptoken=2"
			}
			return ""
		}, "", 2},
		{"link to another host", func(base string, i int) string { return other.srv.URL + "/data/ContactPersonsV2?$skiptoken=2" }, "leaves the service", 0},
		{"scheme-relative link to another host", func(base string, i int) string { return "//evil.example/data/ContactPersonsV2" }, "leaves the service", 0},
		{"link to https of the same host", func(base string, i int) string { return strings.Replace(base, "http://", "https://", 1) + "/data/X" }, "leaves the service", 0},
		{"cycle", func(base string, i int) string { return base + "/data/ContactPersonsV2?$skiptoken=same" }, "page already read", 0},
		{"endless pages", func(base string, i int) string { return fmt.Sprintf("%s/data/ContactPersonsV2?$skiptoken=%d", base, i) }, "more than 50 pages", 0},
		{"overlong link", func(base string, i int) string {
			return base + "/data/ContactPersonsV2?$skiptoken=" + strings.Repeat("x", 20000)
		}, "longer than", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var (
				mu sync.Mutex
				i  int
				h  *hostile
			)
			h = newHostile(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				i++
				n := i
				mu.Unlock()
				io.WriteString(w, page(c.link(h.srv.URL, n)))
			})
			rows, err := fetchContacts(h.client(t, func(c *Config) { c.MaxPagesPerFetch = 50 }))
			if c.wantErr == "" {
				if err != nil || len(rows) != c.wantRows {
					t.Fatalf("%d rows, %v; want %d", len(rows), err, c.wantRows)
				}
			} else if failure.KindOf(err) != failure.Invalid || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want invalid: %s", err, c.wantErr)
			}
			if n := len(other.requests()); n != 0 {
				t.Fatalf("the other host got %d requests, with Authorization %q", n, other.requests())
			}
		})
	}
}

// TestRedirectsStayWithTheService: a redirect to another host is not followed, so the token
// does not go there.
func TestRedirectsStayWithTheService(t *testing.T) {
	other := newHostile(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"value":[]}`) })
	h := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.srv.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
	_, err := fetchContacts(h.client(t, nil))
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("a redirect to another host: %v, want it refused", err)
	}
	if n := len(other.requests()); n != 0 {
		t.Fatalf("the other host got %d requests, with Authorization %q", n, other.requests())
	}
}
