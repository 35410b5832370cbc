package d365

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// recIDWidth is the width of a RecId in a deletion cursor: a deletion cursor's Key is the
// RecId in decimal, zero-padded to 20 digits (an int64 has at most 19), so that the Cursor's
// string order is the numeric order of RecIds. Its Company is empty: the log is ordered by
// (ModifiedDateTime, RecId) across companies.
const recIDWidth = 20

// recIDKey formats a RecId as a deletion cursor key.
func recIDKey(id int64) string { return fmt.Sprintf("%0*d", recIDWidth, id) }

// Deletions reads the deletion log (DeletedRecords) after r.After up to r.Until, in
// (ModifiedDateTime, RecId) order, and maps each row to the root entity and key it deleted.
// Rows of collections that are not roots are skipped (the cursor still moves past them); rows
// whose entity or key cannot be read are rejected (Page.Rejected, with the log row as the ERP
// sent it and its RecId in the reason; Key is the RecordKey text when it names no one key), for
// the caller to dead-letter and count: the cursor moves past them too.
func (c *Client) Deletions(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.Deletion], error) {
	var n counter
	var page erp.Page[erp.Deletion]
	coll := c.colls[erp.DeletedRecords]
	op := "read " + coll.name + " page"
	size := r.PageSize
	if size <= 0 {
		size = c.cfg.PageSize
	}
	size = min(size, MaxPageSize)
	m, recID := coll.f(fModified), coll.f("RecId")
	var conds []string
	if !r.After.IsZero() {
		after := int64(-1)
		if r.After.Key != "" {
			v, err := strconv.ParseInt(r.After.Key, 10, 64)
			if err != nil {
				return page, failure.E(failure.Invalid, op, fmt.Errorf("deletion cursor key %q is not a RecId", r.After.Key))
			}
			after = v
		}
		t := timeLiteral(r.After.Modified)
		conds = append(conds, fmt.Sprintf("(%s gt %s or (%s eq %s and %s gt %d))", m, t, m, t, recID, after))
	}
	if !r.Until.IsZero() {
		conds = append(conds, m+" le "+timeLiteral(r.Until))
	}
	if c.companyFilter != "" {
		conds = append(conds, strings.Replace(c.companyFilter, fCompany, coll.f(fCompany), 1))
	}
	u := c.url(coll,
		param{"cross-company", "true"},
		param{"$filter", strings.Join(conds, " and ")},
		param{"$orderby", m + "," + recID},
		param{"$top", strconv.Itoa(size)},
	)
	rows, err := c.fetch(ctx, op, coll, u, size, size, &n)
	if err != nil {
		return page, err
	}
	page.Next, page.Done = r.After, len(rows) < size
	for _, rw := range rows {
		var k checker
		mod, id := k.time(rw, fModified), k.int(rw, "RecId")
		if !k.ok() {
			return page, failure.E(failure.Invalid, op, fmt.Errorf("log row without a readable %s and RecId: %s", fModified, k.reason()))
		}
		page.Next = erp.Cursor{Modified: mod, Key: recIDKey(id)}
		name := k.str(rw, "EntityName")
		entity, ok := c.entityByName[name]
		if !ok && k.ok() {
			continue
		}
		d := erp.Deletion{Entity: entity, Company: k.str(rw, fCompany), At: mod}
		if at := rw.get("DeletedDateTime"); at.kind != kindAbsent && at.kind != kindNull {
			d.At = k.time(rw, "DeletedDateTime")
		}
		recordKey := k.str(rw, "RecordKey")
		key, err := parseRecordKey(recordKey)
		if err != nil {
			k.bad(rw, "RecordKey", "%v", err)
			key = recordKey
		}
		d.Key = key
		if !k.ok() {
			page.Rejected = append(page.Rejected, erp.Rejection{Entity: entity, Company: d.Company, Key: d.Key,
				Reason: fmt.Sprintf("deletion log row RecId %d: %s", id, k.reason()), Raw: []byte(rw.raw)})
			continue
		}
		page.Records = append(page.Records, d)
	}
	page.Requests, page.Bytes = n.value(), n.read()
	return page, nil
}

