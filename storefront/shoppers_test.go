package storefront_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/shopper"
	"github.com/erpsync/erpsync/storefront"
)

// apiError is the error of an answer.
type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

// as calls path with a shopper token of kind for id in webshop shop ("" kind: none) and the
// parameters as they are; it returns the status, the error's code and the body.
func (f *fixture) as(shop string, kind shopper.Kind, id, path string, params url.Values, out any) (int, string, []byte) {
	f.t.Helper()
	h := http.Header{}
	if kind != "" {
		h.Set("Authorization", "Bearer "+f.token(shop, kind, id))
	}
	st, body := f.getWith(path, params, h, out)
	var e apiError
	_ = json.Unmarshal(body, &e)
	return st, e.Error.Code, body
}

// agentsCustomers returns, from the ERP over OData, each sales representative's customers in
// company: those whose CommissionSalesGroupId is one of the groups the representative is a
// member of (CommissionSalesRepresentatives), by personnel number, sorted.
func (e *erpReader) agentsCustomers(t testing.TB, company string) map[string][]string {
	t.Helper()
	groupsOf := map[string][]string{}
	for _, m := range e.All(t, "CommissionSalesRepresentatives") {
		if strings.EqualFold(m.S("dataAreaId"), company) {
			groupsOf[m.S("PersonnelNumber")] = append(groupsOf[m.S("PersonnelNumber")], m.S("GroupId"))
		}
	}
	out := map[string][]string{}
	for _, c := range e.All(t, "CustomersV3") {
		if !strings.EqualFold(c.S("dataAreaId"), company) || c.S("CommissionSalesGroupId") == "" {
			continue
		}
		for rep, groups := range groupsOf {
			if slices.Contains(groups, c.S("CommissionSalesGroupId")) {
				out[rep] = append(out[rep], c.S("CustomerAccount"))
			}
		}
	}
	for _, cs := range out {
		slices.Sort(cs)
	}
	return out
}

// meCustomers walks every page of /api/me for an agent and returns the accounts listed.
func (f *fixture) meCustomers(shop, agent string, perPage int) []string {
	f.t.Helper()
	var all []string
	for page := 1; ; page++ {
		var me storefront.Me
		st, _, body := f.as(shop, shopper.Agent, agent, "/api/me", url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}}, &me)
		if st != http.StatusOK || me.Customers == nil {
			f.t.Fatalf("me of agent %s: %d %s", agent, st, body)
		}
		for _, c := range me.Customers.Items {
			all = append(all, c.Account)
		}
		if len(me.Customers.Items) < perPage {
			if int64(len(all)) != me.Customers.Total {
				f.t.Errorf("agent %s: %d customers on the pages, total says %d", agent, len(all), me.Customers.Total)
			}
			return all
		}
	}
}

