package d365

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

var _ erp.Partitioner = (*Client)(nil)

// maxCompanies bounds the legal entities and the walk over the companies that have roots: D365
// installations have tens of legal entities, not thousands; more means the service ignores the
// filter.
const maxCompanies = 10_000

// Partitions splits the roots of e stamped up to until as plan says, from what the ERP says,
// with OData options D365 documents for its data entities ($filter, $orderby, $select, $top,
// $skip, $count: "Open Data Protocol (OData)", learn.microsoft.com/dynamics365/fin-ops-core/
// dev-itpro/data-entities/odata):
//
//   - the companies and, per company, $count of its roots up to until (plan.Shares cuts them
//     into partitions): the configured companies, else those of LegalEntities when their
//     counts add up to the count of all roots, else each company that has roots (companies).
//     LegalEntities is the list Now read for the run's bound, when it did (within its 10
//     seconds): the counts are then one round of requests. Roots that number no more than
//     plan.Size stop the plan after that round;
//   - a company's boundaries, each the key as many roots from its first as its partitions
//     before the boundary hold (n), read with $select of the key only ($orderby=key,
//     $skip=n-1, $top=1).
//
// The partitions are read by key (erp.Partition.ByKey): a page continues after the last key
// read, ordered by the key, which is one range of the entity's primary key (rootFilter).
//
// A change between these reads makes partitions uneven, never incomplete: a partition is a
// range of keys that begins where the one before it ends, so the partitions of a company hold
// every key. The counts and the boundaries are read side by side, as many at once as the
// rebuild will read with (plan.Slots partitions of Config.Concurrency requests each, which the
// ERP's allowed concurrency bounds): at 150 ms per request, a run's clock and plan take about
// 3 requests' time (LegalEntities with the clock, the counts, the boundaries) whatever its size
// and however many companies LegalEntities lists, and its count of all roots is the one a run
// needs for its progress.
func (c *Client) Partitions(ctx context.Context, e erp.Entity, until time.Time, plan erp.PartitionPlan) ([]erp.Partition, int, error) {
	if plan.Size <= 0 || plan.Slots <= 0 {
		return nil, 0, failure.E(failure.Invalid, "partition", fmt.Errorf("partition size %d and slots %d: want at least 1 each", plan.Size, plan.Slots))
	}
	m, ok := erp.Model(e)
	if !ok {
		return nil, 0, failure.E(failure.Invalid, "partition", fmt.Errorf("unknown entity %q", e))
	}
	width := plan.Slots * c.cfg.Concurrency
	companies, counts, total, err := c.companies(ctx, m, until, width, plan.Size)
	if err != nil || total <= plan.Size {
		return nil, total, err
	}
	shares := plan.Shares(counts)
	// A company's boundaries, each the key as many roots from its first as the partitions
	// before it hold: every company's at once.
	bounds := make([][]bound, len(companies))
	var tasks []func(context.Context) error
	for i, co := range companies {
		if len(shares[i]) == 0 {
			continue
		}
		bounds[i] = make([]bound, len(shares[i])-1)
		skip := 0
		for k := range bounds[i] {
			b := &bounds[i][k]
			skip += shares[i][k].Size
			at := skip
			tasks = append(tasks, func(ctx context.Context) error {
				var err error
				b.key, b.found, err = c.keyAfter(ctx, m, co, "", until, at)
				return err
			})
		}
	}
	if err := parallel(ctx, width, tasks); err != nil {
		return nil, 0, err
	}
	var out []erp.Partition
	for i, co := range companies {
		if len(shares[i]) > 0 {
			out = append(out, companyPartitions(co, shares[i], bounds[i])...)
		}
	}
	// A company without a share has no roots: the partitions hold them all.
	return out, sum(counts), nil
}

// bound is a boundary between two partitions of a company: the last key of the first; found
// is false when the company had fewer roots than counted.
type bound struct {
	key   string
	found bool
}

