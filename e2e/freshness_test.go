package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/shopper"
	"github.com/erpsync/erpsync/storefront"
	"github.com/erpsync/erpsync/workflows"
)

// shopperCall is one call of /api/me as a shopper of webshop shop, asking to act for customer
// ("" for none): the status, the refusal's code and the answer.
func shopperCall(t *testing.T, hs *httptest.Server, shop string, kind shopper.Kind, id, customer string, page int) (int, string, storefront.Me) {
	t.Helper()
	p := url.Values{"per_page": {"100"}, "page": {strconv.Itoa(page)}}
	if customer != "" {
		p.Set("customer", customer)
	}
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/api/me?"+p.Encode(), nil)
	req.Header.Set("X-Api-Key", "k")
	req.Header.Set("Authorization", "Bearer "+token(t, shop, kind, id))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		storefront.Me
		Error struct{ Code string } `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("me of %s %s: %v", kind, id, err)
	}
	return res.StatusCode, out.Error.Code, out.Me
}

// agentList is every customer /api/me lists for agent, by account.
func agentList(t *testing.T, hs *httptest.Server, shop, agent string) []string {
	t.Helper()
	list := []string{}
	for page := 1; page < 100; page++ {
		st, code, me := shopperCall(t, hs, shop, shopper.Agent, agent, "", page)
		if st != http.StatusOK || me.Customers == nil {
			t.Fatalf("me of agent %s: %d %s", agent, st, code)
		}
		for _, c := range me.Customers.Items {
			list = append(list, c.Account)
		}
		if len(me.Customers.Items) < me.Customers.PerPage {
			break
		}
	}
	return list
}

// relations are the ERP's relations of company as the storefront must authorise them, read over
// OData: each sales representative's customers (those whose CommissionSalesGroupId is a group
// the representative is a member of, CommissionSalesRepresentatives), each contact's customer,
// and each customer's sales group.
type relations struct {
	repGroups map[string][]string // personnel number -> groups
	agents    map[string][]string // personnel number -> customers, sorted
	contacts  map[string]string   // contact person id -> customer account
	groupOf   map[string]string   // customer account -> commission sales group
}

func (e *erpReader) relations(t *testing.T, company string) relations {
	t.Helper()
	r := relations{repGroups: map[string][]string{}, agents: map[string][]string{}, contacts: map[string]string{}, groupOf: map[string]string{}}
	for _, m := range e.All(t, "CommissionSalesRepresentatives") {
		if strings.EqualFold(m.S("dataAreaId"), company) {
			r.repGroups[m.S("PersonnelNumber")] = append(r.repGroups[m.S("PersonnelNumber")], m.S("GroupId"))
		}
	}
	for _, rep := range e.All(t, "SalesRepresentatives") {
		if strings.EqualFold(rep.S("dataAreaId"), company) {
			r.agents[rep.S("PersonnelNumber")] = []string{}
		}
	}
	for _, c := range e.All(t, "CustomersV3") {
		if !strings.EqualFold(c.S("dataAreaId"), company) {
			continue
		}
		a, g := c.S("CustomerAccount"), c.S("CommissionSalesGroupId")
		r.groupOf[a] = g
		for rep, groups := range r.repGroups {
			if g != "" && slices.Contains(groups, g) {
				r.agents[rep] = append(r.agents[rep], a)
			}
		}
	}
	for _, cs := range r.agents {
		slices.Sort(cs)
	}
	for _, c := range e.All(t, "ContactPersonsV2") {
		if strings.EqualFold(c.S("dataAreaId"), company) {
			r.contacts[c.S("ContactPersonId")] = c.S("CustomerAccount")
		}
	}
	return r
}

// TestRelationsFreshness: an agent removed from a sales group, a contact deleted, a contact moved
// to another customer and a customer moved to another sales group, each made over OData, change
// what the storefront allows after one customers update run (simulator over HTTP -> worker ->
// Elasticsearch -> storefront HTTP API), in both change detection modes. Stock D365 shows no
// deletes: there the deleted membership waits for the audit run and the deleted contact for the
// reconcile run, which its schedules run beside the updates (docs/webshops.md).
func TestRelationsFreshness(t *testing.T) {
	t.Parallel()
	inEachMode(t, relationsFreshness)
}

func relationsFreshness(t *testing.T, mode activities.Detection, behaviour store.Behaviour) {
	const company = "usmf"
	cat := simtest.Catalog(15)
	cat.Products = 20
	cat.SalesReps = 24 // several sales groups per company
	shops := webshopsOf(cat)
	s := newStack(t, cat, erpsim.Config{Behaviour: behaviour},
		withWebshops(activities.Settings{PageSize: 50, SafetyLag: time.Second, Detection: mode}, shops))
	s.run(workflows.CustomerImportName, activities.Rebuild)
	hs := s.storefrontOver(t, storefront.Config{})
	before := s.erp.relations(t, company)

	// The storefront lists each agent's customers as the ERP's group membership.
	checkAgents := func(when string, r relations) {
		t.Helper()
		for rep, want := range r.agents {
			if got := agentList(t, hs, company, rep); !slices.Equal(got, want) {
				t.Errorf("%s: agent %s's customers %v; the ERP's group membership %v", when, rep, got, want)
			}
		}
	}
	checkAgents("after the rebuild", before)

	// The changes: pick them from the ERP's relations.
	var (
		removedRep, removedGroup, lostCustomer string // an agent removed from a group, a customer of it
		movedCustomer, fromGroup, toGroup      string // a customer moved to another group
		gainingRep, losingRep                  string // an agent of the new group only, of the old only
		deletedContact, movedContact           string
		movedFrom, movedTo                     string // the moved contact's customers
	)
	reps := make([]string, 0, len(before.repGroups))
	for rep := range before.repGroups {
		reps = append(reps, rep)
	}
	slices.Sort(reps)
	customers := make([]string, 0, len(before.groupOf))
	for a := range before.groupOf {
		customers = append(customers, a)
	}
	slices.Sort(customers)
	member := func(rep, g string) bool { return slices.Contains(before.repGroups[rep], g) }
	for _, rep := range reps {
		for _, g := range before.repGroups[rep] {
			for _, a := range before.agents[rep] {
				if removedRep == "" && before.groupOf[a] == g {
					removedRep, removedGroup, lostCustomer = rep, g, a
				}
			}
		}
	}
	for _, a := range customers {
		g := before.groupOf[a]
		if movedCustomer != "" || g == "" || g == removedGroup || a == lostCustomer {
			continue
		}
		for _, rb := range reps {
			for _, gb := range before.repGroups[rb] {
				if gb == g || gb == removedGroup || member(rb, g) || movedCustomer != "" {
					continue
				}
				for _, ra := range reps {
					if member(ra, g) && !member(ra, gb) && ra != removedRep {
						movedCustomer, fromGroup, toGroup, gainingRep, losingRep = a, g, gb, rb, ra
						break
					}
				}
			}
		}
	}
	contacts := make([]string, 0, len(before.contacts))
	for c := range before.contacts {
		contacts = append(contacts, c)
	}
	slices.Sort(contacts)
	for _, c := range contacts {
		switch owner := before.contacts[c]; {
		case deletedContact == "":
			deletedContact = c
		case movedContact == "" && owner != before.contacts[deletedContact]:
			movedContact, movedFrom = c, owner
		}
	}
	for _, a := range customers {
		if a != movedFrom && movedTo == "" {
			movedTo = a
		}
	}
	if removedRep == "" || movedCustomer == "" || movedContact == "" || movedTo == "" {
		t.Fatalf("the catalog lacks the relations to change: rep %q group %q, customer %q %s->%s, contact %q->%q; memberships %v",
			removedRep, removedGroup, movedCustomer, fromGroup, toGroup, movedContact, movedTo, before.repGroups)
	}
	t.Logf("agent %s leaves group %s (loses %s); customer %s moves from group %s to %s (agent %s gains it, %s loses it); contact %s is deleted; contact %s moves from %s to %s",
		removedRep, removedGroup, lostCustomer, movedCustomer, fromGroup, toGroup, gainingRep, losingRep, deletedContact, movedContact, movedFrom, movedTo)

	// What the storefront allows before the changes reach it.
	allowed := func(kind shopper.Kind, id, customer string) (bool, string, storefront.Me) {
		st, code, me := shopperCall(t, hs, company, kind, id, customer, 1)
		return st == http.StatusOK, code, me
	}
	if ok, code, _ := allowed(shopper.Agent, removedRep, lostCustomer); !ok {
		t.Fatalf("before: agent %s may not act for %s (%s)", removedRep, lostCustomer, code)
	}
	if ok, _, _ := allowed(shopper.Agent, gainingRep, movedCustomer); ok {
		t.Fatalf("before: agent %s may act for %s already", gainingRep, movedCustomer)
	}
	if ok, _, me := allowed(shopper.Contact, movedContact, ""); !ok || me.Acting.Account != movedFrom {
		t.Fatalf("before: contact %s acts for %q, want %s", movedContact, me.Acting.Account, movedFrom)
	}

	e := s.erp
	e.Write(t, "DELETE", "CommissionSalesRepresentatives"+key(company, "GroupId", removedGroup, "PersonnelNumber", removedRep), nil)
	e.Write(t, "PATCH", "CustomersV3"+key(company, "CustomerAccount", movedCustomer), map[string]any{"CommissionSalesGroupId": toGroup})
	e.Write(t, "DELETE", "ContactPersonsV2"+key(company, "ContactPersonId", deletedContact), nil)
	e.Write(t, "PATCH", "ContactPersonsV2"+key(company, "ContactPersonId", movedContact), map[string]any{"CustomerAccount": movedTo})
	after := e.relations(t, company)
	if slices.Contains(after.agents[removedRep], lostCustomer) || !slices.Contains(after.agents[gainingRep], movedCustomer) ||
		slices.Contains(after.agents[losingRep], movedCustomer) || after.contacts[movedContact] != movedTo {
		t.Fatalf("the ERP did not take the changes: %+v", after)
	}

	// The index, not the ERP, is what the storefront authorises from: nothing changed yet.
	if ok, _, me := allowed(shopper.Contact, movedContact, ""); !ok || me.Acting.Account != movedFrom {
		t.Errorf("before the update run: contact %s acts for %q, want %s still", movedContact, me.Acting.Account, movedFrom)
	}

	s.pastSafetyLag()
	start := time.Now()
	res := s.run(workflows.CustomerImportName, activities.Update)
	for _, r := range res.Entities {
		t.Logf("update: %s %+v", r.Entity, r.Counts)
	}
	t.Logf("one customers update run: %s", time.Since(start).Round(time.Millisecond))

	// The moves, after one update run in both modes.
	if ok, code, _ := allowed(shopper.Agent, gainingRep, movedCustomer); !ok {
		t.Errorf("agent %s may not act for %s, moved into its group %s: %s", gainingRep, movedCustomer, toGroup, code)
	}
	if ok, code, _ := allowed(shopper.Agent, losingRep, movedCustomer); ok || code != storefront.RefusedNotYours {
		t.Errorf("agent %s may still act for %s, moved out of its group %s: %v %s", losingRep, movedCustomer, fromGroup, ok, code)
	}
	if ok, code, me := allowed(shopper.Contact, movedContact, ""); !ok || me.Acting.Account != movedTo {
		t.Errorf("contact %s acts for %q (%s), moved to %s", movedContact, me.Acting.Account, code, movedTo)
	}
	if ok, code, _ := allowed(shopper.Contact, movedContact, movedFrom); ok || code != storefront.RefusedNotYours {
		t.Errorf("contact %s may still act for its former customer %s: %v %s", movedContact, movedFrom, ok, code)
	}
	for _, rep := range []string{gainingRep, losingRep} {
		if got := agentList(t, hs, company, rep); !slices.Equal(got, after.agents[rep]) {
			t.Errorf("agent %s's customers %v; the ERP's group membership after the move %v", rep, got, after.agents[rep])
		}
	}

	if mode == activities.ChildStamps {
		// Stock D365 shows no deletes: the audit finds the representative whose membership went,
		// the reconcile run the deleted contact.
		for _, m := range []activities.Mode{activities.Audit, activities.Reconcile} {
			for _, r := range s.run(workflows.CustomerImportName, m).Entities {
				t.Logf("%s: %s %+v", m, r.Entity, r.Counts)
			}
		}
	}
	// The deletions: after the update run with an ERP add-on, after audit and reconcile with
	// stock D365.
	if ok, code, _ := allowed(shopper.Agent, removedRep, lostCustomer); ok || code != storefront.RefusedNotYours {
		t.Errorf("agent %s may still act for %s after leaving group %s: %v %s", removedRep, lostCustomer, removedGroup, ok, code)
	}
	if ok, code, _ := allowed(shopper.Contact, deletedContact, ""); ok || code != storefront.RefusedUnknown {
		t.Errorf("deleted contact %s may still shop: %v %s", deletedContact, ok, code)
	}
	checkAgents("after the changes", after)
}