// testShoppers: who is shopping comes in a signed token and the storefront authorises from the
// index: a guest pays the template customer's prices; a customer shops for itself; a contact for
// its own customer only; a sales agent for the customers of its sales groups (the ERP's group
// membership, paged by /api/me) and no other; customer= alone is a 400; a token that does not
// verify is a 401; a customer on hold or unknown a 403 with the reason.
func testShoppers(t *testing.T, f *fixture) {
	const shop = "usmf"
	item := func() string {
		var res storefront.SearchResult
		f.get("/api/search", url.Values{"per_page": {"1"}}, &res)
		return res.Hits[0].ItemNumber
	}()

	// A guest: the template customer's prices, as /api/me says.
	var me storefront.Me
	if st, _, body := f.as(shop, "", "", "/api/me", nil, &me); st != http.StatusOK || me.Shopper.Kind != storefront.KindGuest ||
		me.Acting.Account != generate.TemplateAccount(shop) || !me.Acting.Template || me.Customers != nil || me.Webshop != shop {
		t.Errorf("me of a guest: %d %s", st, body)
	}
	var guest, template storefront.PriceAnswer
	f.as(shop, "", "", "/api/price", url.Values{"item": {item}}, &guest)
	f.as(shop, shopper.Customer, generate.TemplateAccount(shop), "/api/price", url.Values{"item": {item}}, &template)
	if guest.Quote.Price != template.Quote.Price || guest.Customer != generate.TemplateAccount(shop) {
		t.Errorf("a guest pays %s (as %q), the template customer %s", guest.Quote.Price, guest.Customer, template.Quote.Price)
	}

	// customer= alone is not accepted: it says what to send instead.
	if st, code, body := f.as(shop, "", "", "/api/search", url.Values{"customer": {"US-001"}}, nil); st != http.StatusBadRequest || code != "invalid" ||
		!strings.Contains(string(body), "shopper's token") {
		t.Errorf("customer= alone: %d %s", st, body)
	}

	// A customer shops for itself only.
	if st, _, body := f.as(shop, shopper.Customer, "US-001", "/api/me", nil, &me); st != http.StatusOK || me.Acting.Account != "US-001" || me.Shopper.Kind != "customer" {
		t.Errorf("me of US-001: %d %s", st, body)
	}
	if st, code, body := f.as(shop, shopper.Customer, "US-001", "/api/search", url.Values{"customer": {"US-003"}}, nil); st != http.StatusForbidden || code != storefront.RefusedNotYours {
		t.Errorf("US-001 asking for US-003: %d %s", st, body)
	}

	// A contact acts for its own customer, and no other.
	contacts := f.erp.All(t, "ContactPersonsV2")
	var contact, owner string
	for _, c := range contacts {
		if strings.EqualFold(c.S("dataAreaId"), shop) && c.S("CustomerAccount") == "US-003" {
			contact, owner = c.S("ContactPersonId"), c.S("CustomerAccount")
			break
		}
	}
	if contact == "" {
		t.Fatal("US-003 has no contact in the ERP")
	}
	var asContact, asOwner storefront.PriceAnswer
	if st, _, body := f.as(shop, shopper.Contact, contact, "/api/price", url.Values{"item": {item}}, &asContact); st != http.StatusOK {
		t.Fatalf("price as contact %s: %d %s", contact, st, body)
	}
	f.get("/api/price", url.Values{"item": {item}, "customer": {owner}}, &asOwner)
	if asContact.Customer != owner || asContact.Quote.Price != asOwner.Quote.Price {
		t.Errorf("contact %s pays %s as %q; its customer %s pays %s", contact, asContact.Quote.Price, asContact.Customer, owner, asOwner.Quote.Price)
	}
	if st, _, body := f.as(shop, shopper.Contact, contact, "/api/price", url.Values{"item": {item}, "customer": {owner}}, nil); st != http.StatusOK {
		t.Errorf("contact %s naming its own customer: %d %s", contact, st, body)
	}
	if st, code, body := f.as(shop, shopper.Contact, contact, "/api/price", url.Values{"item": {item}, "customer": {"US-001"}}, nil); st != http.StatusForbidden ||
		code != storefront.RefusedNotYours || !strings.Contains(string(body), "its own customer "+owner) {
		t.Errorf("contact %s asking for US-001: %d %s", contact, st, body)
	}

	// A sales agent: its customers are the ERP's group membership, paged; it prices as one of
	// them and is refused any other.
	groups := f.erp.agentsCustomers(t, shop)
	var agent string
	for rep, cs := range groups {
		if len(cs) >= 3 && (agent == "" || rep < agent) {
			agent = rep
		}
	}
	if agent == "" {
		t.Fatalf("no agent with 3 customers: %v", groups)
	}
	if got := f.meCustomers(shop, agent, 2); !slices.Equal(got, groups[agent]) {
		t.Errorf("agent %s's customers (pages of 2): %v; the ERP's group membership: %v", agent, got, groups[agent])
	}
	mine := groups[agent][0]
	var other string
	for _, c := range f.erp.All(t, "CustomersV3") {
		if a := c.S("CustomerAccount"); strings.EqualFold(c.S("dataAreaId"), shop) && !slices.Contains(groups[agent], a) && c.S("OnHoldStatus") == "No" {
			other = a // with one sales group per company in this catalog: the template customer, in none
			break
		}
	}
	if other == "" {
		t.Fatalf("every customer of %s is agent %s's", shop, agent)
	}
	var asAgent, asMine storefront.PriceAnswer
	if st, _, body := f.as(shop, shopper.Agent, agent, "/api/price", url.Values{"item": {item}, "customer": {mine}}, &asAgent); st != http.StatusOK {
		t.Fatalf("agent %s for %s: %d %s", agent, mine, st, body)
	}
	f.get("/api/price", url.Values{"item": {item}, "customer": {mine}}, &asMine)
	if asAgent.Customer != mine || asAgent.Quote.Price != asMine.Quote.Price {
		t.Errorf("agent %s for %s pays %s as %q; %s itself %s", agent, mine, asAgent.Quote.Price, asAgent.Customer, mine, asMine.Quote.Price)
	}
	if st, code, body := f.as(shop, shopper.Agent, agent, "/api/search", url.Values{"customer": {other}}, nil); st != http.StatusForbidden || code != storefront.RefusedNotYours {
		t.Errorf("agent %s for %s, outside its groups: %d %s", agent, other, st, body)
	}
	if st, _, body := f.as(shop, shopper.Agent, agent, "/api/me", nil, &me); st != http.StatusOK || !me.Acting.Template {
		t.Errorf("an agent who chose no customer is priced as the template customer: %d %s", st, body)
	}

	// Refusals: on hold, unknown, and tokens that do not verify.
	for _, tc := range []struct {
		name   string
		kind   shopper.Kind
		id     string
		status int
		code   string
	}{
		{"a customer on hold", shopper.Customer, blockedCustomer, http.StatusForbidden, storefront.RefusedBlocked},
		{"an unknown customer", shopper.Customer, "US-999", http.StatusForbidden, storefront.RefusedUnknown},
		{"an unknown contact", shopper.Contact, "CP-NONE", http.StatusForbidden, storefront.RefusedUnknown},
		{"an unknown agent", shopper.Agent, "999999", http.StatusForbidden, storefront.RefusedUnknown},
	} {
		if st, code, body := f.as(shop, tc.kind, tc.id, "/api/search", nil, nil); st != tc.status || code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, st, body, tc.status, tc.code)
		}
	}
	expired, _ := shopper.Issue(f.secrets[shop], shop, shopper.Customer, "US-001", time.Now().Add(-time.Hour), 10*time.Minute)
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "US-001", "kind": "customer", "webshop": shop,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()}).SignedString([]byte("not-the-webshops-secret-0123456789abcdef"))
	otherShop, _ := shopper.Issue(f.secrets["demf"], "demf", shopper.Customer, "US-001", time.Now(), time.Minute)
	for name, h := range map[string]string{"expired": "Bearer " + expired, "forged": "Bearer " + forged, "not bearer": "Basic eDp5",
		"another webshop's, for a customer it does not have": "Bearer " + otherShop} {
		st, body := f.getWith("/api/search", nil, http.Header{"Authorization": {h}}, nil)
		var e apiError
		_ = json.Unmarshal(body, &e)
		want := http.StatusUnauthorized
		if strings.HasPrefix(name, "another") {
			want = http.StatusForbidden
		}
		if st != want {
			t.Errorf("a token %s: %d %s, want %d", name, st, body, want)
		}
	}
	// The token's webshop decides the company: another is a 400.
	if st, _, body := f.as(shop, shopper.Customer, "US-001", "/api/search", url.Values{"company": {"demf"}}, nil); st != http.StatusBadRequest {
		t.Errorf("a usmf token asking for demf: %d %s", st, body)
	}
	if st, _, body := f.as(shop, shopper.Customer, "US-001", "/api/search", url.Values{"webshop": {"demf"}}, nil); st != http.StatusBadRequest {
		t.Errorf("a usmf token naming webshop demf: %d %s", st, body)
	}
}

