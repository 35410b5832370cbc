package erpsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/store"
)

// testERP is a simulator behind a real HTTP server, with a client holding a token.
type testERP struct {
	t     testing.TB
	srv   *Server
	store *store.Store
	http  *httptest.Server
	token string
}

func newTestERP(t testing.TB, gen generate.Config, cfg Config) *testERP {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if gen.Products > 0 || gen.Customers > 0 {
		if _, err := generate.Run(ctx, st, gen); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := NewServer(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e := &testERP{t: t, srv: srv, store: st, http: hs}
	e.token = e.fetchToken(url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}, http.StatusOK)
	return e
}

func (e *testERP) fetchToken(form url.Values, wantStatus int) string {
	e.t.Helper()
	resp, err := http.PostForm(e.http.URL+"/oauth2/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	if resp.StatusCode != wantStatus {
		e.t.Fatalf("token: status %d, want %d", resp.StatusCode, wantStatus)
	}
	return tok.AccessToken
}

// do sends a request with the token and returns status, headers and body.
func (e *testERP) do(method, path string, body any, header ...string) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		if s, ok := body.(string); ok {
			b = []byte(s)
		}
		rd = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.http.URL + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// collection is an OData collection response with exact numbers.
type collection struct {
	Count    *int64           `json:"@odata.count"`
	Value    []map[string]any `json:"value"`
	NextLink string           `json:"@odata.nextLink"`
}

func decode(t testing.TB, b []byte) collection {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var c collection
	if err := d.Decode(&c); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return c
}

func (e *testERP) get(path string, header ...string) collection {
	e.t.Helper()
	status, _, b := e.do("GET", path, nil, header...)
	if status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, status, b)
	}
	return decode(e.t, b)
}

func q(s string) string { return url.PathEscape(s) }

func small() generate.Config {
	return generate.Config{Seed: 7, Companies: []string{"usmf", "demf"}, Products: 60, Customers: 10, SalesReps: 6}
}

// TestKeysetPagingSharedStamps pages a collection where hundreds of records share one
// ModifiedDateTime, as the connector does: a $filter on (ModifiedDateTime, key) and
// @odata.nextLink, with a small page size, and gets every record exactly once.
func TestKeysetPagingSharedStamps(t *testing.T) {
	e := newTestERP(t, generate.Config{Seed: 3, Companies: []string{"usmf"}, Products: 1200, Customers: 1}, Config{})
	all := e.get("/data/ReleasedProductsV2?$select=ItemNumber,ModifiedDateTime&$count=true", "Prefer", "odata.maxpagesize=5000")
	if *all.Count != 1200 || len(all.Value) != 1200 {
		t.Fatalf("count %d, %d records", *all.Count, len(all.Value))
	}
	stamps := map[string]int{}
	for _, r := range all.Value {
		stamps[r["ModifiedDateTime"].(string)]++
	}
	if stamps[all.Value[0]["ModifiedDateTime"].(string)] < 300 {
		t.Fatalf("want hundreds of records sharing a stamp, got %v", stamps)
	}

	seen := map[string]int{}
	var lastT, lastK string
	for requests := 0; ; requests++ {
		if requests > 200 {
			t.Fatal("too many requests")
		}
		// Restart from the watermark every 5 pages, as a connector resuming from its cursor.
		path := "/data/ReleasedProductsV2?$orderby=ModifiedDateTime,ItemNumber&$select=ItemNumber,ModifiedDateTime"
		if lastT != "" {
			path += "&$filter=" + q(fmt.Sprintf("ModifiedDateTime gt %s or (ModifiedDateTime eq %s and ItemNumber gt '%s')", lastT, lastT, lastK))
		}
		link := e.http.URL + path
		for range 5 {
			c := e.get(link, "Prefer", "odata.maxpagesize=37")
			for _, r := range c.Value {
				seen[r["ItemNumber"].(string)]++
				lastT, lastK = r["ModifiedDateTime"].(string), r["ItemNumber"].(string)
			}
			link = c.NextLink
			if link == "" {
				break
			}
			if !strings.HasPrefix(link, e.http.URL+"/data/") || !strings.Contains(link, "skiptoken") {
				t.Fatalf("nextLink %q is not an absolute link with a skiptoken", link)
			}
		}
		if link == "" {
			break
		}
	}
	if len(seen) != 1200 {
		t.Errorf("saw %d distinct records, want 1200", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("record %s seen %d times", k, n)
		}
	}
}