// parseRecordKey reads a root's key out of a RecordKey ("ItemNumber='1000'"): the value of its
// one key field other than dataAreaId.
func parseRecordKey(s string) (string, error) {
	var values []string
	rest := strings.TrimSpace(s)
	for rest != "" {
		name, after, ok := strings.Cut(rest, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return "", fmt.Errorf("record key %q is not name='value'", s)
		}
		after = strings.TrimSpace(after)
		var v string
		if strings.HasPrefix(after, "'") {
			// A quoted string; '' is a quote.
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(after[i:], '\'')
				if j < 0 {
					return "", fmt.Errorf("record key %q has an unterminated string", s)
				}
				b.WriteString(after[i : i+j])
				i += j + 1
				if i < len(after) && after[i] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				break
			}
			v, rest = b.String(), after[i:]
		} else {
			end := strings.IndexByte(after, ',')
			if end < 0 {
				end = len(after)
			}
			v, rest = strings.TrimSpace(after[:end]), after[end:]
		}
		rest = strings.TrimSpace(rest)
		if rest != "" {
			if rest[0] != ',' {
				return "", fmt.Errorf("record key %q: expected ',' after a value", s)
			}
			rest = strings.TrimSpace(rest[1:])
		}
		if strings.TrimSpace(name) != fCompany {
			values = append(values, v)
		}
	}
	if len(values) != 1 || values[0] == "" {
		return "", fmt.Errorf("record key %q does not name one key field", s)
	}
	return values[0], nil
}

// Keys reads one page of the keys of every root of r.Entity (of r.Partition, when set) in
// (dataAreaId, key) order, after r.After's Company and Key. Each Cursor carries the root's
// ModifiedDateTime too.
func (c *Client) Keys(ctx context.Context, r erp.KeyRequest) (erp.Page[erp.Cursor], error) {
	var n counter
	var page erp.Page[erp.Cursor]
	m, ok := erp.Model(r.Entity)
	if !ok {
		return page, failure.E(failure.Invalid, "read keys", fmt.Errorf("unknown entity %q", r.Entity))
	}
	coll := c.colls[m.Collection]
	op := "read " + coll.name + " keys"
	size := r.PageSize
	if size <= 0 {
		size = c.cfg.PageSize
	}
	size = min(size, MaxPageSize)
	co, key := coll.f(fCompany), coll.f(m.Key)
	var conds []string
	if r.After.Company != "" || r.After.Key != "" {
		after := coll.literal(m.Key, r.After.Key)
		if r.After.Key == "" && m.NumericKey {
			after = "-9223372036854775808" // the smallest key of the company
		}
		conds = append(conds, fmt.Sprintf("(%s gt %s or (%s eq %s and %s gt %s))",
			co, quote(r.After.Company), co, quote(r.After.Company), key, after))
	}
	if c.companyFilter != "" {
		conds = append(conds, strings.Replace(c.companyFilter, fCompany, co, 1))
	}
	if p := r.Partition; p != nil {
		conds = append(conds, co+" eq "+quote(p.Company))
		if p.After != "" {
			conds = append(conds, key+" gt "+coll.literal(m.Key, p.After))
		}
		if p.Through != "" {
			conds = append(conds, key+" le "+coll.literal(m.Key, p.Through))
		}
	}
	if w := c.whenFilter(coll, m.When); w != "" {
		conds = append(conds, w)
	}
	u := c.url(coll,
		param{"cross-company", "true"},
		param{"$filter", strings.Join(conds, " and ")},
		param{"$orderby", co + "," + key},
		param{"$select", coll.fs(fCompany, m.Key, fModified)},
		param{"$top", strconv.Itoa(size)},
	)
	rows, err := c.fetch(ctx, op, coll, u, size, size, &n)
	if err != nil {
		return page, err
	}
	page.Next, page.Done = erp.Cursor{Company: r.After.Company, Key: r.After.Key}, len(rows) < size
	for _, rw := range rows {
		var k checker
		key := rw.text(m.Key) // as sent, so that the next page continues after it
		if m.NumericKey {
			key = keyText(rw, m.Key)
			k.int(rw, m.Key)
		} else {
			k.str(rw, m.Key)
		}
		cur := erp.Cursor{Company: k.str(rw, fCompany), Key: key, Modified: k.time(rw, fModified)}
		if cur.Company == "" {
			return page, failure.E(failure.Invalid, op, fmt.Errorf("row without %s: %.300s", fCompany, rw.raw))
		}
		page.Next = erp.Cursor{Company: cur.Company, Key: cur.Key}
		if !k.ok() || cur.Key == "" {
			reason := k.reason()
			if cur.Key == "" && reason == "" {
				reason = m.Key + ": the key is missing"
			}
			page.Rejected = append(page.Rejected, erp.Rejection{Entity: r.Entity, Company: cur.Company, Key: cur.Key, Reason: reason, Raw: []byte(rw.raw)})
			continue
		}
		page.Records = append(page.Records, cur)
	}
	page.Requests, page.Bytes = n.value(), n.read()
	return page, nil
}
