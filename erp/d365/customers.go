package d365

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/erpsync/erpsync/erp"
)

// Customers reads one page of customers with their postal addresses. Their sales
// representatives are read with the representatives (SalesReps): the ERP bumps a representative,
// not the group's customers, when group membership changes.
func (c *Client) Customers(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.Customer], error) {
	var n counter
	var page erp.Page[erp.Customer]
	coll := c.colls[collCustomers]
	roots, size, err := c.readRoots(ctx, &n, coll, "CustomerAccount", r)
	if err != nil {
		return page, err
	}
	custs := make([]*erp.Customer, len(roots))
	index := map[companyKey]int{}
	for i, rt := range roots {
		k, rw := &rt.chk, rt.row
		custs[i] = &erp.Customer{
			Company:    rt.cur.Company,
			Account:    rt.cur.Key,
			Modified:   rt.cur.Modified,
			Name:       k.str(rw, "OrganizationName"),
			Group:      k.str(rw, "CustomerGroupId"),
			PriceGroup: k.str(rw, "PriceCustomerGroupCode"),
			Currency:   k.currency(rw, "SalesCurrencyCode", true, false),
			Language:   k.str(rw, "LanguageId"),
			OnHold:     k.str(rw, "OnHoldStatus"),
			SalesGroup: k.str(rw, "CommissionSalesGroupId"),
			Email:      k.str(rw, "PrimaryContactEmail"),
			Phone:      k.str(rw, "PrimaryContactPhone"),
		}
		if rt.cur.Key != "" {
			index[companyKey{rt.cur.Company, rt.cur.Key}] = i
		}
	}

	companies, keys := keysByCompany(roots)
	var (
		mu    sync.Mutex
		addrs []row
		tasks []func(context.Context) error
	)
	for _, co := range companies {
		tasks = append(tasks, func(ctx context.Context) error {
			rows, err := c.fetchIn(ctx, &n, c.colls[collAddresses], co, "", "CustomerAccount", keys[co], nil)
			mu.Lock()
			addrs = append(addrs, rows...)
			mu.Unlock()
			return err
		})
	}
	if err := c.parallel(ctx, tasks); err != nil {
		return page, fmt.Errorf("read children of %s page: %w", coll.name, err)
	}
	for _, rw := range addrs {
		co := rw.text(fCompany)
		acct := rw.text("CustomerAccount")
		i, ok := index[companyKey{co, acct}]
		if !ok {
			continue
		}
		k := &roots[i].chk
		a := erp.Address{
			ID:          k.str(rw, "AddressLocationId"),
			Description: k.str(rw, "AddressDescription"),
			Street:      k.str(rw, "AddressStreet"),
			City:        k.str(rw, "AddressCity"),
			ZipCode:     k.str(rw, "AddressZipCode"),
			State:       k.str(rw, "AddressState"),
			Country:     k.str(rw, "AddressCountryRegionId"),
			Primary:     k.yes(rw, "IsPrimary"),
		}
		for role := range strings.SplitSeq(k.str(rw, "AddressLocationRoles"), ";") {
			if role = strings.TrimSpace(role); role != "" {
				a.Roles = append(a.Roles, role)
			}
		}
		custs[i].Addresses = append(custs[i].Addresses, a)
	}
	for i, rt := range roots {
		cu := custs[i]
		if !rt.chk.ok() {
			page.Rejected = append(page.Rejected, rejection(erp.Customers, rt))
			continue
		}
		slices.SortFunc(cu.Addresses, func(a, b erp.Address) int { return strings.Compare(a.ID, b.ID) })
		page.Records = append(page.Records, *cu)
	}
	page.Next, page.Done = pageEnd(roots, size, r.After)
	page.Requests = n.value()
	return page, nil
}

// Contacts reads one page of contact persons; they have no children.
func (c *Client) Contacts(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.Contact], error) {
	var n counter
	var page erp.Page[erp.Contact]
	roots, size, err := c.readRoots(ctx, &n, c.colls[collContacts], "ContactPersonId", r)
	if err != nil {
		return page, err
	}
	for _, rt := range roots {
		k, rw := &rt.chk, rt.row
		ct := erp.Contact{
			Company:   rt.cur.Company,
			ID:        rt.cur.Key,
			Modified:  rt.cur.Modified,
			Customer:  k.str(rw, "CustomerAccount"),
			FirstName: k.str(rw, "FirstName"),
			LastName:  k.str(rw, "LastName"),
			JobTitle:  k.str(rw, "JobTitle"),
			Email:     k.str(rw, "PrimaryEmailAddress"),
			Phone:     k.str(rw, "PrimaryPhoneNumber"),
			Language:  k.str(rw, "LanguageId"),
		}
		if !k.ok() {
			page.Rejected = append(page.Rejected, rejection(erp.Contacts, rt))
			continue
		}
		page.Records = append(page.Records, ct)
	}
	page.Next, page.Done = pageEnd(roots, size, r.After)
	page.Requests = n.value()
	return page, nil
}