func TestAuth(t *testing.T) {
	e := newTestERP(t, generate.Config{}, Config{TokenTTL: time.Minute})
	tok := e.token
	e.token = ""
	if status, h, b := e.do("GET", "/data/LegalEntities", nil); status != http.StatusUnauthorized || !strings.Contains(string(b), `"code":"Unauthorized"`) || h.Get("WWW-Authenticate") == "" {
		t.Errorf("without a token: %d %s", status, b)
	}
	e.token = "forged"
	if status, _, _ := e.do("GET", "/data/LegalEntities", nil); status != http.StatusUnauthorized {
		t.Errorf("with a forged token: %d", status)
	}
	e.token = tok
	if status, _, b := e.do("GET", "/data/LegalEntities", nil); status != http.StatusOK {
		t.Errorf("with a token: %d %s", status, b)
	}
	// Expiry: move the issuer's clock past the TTL.
	e.srv.auth.mu.Lock()
	e.srv.auth.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	e.srv.auth.mu.Unlock()
	if status, _, b := e.do("GET", "/data/LegalEntities", nil); status != http.StatusUnauthorized || !strings.Contains(string(b), "expired") {
		t.Errorf("with an expired token: %d %s", status, b)
	}
	e.srv.auth.mu.Lock()
	e.srv.auth.now = time.Now
	e.srv.auth.mu.Unlock()

	e.fetchToken(url.Values{"grant_type": {"client_credentials"}, "client_id": {"erpsync"}, "client_secret": {"wrong"}}, http.StatusUnauthorized)
	e.fetchToken(url.Values{"grant_type": {"password"}, "client_id": {"erpsync"}, "client_secret": {DefaultClientSecret}}, http.StatusBadRequest)
	// HTTP basic client authentication.
	req, _ := http.NewRequest("POST", e.http.URL+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("basic auth: %d", resp.StatusCode)
	}
	// The admin API needs the token too.
	e.token = ""
	if status, _, _ := e.do("GET", "/admin/faults", nil); status != http.StatusUnauthorized {
		t.Errorf("admin without a token: %d", status)
	}
}

func TestErrors(t *testing.T) {
	e := newTestERP(t, small(), Config{})
	for _, tc := range []struct {
		path   string
		status int
		code   string
		want   string
	}{
		{"/data/NoSuchThing", 404, "NotFound", `no collection "NoSuchThing"`},
		{"/data/ReleasedProductsV2(dataAreaId='usmf',ItemNumber='nope')", 404, "NotFound", "no ReleasedProductsV2 record"},
		{"/data/ReleasedProductsV2(dataAreaId='demf',ItemNumber='1000')", 404, "NotFound", "cross-company=true"},
		{"/data/ReleasedProductsV2(ItemNumber='1000')", 400, "BadRequest", "the key of ReleasedProductsV2 is dataAreaId, ItemNumber"},
		{"/data/ReleasedProductsV2(dataAreaId='usmf',Foo='1')", 400, "BadRequest", `"Foo" is not a key field`},
		{"/data/ReleasedProductsV2?$filter=" + q("ItemNumber eq"), 400, "BadRequest", "invalid $filter"},
		{"/data/ReleasedProductsV2?$filter=" + q("Colour eq 'Red'"), 400, "BadRequest", `unknown field "Colour"`},
		{"/data/ReleasedProductsV2?$select=Nope", 400, "BadRequest", `unknown field "Nope" in $select`},
		{"/data/ReleasedProductsV2?$orderby=" + q("ItemNumber sideways"), 400, "BadRequest", "bad direction"},
		{"/data/ReleasedProductsV2?$top=-1", 400, "BadRequest", "invalid $top"},
		{"/data/ReleasedProductsV2?$count=maybe", 400, "BadRequest", "invalid $count"},
		{"/data/ReleasedProductsV2?$expand=Foo", 400, "BadRequest", "$expand is not supported"},
		{"/data/ReleasedProductsV2?$skiptoken=xyz", 400, "BadRequest", "invalid $skiptoken"},
	} {
		status, _, b := e.do("GET", tc.path, nil)
		var body errorBody
		json.Unmarshal(b, &body)
		if status != tc.status || body.Error.Code != tc.code || !strings.Contains(body.Error.Message, tc.want) {
			t.Errorf("GET %s: %d %s, want %d %s mentioning %q", tc.path, status, b, tc.status, tc.code, tc.want)
		}
	}
}

