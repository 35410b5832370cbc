package simtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Row is one OData record as the ERP sent it, numbers kept as their exact text (json.Number).
type Row map[string]any

// S returns field k as text ("" when absent or null; numbers as their exact text).
func (r Row) S(k string) string {
	switch v := r[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return ""
	}
	return fmt.Sprint(r[k])
}

// Yes reports whether a NoYes field is "Yes".
func (r Row) Yes(k string) bool { return r.S(k) == "Yes" }

// Reader reads and writes an ERP over OData with nothing but net/http, as a person's script
// would: the independent side of end-to-end comparisons. It shares no code with erpsync's
// connector or the simulator's handlers.
type Reader struct {
	base, token string
}

// NewReader gets a token from base's /oauth2/token with the client credentials.
func NewReader(t testing.TB, base, clientID, clientSecret string) *Reader {
	t.Helper()
	res, err := http.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {clientID}, "client_secret": {clientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v %s", err, res.Status)
	}
	return &Reader{base: base, token: tok.AccessToken}
}

// Reader returns a Reader of the simulator.
func (s *Sim) Reader(t testing.TB) *Reader { return NewReader(t, s.URL, s.ClientID, s.ClientSecret) }

func (e *Reader) do(t testing.TB, method, u string, body any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, u, rd)
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Prefer", "odata.maxpagesize=5000")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// query reads every record of a query in every company, following @odata.nextLink.
func (e *Reader) query(t testing.TB, coll, options string) []Row {
	t.Helper()
	var out []Row
	next := e.base + "/data/" + coll + "?cross-company=true" + options
	for next != "" {
		res := e.do(t, http.MethodGet, next, nil)
		var page struct {
			Value []Row  `json:"value"`
			Next  string `json:"@odata.nextLink"`
		}
		dec := json.NewDecoder(res.Body)
		dec.UseNumber()
		err := dec.Decode(&page)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("read %s: %s %v", coll, res.Status, err)
		}
		out = append(out, page.Value...)
		next = page.Next
	}
	return out
}

// All reads every record of a collection in every company.
func (e *Reader) All(t testing.TB, coll string) []Row {
	t.Helper()
	return e.query(t, coll, "")
}

// First returns the first record of coll that matches an OData filter, and fails t without one.
func (e *Reader) First(t testing.TB, coll, filter string) Row {
	t.Helper()
	rows := e.query(t, coll, "&$top=1&$filter="+url.QueryEscape(filter))
	if len(rows) == 0 {
		t.Fatalf("no %s with %s", coll, filter)
	}
	return rows[0]
}

// Write sends a POST, PATCH or DELETE, as a person editing in the ERP would, and fails t unless
// the ERP accepts it. path is "Collection" or "Collection(dataAreaId='usmf',ItemNumber='1000')".
func (e *Reader) Write(t testing.TB, method, path string, body any) {
	t.Helper()
	res := e.do(t, method, e.base+"/data/"+path, body)
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		msg, _ := io.ReadAll(res.Body)
		t.Fatalf("%s %s: %s %s", method, path, res.Status, msg)
	}
}

// CompanyLanguages returns each company's language (LegalEntities) by lower-case dataAreaId.
func (e *Reader) CompanyLanguages(t testing.TB) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, r := range e.All(t, "LegalEntities") {
		m[strings.ToLower(r.S("LegalEntityId"))] = r.S("LanguageId")
	}
	return m
}