// companies returns the companies whose roots of m stamped up to until a plan splits, sorted,
// how many roots each has and how many they have together, reading up to width requests at
// once. When the first round of requests counts no more than size roots, it returns that count
// alone: there is nothing to split. The companies come from
//
//   - the configured companies (Config.Companies), each counted;
//   - else the legal entities (LegalEntities), each counted, when their counts add up to the
//     count of all roots. Every dataAreaId of D365 is a legal entity; the sum guards against a
//     service that lists fewer. It cannot add up with a company left out: a count up to until
//     only falls between the reads (a root edited or created since is stamped after until,
//     which lies the safety lag behind the ERP's clock), so a company left out with roots makes
//     the sum fall short. An audit counts every root (until is zero), and a root created between
//     the reads could make up for one left out: that needs a legal entity the service does not
//     list and a creation of exactly as many roots. When Now read the list for the run's bound
//     (within the clock's 10 seconds), the count of all roots and each legal entity's are one
//     round of requests; otherwise the list is read beside the count of all roots, and the legal
//     entities are counted after them.
//   - else each company that has roots (companiesWithRoots: one request per company, in a row),
//     each counted. Also when LegalEntities cannot be read (a service without it).
func (c *Client) companies(ctx context.Context, m *erp.Root, until time.Time, width, size int) (companies []string, counts []int, total int, err error) {
	if len(c.cfg.Companies) > 0 {
		companies := slices.Sorted(slices.Values(c.cfg.Companies))
		counts, err := c.countEach(ctx, m, until, companies, width)
		return companies, counts, sum(counts), err
	}
	countAll := func(ctx context.Context) error {
		var err error
		total, err = c.Count(ctx, m.Entity, erp.ReadRequest{Until: until})
		return err
	}
	entities, listed := c.entities.get(clockMaxAge)
	var listErr error
	if listed && len(entities) > 0 {
		counts = make([]int, len(entities))
		err = parallel(ctx, width, append(c.countTasks(m, until, entities, counts), countAll))
	} else {
		tasks := []func(context.Context) error{countAll}
		if !listed {
			tasks = append(tasks, func(ctx context.Context) error {
				entities, listErr = c.legalEntities(ctx)
				return nil // a service without LegalEntities is walked instead
			})
		}
		err = parallel(ctx, width, tasks)
		if err == nil && total > size && listErr == nil && len(entities) > 0 {
			counts, err = c.countEach(ctx, m, until, entities, width)
		}
	}
	if err != nil || total <= size {
		return nil, nil, total, err
	}
	if len(entities) > 0 && listErr == nil && sum(counts) == total {
		return entities, counts, total, nil
	}
	companies, err = c.companiesWithRoots(ctx, m)
	if err != nil {
		return nil, nil, 0, err
	}
	slices.Sort(companies)
	counts, err = c.countEach(ctx, m, until, companies, width)
	return companies, counts, total, err
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// countEach counts the roots of m stamped up to until in each company, width at once.
func (c *Client) countEach(ctx context.Context, m *erp.Root, until time.Time, companies []string, width int) ([]int, error) {
	counts := make([]int, len(companies))
	return counts, parallel(ctx, width, c.countTasks(m, until, companies, counts))
}

// countTasks returns the requests that count the roots of m stamped up to until in each
// company into counts (as long as companies).
func (c *Client) countTasks(m *erp.Root, until time.Time, companies []string, counts []int) []func(context.Context) error {
	var tasks []func(context.Context) error
	for i, co := range companies {
		tasks = append(tasks, func(ctx context.Context) error {
			var err error
			counts[i], err = c.Count(ctx, m.Entity, erp.ReadRequest{Until: until, Partition: &erp.Partition{Company: co}})
			return err
		})
	}
	return tasks
}

// legalEntities reads the ids of LegalEntities, lower-cased (as dataAreaIds are), sorted and
// without repeats, at most maxCompanies, and keeps them for the plan that follows a read of the
// clock (Now reads them; companies takes them within the clock's 10 seconds).
func (c *Client) legalEntities(ctx context.Context) ([]string, error) {
	coll := c.colls[erp.LegalEntities]
	op := "read " + coll.name
	u := c.url(coll, param{"cross-company", "true"}, param{"$select", coll.f("LegalEntityId")}, param{"$top", strconv.Itoa(maxCompanies + 1)})
	var n counter
	rows, err := c.fetch(ctx, op, coll, u, MaxPageSize, maxCompanies+1, &n)
	if err != nil {
		return nil, err
	}
	if len(rows) > maxCompanies {
		return nil, failure.E(failure.Invalid, op, fmt.Errorf("more than %d legal entities", maxCompanies))
	}
	var out []string
	for _, rw := range rows {
		var k checker
		if id := k.str(rw, "LegalEntityId"); k.ok() && id != "" {
			out = append(out, strings.ToLower(id))
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	c.entities.set(out)
	return out, nil
}

// companiesWithRoots returns the companies that have roots of m, in the ERP's order, one
// request per company.
func (c *Client) companiesWithRoots(ctx context.Context, m *erp.Root) ([]string, error) {
	coll := c.colls[m.Collection]
	co := coll.f(fCompany)
	op := "read the companies of " + coll.name
	var out []string
	for {
		if len(out) >= maxCompanies {
			return nil, failure.E(failure.Invalid, op, fmt.Errorf("more than %d companies: the service ignores $filter on %s", maxCompanies, co))
		}
		filter := ""
		if len(out) > 0 {
			filter = co + " gt " + quote(out[len(out)-1])
		}
		var n counter
		rows, err := c.fetch(ctx, op, coll, c.url(coll, param{"cross-company", "true"}, param{"$filter", filter},
			param{"$orderby", co}, param{"$select", co}, param{"$top", "1"}), 1, 1, &n)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			return out, nil
		}
		next := rows[0].text(fCompany)
		if slices.Contains(out, next) {
			return nil, failure.E(failure.Invalid, op, fmt.Errorf("company %q again: the service ignores $filter on %s", next, co))
		}
		out = append(out, next)
	}
}

// companyPartitions splits the roots of company co into the plan's shares at bounds. Roots
// created or deleted between the reads of the bounds can shift one; the partitions still hold
// every key, because each begins where the one before it ends: a boundary that came out behind
// the one before it makes that partition empty and lets the next read some keys again, never
// lose one. A boundary equal to the one before it is dropped, and the next partition holds
// its share too.
func companyPartitions(co string, shares []erp.Share, bounds []bound) []erp.Partition {
	var out []erp.Partition
	after, held := "", 0
	begin := shares[0].Start
	for k, b := range bounds {
		if !b.found || b.key == "" {
			break // fewer roots than counted: the last partition holds the rest
		}
		held += shares[k].Size
		if b.key == after {
			continue
		}
		out = append(out, erp.Partition{Company: co, After: after, Through: b.key, Expected: held, Start: begin, ByKey: true})
		after, held, begin = b.key, 0, shares[k+1].Start
	}
	rest := 0
	for _, sh := range shares {
		rest += sh.Size
	}
	for _, p := range out {
		rest -= p.Expected
	}
	return append(out, erp.Partition{Company: co, After: after, Expected: rest, Start: begin, ByKey: true})
}

// keyAfter returns the key of the root of m in company co that lies skip roots after the key
// after (from the first key when after is ""), counting only roots stamped up to until; ok is
// false when there are fewer.
func (c *Client) keyAfter(ctx context.Context, m *erp.Root, co, after string, until time.Time, skip int) (string, bool, error) {
	coll := c.colls[m.Collection]
	key := coll.f(m.Key)
	conds := []string{coll.f(fCompany) + " eq " + quote(co)}
	if after != "" {
		conds = append(conds, key+" gt "+coll.literal(m.Key, after))
	}
	if !until.IsZero() {
		conds = append(conds, coll.f(fModified)+" le "+timeLiteral(until))
	}
	op := "read a partition boundary of " + coll.name
	var n counter
	rows, err := c.fetch(ctx, op, coll, c.url(coll, param{"cross-company", "true"}, param{"$filter", strings.Join(conds, " and ")},
		param{"$orderby", key}, param{"$select", key}, param{"$skip", strconv.Itoa(skip - 1)}, param{"$top", "1"}), 1, 1, &n)
	if err != nil || len(rows) == 0 {
		return "", false, err
	}
	// Keys compare in the ERP's collation (SQL Server's is case-insensitive), which Go does
	// not know: only the same key again is known to be wrong.
	b := rows[0].text(m.Key)
	if after != "" && b == after {
		return "", false, failure.E(failure.Invalid, op, fmt.Errorf("key %q after %q: the service ignores $filter on %s", b, after, key))
	}
	return b, true, nil
}