func TestQueryOptions(t *testing.T) {
	e := newTestERP(t, small(), Config{})
	usmf := e.get("/data/ReleasedProductsV2?$count=true&$top=1")
	all := e.get("/data/ReleasedProductsV2?$count=true&$top=1&cross-company=true")
	if *usmf.Count != 30 || *all.Count != 60 || len(usmf.Value) != 1 {
		t.Errorf("counts: usmf %d, all %d; want 30, 60", *usmf.Count, *all.Count)
	}
	// By key: another company needs cross-company=true, as a query does.
	demf := "/data/ReleasedProductsV2(dataAreaId='demf',ItemNumber='1000')"
	if status, _, _ := e.do("GET", demf, nil); status != http.StatusNotFound {
		t.Errorf("GET %s without cross-company: %d", demf, status)
	}
	if status, _, b := e.do("GET", demf+"?cross-company=true", nil); status != http.StatusOK || !strings.Contains(string(b), `"dataAreaId":"demf"`) {
		t.Errorf("GET %s with cross-company: %d %s", demf, status, b)
	}
	for _, r := range e.get("/data/CustomersV3").Value {
		if r["dataAreaId"] != "usmf" {
			t.Errorf("without cross-company: a %v record", r["dataAreaId"])
		}
	}
	sel := e.get("/data/ReleasedProductsV2?$select=ItemNumber,SalesPrice&$top=3&$orderby=" + q("SalesPrice desc,ItemNumber"))
	var prev float64 = 1e18
	for _, r := range sel.Value {
		if len(r) != 2 {
			t.Errorf("$select gave fields %v", r)
		}
		p, _ := r["SalesPrice"].(json.Number).Float64()
		if p > prev {
			t.Errorf("not in descending price order: %v after %v", p, prev)
		}
		prev = p
	}
	// Children of a page of roots with one "in" request.
	c := e.get("/data/ProductTranslations?$filter=" + q("dataAreaId eq 'usmf' and ItemNumber in ('1000','1001') and LanguageId eq 'de'"))
	if len(c.Value) != 2 {
		t.Errorf("in filter gave %d translations, want 2", len(c.Value))
	}
	for _, r := range c.Value {
		if name := r["ProductName"].(string); name == "" {
			t.Errorf("empty German name")
		}
	}
	// $top across server-driven pages.
	p := e.get("/data/ReleasedProductsV2?$top=7&cross-company=true", "Prefer", "odata.maxpagesize=3")
	n := len(p.Value)
	for p.NextLink != "" {
		p = e.get(p.NextLink, "Prefer", "odata.maxpagesize=3")
		n += len(p.Value)
	}
	if n != 7 {
		t.Errorf("$top=7 over pages of 3 gave %d records", n)
	}
	// maxpagesize is capped and echoed.
	_, h, _ := e.do("GET", "/data/LegalEntities", nil, "Prefer", "odata.maxpagesize=50000")
	if got := h.Get("Preference-Applied"); got != "odata.maxpagesize=10000" {
		t.Errorf("Preference-Applied %q", got)
	}
}

