package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
)

// expectedCustomers derives, from the ERP, the fields of customer, contact and sales
// representative documents, by entity and document id.
func (e *erpReader) expectedCustomers(t testing.TB) map[erp.Entity]map[string]expected {
	t.Helper()
	out := map[erp.Entity]map[string]expected{erp.Customers: {}, erp.Contacts: {}, erp.SalesReps: {}}
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
	}
	for _, c := range e.All(t, "ContactPersonsV2") {
		out[erp.Contacts][idOf(c.S("dataAreaId"), c.S("ContactPersonId"))] = expected{
			"first_name": c.S("FirstName"), "last_name": c.S("LastName"), "customer": c.S("CustomerAccount"),
			"email": c.S("PrimaryEmailAddress"), "modified_at": utc(t, c.S("ModifiedDateTime")),
		}
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
	}
	return out
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
		Groups, Customers               []string
		Addresses                       []struct{ ID, City string }
	}
	if err := json.Unmarshal(src, &d); err != nil {
		t.Fatal(err)
	}
	switch e {
	case erp.Customers:
		var as []string
		for _, a := range d.Addresses {
			as = append(as, a.ID+"="+a.City)
		}
		return expected{"name": d.Name, "price_group": d.PriceGroup, "currency": d.Currency, "blocked": fmt.Sprint(d.Blocked),
			"sales_group": d.SalesGroup, "modified_at": utc(t, d.ModifiedAt), "addresses": set(as)}
	case erp.Contacts:
		return expected{"first_name": d.FirstName, "last_name": d.LastName, "customer": d.Customer, "email": d.Email, "modified_at": utc(t, d.ModifiedAt)}
	default:
		return expected{"name": d.Name, "groups": set(append([]string(nil), d.Groups...)), "customers": set(append([]string(nil), d.Customers...)),
			"modified_at": utc(t, d.ModifiedAt)}
	}
}

// checkCustomers compares the customers, contacts and sales representatives indexes with the ERP.
func (s *stack) checkCustomers() {
	s.t.Helper()
	want := s.erp.expectedCustomers(s.t)
	diffs := 0
	for _, e := range []erp.Entity{erp.Customers, erp.Contacts, erp.SalesReps} {
		got := s.docs(e)
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
			if _, ok := want[e][id]; !ok {
				diffs++
				s.t.Errorf("%s %s is in the index but not in the ERP", e, id)
			}
		}
		if len(want[e]) == 0 {
			s.t.Fatalf("the ERP has no %s: nothing to compare", e)
		}
		s.t.Logf("%s index equals the ERP: %d compared field by field", e, len(want[e]))
		if diffs > 10 {
			break
		}
	}
	if diffs > 0 {
		s.t.FailNow()
	}
}

// notAfter reports whether the UTC date-time doc is not after erpStamp (both as utc writes them)
// and not the zero time.
func notAfter(doc, erpStamp string) bool {
	d, err1 := time.Parse(time.RFC3339Nano, doc)
	e, err2 := time.Parse(time.RFC3339Nano, erpStamp)
	return err1 == nil && err2 == nil && !d.IsZero() && !d.After(e)
}
