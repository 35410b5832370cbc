package d365

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// Changes reads one page of the rows of r.Collection changed after r.After up to r.Until, by
// the collection's own ModifiedDateTime, in (ModifiedDateTime, dataAreaId, key) order
// ((ModifiedDateTime, key) for a collection of no company), reading only the fields that place a
// row in the model. It returns the roots of r.Entity those rows belong to: the root itself for a
// root row, the linked root for a child row, the roots reached through a link collection (one
// more request per company) for a child that goes through another, the roots of every company
// with the row's value for a shared child (one more request), every root of the company for a
// company-wide row, and, for a child whose rows can move, the values to look up in the index
// (Changes.Held).
//
// This is how an update run finds what changed in an ERP that stamps only the rows that changed
// (stock D365): a collection whose rows did not change costs one request.
func (c *Client) Changes(ctx context.Context, r erp.ChangeRequest) (erp.Changes, error) {
	var n counter
	var out erp.Changes
	m, _, err := model(r.Entity)
	if err != nil {
		return out, err
	}
	isRoot := r.Collection == m.Collection
	var children []*erp.Child
	for i := range m.Children {
		if m.Children[i].Collection == r.Collection {
			children = append(children, &m.Children[i])
		}
	}
	op := "read changed " + r.Collection
	if !isRoot && len(children) == 0 {
		return out, failure.E(failure.Invalid, op, fmt.Errorf("%s is not a collection of %s", r.Collection, r.Entity))
	}
	key := []string{m.Key}
	shared := false // rows of no company (a shared child's collection)
	if !isRoot {
		key, shared = children[0].Key, children[0].Shared
	}
	sel := append([]string{erp.FieldModified}, key...)
	if !shared {
		sel = append(sel, erp.FieldCompany)
	}
	if isRoot && m.When != nil {
		sel = append(sel, m.When.Field)
	}
	for _, ch := range children {
		sel = append(sel, placeFields(m, ch)...)
	}
	sel = sortedUnique(sel)

	coll := c.colls[r.Collection]
	op = "read changed " + coll.name
	size := r.PageSize
	if size <= 0 {
		size = c.cfg.PageSize
	}
	size = min(size, MaxPageSize)
	filter, err := c.changeFilter(coll, key, shared, r.After, r.Until)
	if err != nil {
		return out, failure.E(failure.Invalid, op, err)
	}
	orderBy := []string{coll.f(fModified)}
	if !shared {
		orderBy = append(orderBy, coll.f(fCompany))
	}
	for _, f := range key {
		orderBy = append(orderBy, coll.f(f))
	}
	u := c.url(coll,
		param{"cross-company", "true"},
		param{"$filter", filter},
		param{"$orderby", strings.Join(orderBy, ",")},
		param{"$select", coll.fs(sel...)},
		param{"$top", strconv.Itoa(size)},
	)
	rows, err := c.fetch(ctx, op, coll, u, size, size, &n)
	if err != nil {
		return out, err
	}

	out.Next, out.Done, out.Rows = r.After, len(rows) < size, len(rows)
	roots := map[erp.Ref]bool{}
	companies := map[string]bool{}
	held := map[[2]string][]string{}                // (company, field) -> values
	through := map[*erp.Child]map[string][]string{} // child -> company -> values
	linked := map[string]map[string][]string{}      // root field -> company ("" for shared rows) -> values
	prev := r.After.Modified
	for _, rw := range rows {
		var k checker
		cur := erp.Cursor{Modified: k.time(rw, fModified), Company: k.str(rw, fCompany)}
		values := make([]string, len(key))
		for i, f := range key {
			values[i] = keyText(rw, f)
		}
		cur.Key = erp.JoinKey(values)
		if !k.ok() || cur.Company == "" && !shared {
			return out, failure.E(failure.Invalid, op, fmt.Errorf("row without a readable %s and %s: %s: %.300s", fModified, fCompany, k.reason(), rw.raw))
		}
		if cur.Modified.Before(prev) {
			return out, failure.E(failure.Invalid, op, fmt.Errorf("the service ignored $orderby: %s after %s", cur.Modified.Format(erp.TimeLayout), prev.Format(erp.TimeLayout)))
		}
		prev, out.Next = cur.Modified, cur
		co := cur.Company
		if isRoot {
			switch key := keyText(rw, m.Key); {
			case key == "":
			case m.When == nil || m.When.Match(rw.text(m.When.Field)):
				roots[erp.Ref{Entity: r.Entity, Company: co, Key: key}] = true
			default:
				// Not a root (any more): if the index holds it, it left the entity (its
				// ItemCode edited), and the root's re-read finds it missing.
				hk := [2]string{co, "key"}
				held[hk] = append(held[hk], key)
			}
		}
		for _, ch := range children {
			if ch.Moves && ch.Indexed != "" && len(key) == 1 {
				// The documents that hold the row, whatever it is now: it may have moved to
				// another root, or out of this child (a line discount for one item changed to
				// one for an item group).
				hk := [2]string{co, ch.Indexed}
				held[hk] = append(held[hk], values[0])
			}
			if ch.When != nil && !ch.When.Match(rw.text(ch.When.Field)) {
				continue
			}
			switch {
			case ch.Link != nil && (ch.Shared || ch.Link.RootField(m) != m.Key):
				// A row of no company, or one linked to another field of the root than its key:
				// its roots are asked of the root's collection below.
				if v := rw.text(ch.Link.From); v != "" {
					f := ch.Link.RootField(m)
					if linked[f] == nil {
						linked[f] = map[string][]string{}
					}
					linked[f][co] = append(linked[f][co], v)
				}
			case ch.Link != nil:
				if key := rw.text(ch.Link.From); key != "" {
					roots[erp.Ref{Entity: r.Entity, Company: co, Key: key}] = true
				}
			case ch.CompanyWide:
				companies[co] = true
			case ch.Via != nil:
				if v := rw.text(ch.Via.From); v != "" {
					if through[ch] == nil {
						through[ch] = map[string][]string{}
					}
					through[ch][co] = append(through[ch][co], v)
				}
			}
		}
	}

	// Children that go through another reach their roots through its rows.
	for ch, byCompany := range through {
		via, ok := m.Child(ch.Via.Child)
		if !ok || via.Link == nil {
			return out, failure.E(failure.Invalid, op, fmt.Errorf("model: %s goes through %s, which does not link to %s", ch.Name, ch.Via.Child, r.Entity))
		}
		vc := c.colls[via.Collection]
		for co, values := range byCompany {
			rs, err := c.fetchIn(ctx, &n, vc, co, c.whenFilter(vc, via.When), ch.Via.To, sortedUnique(values), []string{erp.FieldCompany, via.Link.From, ch.Via.To})
			if err != nil {
				return out, fmt.Errorf("read roots of changed %s: %w", coll.name, err)
			}
			for _, rw := range rs {
				if key := rw.text(via.Link.From); key != "" {
					roots[erp.Ref{Entity: r.Entity, Company: co, Key: key}] = true
				}
			}
		}
	}

	// Children linked to another field of the root (a shared product's rows, by the released
	// products' ProductNumber): one more request per company, or one for every configured
	// company for rows of no company.
	rc := c.colls[m.Collection]
	for f, byCompany := range linked {
		for co, values := range byCompany {
			cond := c.whenFilter(rc, m.When)
			if co == "" {
				cond = and(cond, c.companiesFilter(rc))
			}
			rs, err := c.fetchIn(ctx, &n, rc, co, cond, f, sortedUnique(values), []string{erp.FieldCompany, m.Key, f})
			if err != nil {
				return out, fmt.Errorf("read roots of changed %s: %w", coll.name, err)
			}
			for _, rw := range rs {
				if key := keyText(rw, m.Key); key != "" && rw.text(erp.FieldCompany) != "" {
					roots[erp.Ref{Entity: r.Entity, Company: rw.text(erp.FieldCompany), Key: key}] = true
				}
			}
		}
	}

	for ref := range roots {
		out.Roots = append(out.Roots, ref)
	}
	slices.SortFunc(out.Roots, func(a, b erp.Ref) int {
		return cmp.Or(strings.Compare(a.Company, b.Company), strings.Compare(a.Key, b.Key))
	})
	for co := range companies {
		out.Companies = append(out.Companies, co)
	}
	slices.Sort(out.Companies)
	for hk, values := range held {
		out.Held = append(out.Held, erp.Held{Company: hk[0], Field: hk[1], Values: sortedUnique(values)})
	}
	slices.SortFunc(out.Held, func(a, b erp.Held) int {
		return cmp.Or(strings.Compare(a.Company, b.Company), strings.Compare(a.Field, b.Field))
	})
	out.Requests, out.Bytes = n.value(), n.read()
	return out, nil
}