func TestWritesAndDeletedRecords(t *testing.T) {
	e := newTestERP(t, small(), Config{})
	status, h, b := e.do("POST", "/data/ReleasedProductsV2", `{"dataAreaId":"usmf","ItemNumber":"NEW-1","ProductName":"New chair","SalesPrice":12.50,"ProductSubType":"Product"}`)
	if status != http.StatusCreated || !strings.Contains(string(b), `"SalesPrice":12.50`) || !strings.HasSuffix(h.Get("Location"), "ReleasedProductsV2(dataAreaId='usmf',ItemNumber='NEW-1')") {
		t.Fatalf("POST: %d %s %v", status, b, h)
	}
	if status, _, b := e.do("POST", "/data/ReleasedProductsV2", `{"ItemNumber":"NEW-1"}`); status != http.StatusConflict {
		t.Errorf("duplicate POST: %d %s", status, b)
	}
	if status, _, b := e.do("POST", "/data/ReleasedProductsV2", `{"ItemNumber":"NEW-2","Bogus":1}`); status != http.StatusBadRequest || !strings.Contains(string(b), "Bogus") {
		t.Errorf("POST with an unknown field: %d %s", status, b)
	}
	if status, _, b := e.do("POST", "/data/ReleasedProductsV2", `{"ItemNumber":"NEW-2","ProductSubType":"Service"}`); status != http.StatusBadRequest || !strings.Contains(string(b), "ProductSubType") {
		t.Errorf("POST with a bad enum: %d %s", status, b)
	}
	if status, _, b := e.do("POST", "/data/ProductTranslations", `{"ItemNumber":"NEW-1","LanguageId":"de","ProductName":"Neuer Stuhl"}`); status != http.StatusCreated {
		t.Errorf("POST translation: %d %s", status, b)
	}
	key := "/data/ReleasedProductsV2(dataAreaId='usmf',ItemNumber='NEW-1')"
	before := e.get("/data/ReleasedProductsV2?$filter=" + q("ItemNumber eq 'NEW-1'")).Value[0]["ModifiedDateTime"]
	if status, _, b := e.do("PATCH", key, `{"SalesPrice":"0.125"}`); status != http.StatusNoContent {
		t.Fatalf("PATCH: %d %s", status, b)
	}
	if status, _, b := e.do("PATCH", key, `{"ItemNumber":"OTHER"}`); status != http.StatusBadRequest {
		t.Errorf("PATCH of a key: %d %s", status, b)
	}
	if status, _, b := e.do("PATCH", key, `{"SalesPrice":0.1234567}`); status != http.StatusBadRequest || !strings.Contains(string(b), "more than 6 decimals") {
		t.Errorf("PATCH with 7 decimals: %d %s", status, b)
	}
	status, _, b = e.do("GET", key, nil)
	if status != http.StatusOK || !strings.Contains(string(b), `"SalesPrice":0.125,`) {
		t.Errorf("GET after PATCH: %d %s", status, b)
	}
	var got map[string]any
	json.Unmarshal(b, &got)
	if got["ModifiedDateTime"] == before {
		t.Errorf("PATCH did not move ModifiedDateTime")
	}
	if status, _, b := e.do("DELETE", key, nil); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", status, b)
	}
	if status, _, _ := e.do("GET", key, nil); status != http.StatusNotFound {
		t.Errorf("GET after DELETE: %d", status)
	}
	if status, _, _ := e.do("DELETE", key, nil); status != http.StatusNotFound {
		t.Errorf("second DELETE: %d", status)
	}
	tr := e.get("/data/ProductTranslations?$filter=" + q("ItemNumber eq 'NEW-1'"))
	if len(tr.Value) != 0 {
		t.Errorf("translations of a deleted product remain: %v", tr.Value)
	}
	del := e.get("/data/DeletedRecords?$filter=" + q("EntityName eq 'ReleasedProductsV2'") + "&$orderby=ModifiedDateTime,RecId")
	if len(del.Value) != 1 || del.Value[0]["RecordKey"] != "ItemNumber='NEW-1'" || del.Value[0]["DeletedDateTime"] != del.Value[0]["ModifiedDateTime"] {
		t.Errorf("DeletedRecords: %v", del.Value)
	}
	if status, _, _ := e.do("POST", "/data/DeletedRecords", `{"EntityName":"x"}`); status != http.StatusBadRequest {
		t.Errorf("POST to the deletion log: %d", status)
	}
}

func TestDecimalsRoundTripExactly(t *testing.T) {
	e := newTestERP(t, generate.Config{}, Config{})
	prices := []string{"12.50", "0.125", "99999999.999999", "0.000001", "-5.10", "7"}
	for i, p := range prices {
		body := fmt.Sprintf(`{"ItemCode":"Table","ItemNumber":"X","AccountCode":"All","Price":%s,"FromQuantity":%s}`, p, p)
		if status, _, b := e.do("POST", "/data/SalesPriceAgreements", body); status != http.StatusCreated {
			t.Fatalf("POST price %s: %d %s", p, status, b)
		}
		_ = i
	}
	c := e.get("/data/SalesPriceAgreements?$orderby=RecordId&$select=Price,FromQuantity")
	for i, r := range c.Value {
		if got := string(r["Price"].(json.Number)); got != prices[i] {
			t.Errorf("price %s came back as %s", prices[i], got)
		}
		if got := string(r["FromQuantity"].(json.Number)); got != prices[i] {
			t.Errorf("quantity %s came back as %s", prices[i], got)
		}
	}
}

