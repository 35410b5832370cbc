package d365

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

var _ erp.Counter = (*Client)(nil)

// Count returns the number of roots of e a read after r.After up to r.Until would return, with
// one request ($count=true, $top=0). It is for progress bars: the ERP may change meanwhile.
func (c *Client) Count(ctx context.Context, e erp.Entity, r erp.ReadRequest) (int, error) {
	m, ok := erp.Model(e)
	if !ok {
		return 0, failure.E(failure.Invalid, "count", fmt.Errorf("unknown entity %q", e))
	}
	coll := c.colls[m.Collection]
	u := c.url(coll,
		param{"cross-company", "true"},
		param{"$filter", c.rootFilter(coll, m.Key, c.whenFilter(coll, m.When), r)},
		param{"$count", "true"},
		param{"$top", "0"},
	)
	var n counter
	env, err := c.get(ctx, "count "+coll.name, u, 0, &n)
	if err != nil {
		return 0, err
	}
	if env.Count < 0 {
		return 0, failure.E(failure.Invalid, "count "+coll.name, fmt.Errorf("the service sent no @odata.count"))
	}
	return int(env.Count), nil
}

// CompanyLanguages returns each company's language (LegalEntities' LanguageId) by lower-case
// dataAreaId: the language of the company's own product names and descriptions.
func (c *Client) CompanyLanguages(ctx context.Context) (map[string]string, error) {
	coll := c.colls[erp.LegalEntities]
	u := c.url(coll, param{"cross-company", "true"}, param{"$select", coll.fs("LegalEntityId", "LanguageId")},
		param{"$top", strconv.Itoa(MaxPageSize)})
	var n counter
	rows, err := c.fetch(ctx, "read "+coll.name, coll, u, MaxPageSize, 0, &n)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, rw := range rows {
		var k checker
		id, lang := k.str(rw, "LegalEntityId"), k.str(rw, "LanguageId")
		if k.ok() && id != "" && lang != "" {
			out[strings.ToLower(id)] = lang
		}
	}
	return out, nil
}
