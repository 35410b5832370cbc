package d365

import (
	"context"
	"fmt"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

var _ erp.Skipper = (*Client)(nil)

// Skip reads the first two roots of e after r.After up to r.Until, whole rows, or only their
// stamp, company and key when whole rows fail (a row the service cannot serialise), and returns
// the first as a Rejection with reason. Its cursor is its stamp, company and key as sent; when
// its stamp cannot be read, the position just before the second root (that root's stamp and
// company with an empty key: only the first root lies between), or, without a second root, the
// end (done). In a partition read by key (erp.Partition.ByKey) the position is the first root's
// company and key alone.
func (c *Client) Skip(ctx context.Context, e erp.Entity, r erp.ReadRequest, reason string) (erp.Rejection, erp.Cursor, bool, bool, error) {
	var n counter
	md, ok := erp.Model(e)
	if !ok {
		return erp.Rejection{}, r.After, false, false, failure.E(failure.Invalid, "skip", fmt.Errorf("unknown entity %q", e))
	}
	coll := c.colls[md.Collection]
	query := func(sel string) string {
		return c.url(coll,
			param{"cross-company", "true"},
			param{"$filter", c.rootFilter(coll, md.Key, "", r)},
			param{"$orderby", rootOrder(coll, md.Key, r)},
			param{"$select", sel},
			param{"$top", "2"},
		)
	}
	op := "skip a " + coll.name + " root"
	rows, err := c.fetch(ctx, op, coll, query(""), 2, 2, &n)
	if err != nil {
		var err2 error
		if rows, err2 = c.fetch(ctx, op, coll, query(coll.fs(fModified, fCompany, md.Key)), 2, 2, &n); err2 != nil {
			return erp.Rejection{}, r.After, false, false, fmt.Errorf("%w (and with only its key: %v)", err, err2)
		}
	}
	if len(rows) == 0 {
		return erp.Rejection{}, r.After, true, false, nil
	}
	first := rows[0]
	company, k := first.text(fCompany), first.text(md.Key)
	if md.NumericKey {
		k = keyText(first, md.Key)
	}
	rej := erp.Rejection{Entity: e, Company: company, Key: k, Reason: reason, Raw: []byte(first.raw)}
	done := len(rows) < 2
	if r.Partition != nil && r.Partition.ByKey {
		if k == "" && md.NumericKey {
			return rej, r.After, false, true, failure.E(failure.Invalid, op, fmt.Errorf("no position to continue after a root without a readable %s: %.300s", md.Key, first.raw))
		}
		t, _ := time.Parse(time.RFC3339Nano, first.text(fModified)) // only shown
		return rej, erp.Cursor{Modified: t.UTC(), Company: r.Partition.Company, Key: k}, done, true, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, first.text(fModified)); err == nil {
		return rej, erp.Cursor{Modified: t.UTC(), Company: company, Key: k}, done, true, nil
	}
	if done {
		return rej, r.After, true, true, nil
	}
	t, err := time.Parse(time.RFC3339Nano, rows[1].text(fModified))
	next := erp.Cursor{Modified: t.UTC(), Company: rows[1].text(fCompany)}
	if err != nil || keyText(rows[1], md.Key) == "" || !r.After.Less(next) {
		return rej, r.After, false, true, failure.E(failure.Invalid, op, fmt.Errorf("no position to continue after a root without a readable %s: %.300s", fModified, first.raw))
	}
	return rej, next, false, true, nil
}