func TestFaults(t *testing.T) {
	e := newTestERP(t, generate.Config{}, Config{})
	set := func(f Faults) {
		t.Helper()
		status, _, b := e.do("PUT", "/admin/faults", f)
		if status != http.StatusOK {
			t.Fatalf("PUT faults: %d %s", status, b)
		}
	}
	t.Run("latency", func(t *testing.T) {
		set(Faults{Latency: Duration(150 * time.Millisecond)})
		start := time.Now()
		e.get("/data/LegalEntities")
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("request took %v, want >= 150ms", d)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		set(Faults{ErrorShare: 1})
		seen := map[int]bool{}
		for range 30 {
			status, _, _ := e.do("GET", "/data/LegalEntities", nil)
			seen[status] = true
		}
		if !seen[500] || !seen[503] || len(seen) != 2 {
			t.Errorf("statuses %v, want 500 and 503", seen)
		}
	})
	t.Run("429", func(t *testing.T) {
		set(Faults{RateLimitShare: 1, RetryAfter: Duration(1500 * time.Millisecond)})
		status, h, _ := e.do("GET", "/data/LegalEntities", nil)
		if status != http.StatusTooManyRequests || h.Get("Retry-After") != "2" {
			t.Errorf("got %d Retry-After %q, want 429 and 2", status, h.Get("Retry-After"))
		}
	})
	t.Run("truncated body", func(t *testing.T) {
		set(Faults{TruncateShare: 1})
		req, _ := http.NewRequest("GET", e.http.URL+"/data/LegalEntities", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err == nil {
			t.Error("a truncated body read without error")
		}
	})
	t.Run("oversized bodies", func(t *testing.T) {
		set(Faults{OversizeNext: 2, OversizeBytes: 3 << 20})
		for i, want := range []int{3 << 20, 3 << 20, 0} {
			status, _, b := e.do("GET", "/data/LegalEntities", nil)
			var c collection
			if status != http.StatusOK || json.Unmarshal(b, &c) != nil || !bytes.Contains(b, []byte(`"value"`)) {
				t.Fatalf("answer %d: %d, %d bytes, not the collection", i, status, len(b))
			}
			if want > 0 && len(b) < want || want == 0 && len(b) > 64<<10 {
				t.Errorf("answer %d: %d bytes, want %d (0: not padded)", i, len(b), want)
			}
		}
		var f Faults
		_, _, b := e.do("GET", "/admin/faults", nil)
		if json.Unmarshal(b, &f) != nil || f.OversizeNext != 0 {
			t.Errorf("after two oversized answers the count is %s", b)
		}
	})
	t.Run("clock skew in the Date header", func(t *testing.T) {
		set(Faults{ClockSkew: Duration(-2 * time.Hour)})
		defer set(Faults{})
		_, h, _ := e.do("GET", "/data/LegalEntities", nil)
		d, err := http.ParseTime(h.Get("Date"))
		if err != nil || time.Since(d) < 2*time.Hour-time.Minute || time.Since(d) > 2*time.Hour+time.Minute {
			t.Errorf("Date %q with the clock two hours behind", h.Get("Date"))
		}
	})
	t.Run("share zero", func(t *testing.T) {
		set(Faults{})
		e.get("/data/LegalEntities")
	})
	t.Run("clock skew", func(t *testing.T) {
		set(Faults{ClockSkew: Duration(48 * time.Hour)})
		defer set(Faults{})
		if status, _, b := e.do("POST", "/data/CommissionSalesGroups", `{"GroupId":"SK","Name":"Skewed"}`); status != http.StatusCreated {
			t.Fatalf("POST: %d %s", status, b)
		}
		c := e.get("/data/CommissionSalesGroups?$filter=" + q("GroupId eq 'SK'"))
		stamp, _ := time.Parse(time.RFC3339, c.Value[0]["ModifiedDateTime"].(string))
		if d := time.Until(stamp); d < 47*time.Hour {
			t.Errorf("stamp %v is only %v ahead", stamp, d)
		}
	})
	t.Run("faults are validated", func(t *testing.T) {
		if status, _, _ := e.do("PUT", "/admin/faults", `{"error_share":1.5}`); status != http.StatusBadRequest {
			t.Errorf("share 1.5 accepted: %d", status)
		}
		if status, _, _ := e.do("PUT", "/admin/faults", `{"nonsense":1}`); status != http.StatusBadRequest {
			t.Errorf("unknown setting accepted: %d", status)
		}
		var f Faults
		_, _, b := e.do("GET", "/admin/faults", nil)
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("GET faults: %v %s", err, b)
		}
	})
	t.Run("faults do not touch the token endpoint", func(t *testing.T) {
		set(Faults{ErrorShare: 1})
		defer set(Faults{})
		e.fetchToken(url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}, http.StatusOK)
	})
}

