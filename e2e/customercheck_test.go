package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/webshop"
)

// takers returns the ids of the webshops of shops that take a record of company, sorted, by
// the rule of docs/webshops.md ("index only the accounts you need"), written here from the rule
// and not from the webshop package: a customer (customer, non-nil: its CustomersV3 row) is taken
// by a webshop of its company whose customer filter names its CustomerGroupId or its account,
// or that has no customer filter, or whose template customer it is; a contact or a sales
// representative by every webshop of its company. With no webshops nothing is decided: nil.
func takers(shops []webshop.Webshop, company string, customer row) []string {
	ids := []string{}
	for _, w := range shops {
		if !strings.EqualFold(w.Company, company) {
			continue
		}
		f := w.Customers
		if customer == nil || customer.S("CustomerAccount") == w.TemplateCustomer || len(f.Groups) == 0 && len(f.Accounts) == 0 ||
			slices.Contains(f.Groups, customer.S("CustomerGroupId")) || slices.Contains(f.Accounts, customer.S("CustomerAccount")) {
			ids = append(ids, w.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// expectedCustomers derives, from the ERP, the fields of customer, contact and sales
// representative documents, by entity and document id, for an index built for shops (none:
// every record). Records no webshop takes are intended exclusions: they are returned in
// excluded, by entity and id, and not in the documents expected.
func (e *erpReader) expectedCustomers(t testing.TB, shops []webshop.Webshop) (docs, excluded map[erp.Entity]map[string]expected) {
	t.Helper()
	out := map[erp.Entity]map[string]expected{erp.Customers: {}, erp.Contacts: {}, erp.SalesReps: {}}
	excluded = map[erp.Entity]map[string]expected{erp.Customers: {}, erp.Contacts: {}, erp.SalesReps: {}}
	// decide adds the webshops that take a record to its fields, or moves it to excluded.
	decide := func(e erp.Entity, id, company string, customer row) {
		if len(shops) == 0 {
			return
		}
		ids := takers(shops, company, customer)
		if len(ids) == 0 {
			excluded[e][id] = out[e][id]
			delete(out[e], id)
			return
		}
		out[e][id]["webshops"] = strings.Join(ids, ",")
	}
	addresses := map[string][]string{}
	for _, a := range e.All(t, "CustomerPostalAddresses") {
		id := idOf(a.S("dataAreaId"), a.S("CustomerAccount"))
		addresses[id] = append(addresses[id], a.S("AddressLocationId")+"="+a.S("AddressCity"))
	}
	repsOfGroup := map[string][]string{} // company:group -> personnel numbers
	groupsOfRep := map[string][]string{} // rep id -> groups
	for _, m := range e.All(t, "CommissionSalesRepresentatives") {
		g := idOf(m.S("dataAreaId"), m.S("GroupId"))
		repsOfGroup[g] = append(repsOfGroup[g], m.S("PersonnelNumber"))
		r := idOf(m.S("dataAreaId"), m.S("PersonnelNumber"))
		groupsOfRep[r] = append(groupsOfRep[r], m.S("GroupId"))
	}
	customersOfGroup := map[string][]string{}
	for _, c := range e.All(t, "CustomersV3") {
		id := idOf(c.S("dataAreaId"), c.S("CustomerAccount"))
		group := idOf(c.S("dataAreaId"), c.S("CommissionSalesGroupId"))
		if c.S("CommissionSalesGroupId") != "" {
			customersOfGroup[group] = append(customersOfGroup[group], c.S("CustomerAccount"))
		}
		hold := c.S("OnHoldStatus")
		out[erp.Customers][id] = expected{
			"name": c.S("OrganizationName"), "price_group": c.S("DiscountPriceGroupId"), "currency": c.S("SalesCurrencyCode"),
			"blocked": fmt.Sprint(hold != "" && hold != "No" && hold != "Never"), "sales_group": c.S("CommissionSalesGroupId"),
			"modified_at": utc(t, c.S("ModifiedDateTime")), "addresses": set(addresses[id]),
		}
		decide(erp.Customers, id, c.S("dataAreaId"), c)
	}
	for _, c := range e.All(t, "ContactPersonsV2") {
		id := idOf(c.S("dataAreaId"), c.S("ContactPersonId"))
		out[erp.Contacts][id] = expected{
			"first_name": c.S("FirstName"), "last_name": c.S("LastName"), "customer": c.S("CustomerAccount"),
			"email": c.S("PrimaryEmailAddress"), "modified_at": utc(t, c.S("ModifiedDateTime")),
		}
		decide(erp.Contacts, id, c.S("dataAreaId"), nil)
	}
	for _, r := range e.All(t, "SalesRepresentatives") {
		id := idOf(r.S("dataAreaId"), r.S("PersonnelNumber"))
		var customers []string
		for _, g := range groupsOfRep[id] {
			customers = append(customers, customersOfGroup[idOf(r.S("dataAreaId"), g)]...)
		}
		out[erp.SalesReps][id] = expected{
			"name": r.S("Name"), "groups": set(groupsOfRep[id]), "customers": set(customers),
			"modified_at": utc(t, r.S("ModifiedDateTime")),
		}
		decide(erp.SalesReps, id, r.S("dataAreaId"), nil)
	}
	return out, excluded
}

// actualCustomerSide flattens a customer, contact or sales representative document.
func actualCustomerSide(t testing.TB, e erp.Entity, src json.RawMessage) expected {
	var d struct {
		Name, Currency, Customer, Email string
		ModifiedAt                      string `json:"modified_at"`
		PriceGroup                      string `json:"price_group"`
		SalesGroup                      string `json:"sales_group"`
		Blocked                         bool   `json:"blocked"`
		FirstName                       string `json:"first_name"`
		LastName                        string `json:"last_name"`
		Groups, Customers, Webshops     []string
		Addresses                       []struct{ ID, City string }
	}
	if err := json.Unmarshal(src, &d); err != nil {
		t.Fatal(err)
	}
	var out expected
	switch e {
	case erp.Customers:
		var as []string
		for _, a := range d.Addresses {
			as = append(as, a.ID+"="+a.City)
		}
		out = expected{"name": d.Name, "price_group": d.PriceGroup, "currency": d.Currency, "blocked": fmt.Sprint(d.Blocked),
			"sales_group": d.SalesGroup, "modified_at": utc(t, d.ModifiedAt), "addresses": set(as)}
	case erp.Contacts:
		out = expected{"first_name": d.FirstName, "last_name": d.LastName, "customer": d.Customer, "email": d.Email, "modified_at": utc(t, d.ModifiedAt)}
	default:
		out = expected{"name": d.Name, "groups": set(append([]string(nil), d.Groups...)), "customers": set(append([]string(nil), d.Customers...)),
			"modified_at": utc(t, d.ModifiedAt)}
	}
	out["webshops"] = strings.Join(d.Webshops, ",")
	return out
}

// checkCustomers compares the customers, contacts and sales representatives indexes with the ERP,
// for the webshops the stack's documents are built for: a record no webshop takes is an
// intended exclusion, counted as such and never as missing, and must not be in the index. It
// returns the intended exclusions by entity.
func (s *stack) checkCustomers() map[erp.Entity]int {
	s.t.Helper()
	want, excluded := s.erp.expectedCustomers(s.t, s.settings.Document.Webshops)
	diffs := 0
	counts := map[erp.Entity]int{}
	for _, e := range []erp.Entity{erp.Customers, erp.Contacts, erp.SalesReps} {
		got := s.docs(e)
		for id := range excluded[e] {
			counts[e]++
			if _, ok := got[id]; ok {
				diffs++
				s.t.Errorf("%s %s is in the index, but no webshop takes it", e, id)
			}
		}
		for id, w := range want[e] {
			src, ok := got[id]
			if !ok {
				diffs++
				s.t.Errorf("%s %s is in the ERP but not in the index", e, id)
				continue
			}
			g := actualCustomerSide(s.t, e, src)
			for k, wv := range w {
				if k == "modified_at" && notAfter(g[k], wv) {
					// An update does not rewrite a document whose content did not change (an ERP
					// add-on stamps a representative when its group's name changes, which the
					// document does not hold): its modified_at is then the last change's.
					continue
				}
				if g[k] != wv {
					diffs++
					s.t.Errorf("%s %s: %s is %q in the index, %q in the ERP", e, id, k, g[k], wv)
				}
			}
		}
		for id := range got {
			if _, ok := want[e][id]; !ok && excluded[e][id] == nil {
				diffs++
				s.t.Errorf("%s %s is in the index but not in the ERP", e, id)
			}
		}
		if len(want[e]) == 0 {
			s.t.Fatalf("the ERP has no %s: nothing to compare", e)
		}
		s.t.Logf("%s index equals the ERP: %d compared field by field, %d intended exclusions (no webshop takes them)", e, len(want[e]), counts[e])
		if diffs > 10 {
			break
		}
	}
	if diffs > 0 {
		s.t.FailNow()
	}
	return counts
}

// notAfter reports whether the UTC date-time doc is not after erpStamp (both as utc writes them)
// and not the zero time.
func notAfter(doc, erpStamp string) bool {
	d, err1 := time.Parse(time.RFC3339Nano, doc)
	e, err2 := time.Parse(time.RFC3339Nano, erpStamp)
	return err1 == nil && err2 == nil && !d.IsZero() && !d.After(e)
}
