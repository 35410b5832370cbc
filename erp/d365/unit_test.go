package d365

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"": 0, "7": 7 * time.Second, " 0 ": 0, "-3": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestParseEnvelopeIsStrict(t *testing.T) {
	ok := `{"@odata.context":"x","value":[{"a":1},{"b":"2"}],"@odata.nextLink":"http://h/data/X?$skiptoken=t"}` + "\n"
	env, err := parseEnvelope(ok)
	if err != nil || len(env.Rows) != 2 || env.NextLink == "" || env.Rows[0].get("a") != (value{kindNumber, "1"}) || env.Rows[1].raw != `{"b":"2"}` {
		t.Fatalf("parseEnvelope(ok) = %+v, %v", env, err)
	}
	for _, bad := range []string{
		ok[:len(ok)/2], ok[:len(ok)-3], `{"value":[]}{"value":[]}`, `{"value":[]} x`, `{"error":{}}`, ``, `[]`, `{"value":{}}`, `{"value":null}`, `{"value":[1]}`, `{"value":[null]}`,
	} {
		if _, err := parseEnvelope(bad); err == nil {
			t.Errorf("parseEnvelope(%q) accepted", bad)
		}
	}
}

func TestParseRecordKey(t *testing.T) {
	for in, want := range map[string]string{
		"ItemNumber='1000'":                     "1000",
		"dataAreaId='usmf',ItemNumber='A''B'":   "A'B",
		" PersonnelNumber = '000101' ":          "000101",
		"ContactPersonId='CP-US-001-1'":         "CP-US-001-1",
		"RecId=42":                              "42",
		"ItemNumber='a,b=c'":                    "a,b=c",
		"ItemNumber='1',LanguageId='de'":        "",
		"ItemNumber='1":                         "",
		"ItemNumber":                            "",
		"":                                      "",
		"dataAreaId='usmf'":                     "",
		"ItemNumber='1' LanguageId='de'":        "",
		"CustomerAccount='US-001',dataAreaId=x": "US-001",
	} {
		got, err := parseRecordKey(in)
		if want == "" {
			if err == nil {
				t.Errorf("parseRecordKey(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("parseRecordKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if recIDKey(42) != "00000000000000000042" || recIDKey(9) > recIDKey(10) {
		t.Error("RecId keys are 20 digits and sort numerically")
	}
}

func TestQueryText(t *testing.T) {
	if got := quote("O'Brien"); got != "'O''Brien'" {
		t.Errorf("quote = %s", got)
	}
	if got := quoteList([]string{"a", "b'c"}); got != "('a','b''c')" {
		t.Errorf("quoteList = %s", got)
	}
	if got := timeLiteral(time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.FixedZone("x", 3600))); got != "2026-01-02T02:04:05.120000Z" {
		t.Errorf("timeLiteral = %s", got)
	}
	if got := escapeQuery("dataAreaId eq 'a&b' and X in ('1+2','é#')"); got != "dataAreaId%20eq%20'a%26b'%20and%20X%20in%20('1%2B2','%C3%A9%23')" {
		t.Errorf("escapeQuery = %s", got)
	}
}

func TestFetchInSplitsLongLists(t *testing.T) {
	c, err := New(Config{BaseURL: "http://erp.example", ClientID: "id", ClientSecret: "s", MaxURLLength: 600})
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for i := range 200 {
		values = append(values, strings.Repeat("x", i%7)+"-item")
	}
	coll := c.colls[collTranslations]
	build := func(list []string) string {
		return c.url(coll, param{"cross-company", "true"}, param{"$filter", "dataAreaId eq 'usmf' and ItemNumber in " + quoteList(list)})
	}
	var joined []string
	lists := splitIn(build, values, c.cfg.MaxURLLength, 0)
	for _, l := range lists {
		if u := build(l); len(u) > 600 {
			t.Fatalf("URL of %d bytes", len(u))
		}
		joined = append(joined, l...)
	}
	if !slices.Equal(joined, values) || len(lists) < 5 {
		t.Fatalf("%d lists lose or reorder values", len(lists))
	}
	if lists := splitIn(build, values, 100_000, 30); len(lists) != 7 || len(lists[0]) != 30 {
		t.Fatalf("maxIn 30: %d lists", len(lists))
	}
	if lists := splitIn(build, []string{strings.Repeat("y", 1000)}, 600, 0); len(lists) != 1 {
		t.Fatal("a value longer than the limit still gets its request")
	}
}

func TestConfig(t *testing.T) {
	err := Config{PageSize: 20_000, Companies: []string{"us mf"}, Names: Names{Fields: map[string]map[string]string{"Nope": {"a": "b"}}}}.Validate()
	for _, want := range []string{"ERP URL", "client id", "client secret", "us mf", "page size", "Nope"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want a problem about %s", err, want)
		}
	}
	cfg := Config{BaseURL: "http://127.0.0.1:8088/", ClientID: "erpsync", ClientSecret: "s", Companies: []string{"USMF", "demf"}, PageSize: 250,
		MaxBodyBytes: 1 << 20}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.TokenURL != "http://127.0.0.1:8088/oauth2/token" || c.cfg.Scope != "" || c.cfg.PageSize != 250 || c.companyFilter != "dataAreaId in ('usmf','demf')" ||
		c.cfg.MaxRetries != DefaultMaxRetries || c.colls[collCustomers].name != "CustomersV3" ||
		c.cfg.MaxBodyBytes != 1<<20 || c.cfg.MaxPagesPerFetch != DefaultMaxPages {
		t.Errorf("config: %+v, filter %q", c.cfg, c.companyFilter)
	}
}

// TestTenantDerivesEntraTokenURLAndScope: with a tenant, the token comes from Entra ID's v2.0
// endpoint of that tenant, for the scope "<environment URL>/.default" (the URLs Microsoft
// documents for the client credentials flow, written out here).
func TestTenantDerivesEntraTokenURLAndScope(t *testing.T) {
	c, err := New(Config{BaseURL: "https://contoso.operations.dynamics.com/", TenantID: "11111111-2222-3333-4444-555555555555",
		ClientID: "app", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token"; c.cfg.TokenURL != want {
		t.Errorf("token URL %q, want %q", c.cfg.TokenURL, want)
	}
	if want := "https://contoso.operations.dynamics.com/.default"; c.cfg.Scope != want {
		t.Errorf("scope %q, want %q", c.cfg.Scope, want)
	}
	c, err = New(Config{BaseURL: "https://contoso.operations.dynamics.com", TenantID: "contoso.onmicrosoft.com",
		TokenURL: "https://login.example/token", Scope: "api://x/.default", ClientID: "app", ClientSecret: "s"})
	if err != nil || c.cfg.TokenURL != "https://login.example/token" || c.cfg.Scope != "api://x/.default" {
		t.Errorf("a token URL and scope given win over the derived ones: %+v %v", c.cfg, err)
	}
}

// TestTokenFailureSaysWhatToDo: a wrong secret is named as such, with the token URL; a token URL
// that is no token endpoint (D365's own host, reached for want of a tenant) says to set the tenant.
func TestTokenFailureSaysWhatToDo(t *testing.T) {
	d365 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>not here</html>", http.StatusNotFound) // what a host without /oauth2/token answers
	}))
	defer d365.Close()
	c, err := New(Config{BaseURL: d365.URL, ClientID: "app", ClientSecret: "s", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Contacts(t.Context(), erp.ReadRequest{})
	for _, want := range []string{d365.URL + "/oauth2/token", "ERP_TENANT_ID", "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("token from a host that has no token endpoint: %v; want it to mention %s", err, want)
		}
	}

	entra := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
	}))
	defer entra.Close()
	c, err = New(Config{BaseURL: "https://contoso.operations.dynamics.com", TenantID: "t", TokenURL: entra.URL + "/t/oauth2/v2.0/token",
		ClientID: "app", ClientSecret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Contacts(t.Context(), erp.ReadRequest{})
	if failure.KindOf(err) != failure.Unauthorized {
		t.Errorf("wrong secret: %v, want unauthorized", err)
	}
	for _, want := range []string{entra.URL + "/t/oauth2/v2.0/token", `client id "app" or its secret is wrong`, "AADSTS7000215"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("wrong secret: %v; want it to mention %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "ERP_TENANT_ID") {
		t.Errorf("wrong secret with a tenant set: %v; the tenant hint does not apply", err)
	}
	for _, bad := range []int64{-1, 100} {
		cfg := Config{BaseURL: "http://127.0.0.1:8088", ClientID: "id", ClientSecret: "s", MaxBodyBytes: bad}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "max body bytes") {
			t.Errorf("MaxBodyBytes %d: %v, want a problem", bad, err)
		}
	}
}

func TestStatusErrorCarriesTheODataMessage(t *testing.T) {
	resp := &http.Response{StatusCode: 400, Header: http.Header{},
		Body: http.NoBody}
	resp.Body = readCloser(`{"error":{"code":"BadRequest","message":"unknown field \"X\""}}`)
	err := statusError("read X", resp)
	if failure.KindOf(err) != failure.Invalid || !strings.Contains(err.Error(), `unknown field "X"`) {
		t.Errorf("400: %v", err)
	}
	resp = &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"12"}}, Body: readCloser("slow down")}
	err = statusError("read X", resp)
	if failure.KindOf(err) != failure.RateLimited || failure.RetryAfterOf(err) != 12*time.Second {
		t.Errorf("429: %v", err)
	}
	for code, kind := range map[int]failure.Kind{401: failure.Unauthorized, 403: failure.Unauthorized, 404: failure.NotFound,
		500: failure.Unavailable, 502: failure.Unavailable, 503: failure.Unavailable, 504: failure.Unavailable, 302: failure.Unavailable} {
		if got := failure.KindOf(statusError("op", &http.Response{StatusCode: code, Body: readCloser("")})); got != kind {
			t.Errorf("%d: %v, want %v", code, got, kind)
		}
	}
}

type stringBody struct{ *strings.Reader }

func (stringBody) Close() error { return nil }

func readCloser(s string) stringBody { return stringBody{strings.NewReader(s)} }