func TestLateCommitsThroughTheDriver(t *testing.T) {
	e := newTestERP(t, small(), Config{Faults: Faults{LateCommitShare: 1, LateCommitDelay: Duration(400 * time.Millisecond)}})
	d := e.srv.Driver()
	ctx := context.Background()
	start := time.Now()
	for range 20 {
		if err := d.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st := d.Stats(); st.LateCommits != 0 || st.Edits+st.Creates+st.Deletes != 0 {
		t.Fatalf("changes visible before their late commit: %+v", st)
	}
	d.pending.Wait()
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Errorf("late commits done after %v, want >= 400ms", took)
	}
	if st := d.Stats(); st.LateCommits == 0 {
		t.Errorf("no late commit applied: %+v", st)
	}
}

func TestChangeDriver(t *testing.T) {
	e := newTestERP(t, small(), Config{Seed: 5})
	ctx := context.Background()
	d := e.srv.Driver()
	for range 300 {
		if err := d.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	st := d.Stats()
	if st.Creates < 30 || st.Edits < 100 || st.Deletes < 30 {
		t.Errorf("driver stats %+v: want creates, edits and deletes", st)
	}
	if st.Failed > 60 {
		t.Errorf("driver stats %+v: too many failed changes", st)
	}
	// A company's trade agreement activation is only ever edited: one row per company stays.
	if act, cos := e.get("/data/PriceParameters?cross-company=true"), e.get("/data/LegalEntities?cross-company=true"); len(act.Value) != len(cos.Value) {
		t.Errorf("%d activation rows for %d companies after 300 random changes", len(act.Value), len(cos.Value))
	}
	del := e.get("/data/DeletedRecords?cross-company=true")
	if len(del.Value) == 0 {
		t.Error("no DeletedRecords after 300 random changes")
	}
	// The admin API sets the rate and Run applies it.
	status, _, b := e.do("PUT", "/admin/changes", `{"rate":200}`)
	if status != http.StatusOK || !strings.Contains(string(b), `"rate": 200`) {
		t.Fatalf("PUT changes: %d %s", status, b)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- d.Run(runCtx) }()
	before := d.Stats()
	time.Sleep(300 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	after := d.Stats()
	if n := after.Creates + after.Edits + after.Deletes + after.Failed - (before.Creates + before.Edits + before.Deletes + before.Failed); n < 10 {
		t.Errorf("Run at 200/s made %d changes in 300ms", n)
	}
}

// BenchmarkServeProductPage serves what the connector reads per page of products: 1,000
// products, then each child collection for those products with one "in (...)" request.
func BenchmarkServeProductPage(b *testing.B) {
	e := newTestERP(b, generate.Config{Seed: 1, Companies: []string{"usmf"}, Products: 3000, Customers: 10, SalesReps: 3}, Config{})
	page := e.get("/data/ReleasedProductsV2?$orderby=ModifiedDateTime,ItemNumber&$select=ItemNumber", "Prefer", "odata.maxpagesize=1000")
	var items []string
	for _, r := range page.Value {
		items = append(items, "'"+r["ItemNumber"].(string)+"'")
	}
	in := strings.Join(items, ",")
	children := map[string]string{
		"ProductMasterDimensionValues": "ProductMasterNumber", "ReleasedProductVariantsV2": "ItemNumber",
		"ProductTranslations": "ItemNumber", "ProductAttachments": "ItemNumber", "ProductCategoryAssignments": "ItemNumber",
		"RelatedProducts": "ItemNumber", "ProductBarcodes": "ItemNumber", "ItemDefaultOrderSettings": "ItemNumber",
		"SalesPriceAgreements": "ItemNumber", "SalesLineDiscountAgreements": "ItemNumber",
	}
	// The client reads the whole body but only counts the records (each starts with its
	// dataAreaId), so the figure is the server's, not the JSON decoder's.
	fetch := func(path string) int {
		status, _, body := e.do("GET", path, nil, "Prefer", "odata.maxpagesize=10000")
		if status != http.StatusOK || !bytes.HasSuffix(body, []byte("]}\n")) {
			b.Fatalf("GET %s: %d %.200s", path, status, body)
		}
		return bytes.Count(body, []byte(`{"dataAreaId":`))
	}
	b.ResetTimer()
	var records int
	for b.Loop() {
		records += fetch("/data/ReleasedProductsV2?$orderby=ModifiedDateTime,ItemNumber&$top=1000")
		for coll, field := range children {
			records += fetch("/data/" + coll + "?$filter=" + q("dataAreaId eq 'usmf' and "+field+" in ("+in+")"))
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "products/s")
}