// SalesReps reads one page of sales representatives with their commission sales groups and the
// accounts of the customers those groups serve.
func (c *Client) SalesReps(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.SalesRep], error) {
	var n counter
	var page erp.Page[erp.SalesRep]
	coll := c.colls[collSalesReps]
	roots, size, err := c.readRoots(ctx, &n, coll, "PersonnelNumber", r)
	if err != nil {
		return page, err
	}
	companies, keys := keysByCompany(roots)
	// Memberships first (they name the groups), then the customers of those groups.
	memberships := map[string][]row{}
	var mu sync.Mutex
	var tasks []func(context.Context) error
	for _, co := range companies {
		tasks = append(tasks, func(ctx context.Context) error {
			gm := c.colls[collGroupMembers]
			rows, err := c.fetchIn(ctx, &n, gm, co, "", "PersonnelNumber", keys[co], []string{fCompany, "GroupId", "PersonnelNumber"})
			mu.Lock()
			memberships[co] = rows
			mu.Unlock()
			return err
		})
	}
	if err := c.parallel(ctx, tasks); err != nil {
		return page, fmt.Errorf("read children of %s page: %w", coll.name, err)
	}
	groupsOf := map[companyKey][]string{} // (company, personnel number) -> groups
	groups := map[string][]string{}       // company -> groups of the page
	for co, rows := range memberships {
		for _, rw := range rows {
			var k checker
			g, pn := k.str(rw, "GroupId"), k.str(rw, "PersonnelNumber")
			if !k.ok() || g == "" {
				continue
			}
			groupsOf[companyKey{co, pn}] = append(groupsOf[companyKey{co, pn}], g)
			groups[co] = append(groups[co], g)
		}
	}
	customers := map[companyKey][]string{} // (company, group) -> customer accounts
	tasks = tasks[:0]
	for _, co := range companies {
		gs := sortedUnique(groups[co])
		if len(gs) == 0 {
			continue
		}
		tasks = append(tasks, func(ctx context.Context) error {
			cc := c.colls[collCustomers]
			rows, err := c.fetchIn(ctx, &n, cc, co, "", "CommissionSalesGroupId", gs, []string{fCompany, "CustomerAccount", "CommissionSalesGroupId"})
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, rw := range rows {
				var k checker
				acct, g := k.str(rw, "CustomerAccount"), k.str(rw, "CommissionSalesGroupId")
				if k.ok() && acct != "" {
					customers[companyKey{co, g}] = append(customers[companyKey{co, g}], acct)
				}
			}
			return nil
		})
	}
	if err := c.parallel(ctx, tasks); err != nil {
		return page, fmt.Errorf("read customers of %s page: %w", coll.name, err)
	}
	for _, rt := range roots {
		k, rw := &rt.chk, rt.row
		sr := erp.SalesRep{
			Company:         rt.cur.Company,
			PersonnelNumber: rt.cur.Key,
			Modified:        rt.cur.Modified,
			Name:            k.str(rw, "Name"),
			Email:           k.str(rw, "PrimaryEmailAddress"),
			Phone:           k.str(rw, "PrimaryPhoneNumber"),
			Groups:          sortedUnique(groupsOf[companyKey{rt.cur.Company, rt.cur.Key}]),
		}
		var accts []string
		for _, g := range sr.Groups {
			accts = append(accts, customers[companyKey{sr.Company, g}]...)
		}
		sr.Customers = sortedUnique(accts)
		if !k.ok() {
			page.Rejected = append(page.Rejected, rejection(erp.SalesReps, rt))
			continue
		}
		page.Records = append(page.Records, sr)
	}
	page.Next, page.Done = pageEnd(roots, size, r.After)
	page.Requests = n.value()
	return page, nil
}

// sortedUnique returns s sorted without duplicates; nil when empty.
func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