// testDemoLogin: the demo login lists one account of each kind per webshop and issues tokens for
// those accounts only; a token it issues works like a webshop's.
func testDemoLogin(t *testing.T, f *fixture) {
	var accounts struct {
		Webshops []storefront.DemoWebshop `json:"webshops"`
	}
	if st, body := f.getWith("/demo/accounts", nil, nil, &accounts); st != http.StatusOK || len(accounts.Webshops) != len(f.webshops) {
		t.Fatalf("demo accounts: %d %s", st, body)
	}
	us := accounts.Webshops[0]
	var kinds []string
	for _, a := range us.Accounts {
		kinds = append(kinds, a.Kind+":"+a.ID)
	}
	if want := []string{"guest:", "customer:US-001", "contact:" + f.webshops[0].Demo.Contact, "agent:" + f.webshops[0].Demo.Agent}; !slices.Equal(kinds, want) {
		t.Errorf("demo accounts of %s: %v, want %v", us.ID, kinds, want)
	}
	post := func(body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, f.shop.URL+"/demo/token", strings.NewReader(body))
		req.Header.Set("X-Api-Key", testKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	st, tok := post(`{"webshop":"usmf","kind":"agent"}`)
	if st != http.StatusOK || tok["token"] == nil {
		t.Fatalf("demo token: %d %v", st, tok)
	}
	var me storefront.Me
	if st, body := f.getWith("/api/me", nil, http.Header{"Authorization": {"Bearer " + tok["token"].(string)}}, &me); st != http.StatusOK ||
		me.Shopper.Kind != "agent" || me.Shopper.ID != f.webshops[0].Demo.Agent || me.Customers == nil {
		t.Errorf("me with the demo agent's token: %d %s", st, body)
	}
	for _, bad := range []string{`{"webshop":"usmf","kind":"admin"}`, `{"webshop":"nowhere","kind":"agent"}`, `not json`} {
		if st, out := post(bad); st == http.StatusOK {
			t.Errorf("demo token for %s: %d %v", bad, st, out)
		}
	}
}
