// Package erp is erpsync's view of the ERP: the records an import reads, the change-order
// cursor, and the Source interface that the import activities pull from. The D365 OData client
// in erp/d365 implements it.
package erp

import (
	"context"
	"fmt"
	"time"
)

// Entity names a kind of root record, one search index each.
type Entity string

// The root entities.
const (
	Products  Entity = "products"
	Customers Entity = "customers"
	Contacts  Entity = "contacts"
	SalesReps Entity = "salesreps"
	// Categories are the product categories with their visibility in the webshop.
	Categories Entity = "categories"
	// LineDiscounts are the line discount agreements for an item discount group or all items.
	LineDiscounts Entity = "linediscounts"
	// Activations are each company's trade agreement activation.
	Activations Entity = "activations"
)

// Entities lists every root entity in import order: the company-wide data the products are
// priced and shown with comes before them.
var Entities = []Entity{Categories, LineDiscounts, Activations, Products, Customers, Contacts, SalesReps}

// Valid reports whether e is one of Entities.
func (e Entity) Valid() bool {
	for _, x := range Entities {
		if x == e {
			return true
		}
	}
	return false
}

// ReadRequest asks for one page of changed roots of one entity.
type ReadRequest struct {
	// After is the position to continue after; the zero Cursor reads from the beginning. In a
	// partition read by key (Partition.ByKey) its Company and Key alone are the position.
	After Cursor
	// Until is the inclusive upper bound of ModifiedDateTime; zero means no bound. A run fixes
	// it at its start (minus a safety lag) so that it ends.
	Until time.Time
	// PageSize is the number of roots per page; zero means the source's default.
	PageSize int
	// Partition, when set, limits the read to the roots of one partition (a rebuild's part);
	// nil reads every root.
	Partition *Partition
	// Matching limits the read to the roots that meet the entity's condition (Root.When), so
	// that it reports none gone: for a read into an index that holds none of the others (a
	// rebuild's new generation). Without it, a read takes every row of the root's collection
	// and reports those that do not meet the condition as gone, so that an update deletes
	// their documents where it holds them.
	Matching bool
	// Width, when above zero, bounds the ERP requests the read has in flight at once (a page's
	// child collections); zero leaves the source's own bound (d365: erp.concurrency). A
	// partitioned rebuild reads each page with its share of what the ERP allows
	// (activities.BeginResult.Width).
	Width int
}

// Partition is a part of one entity's roots that a rebuild reads on its own: the roots of one
// company (dataAreaId, as the ERP spells it) whose key lies after After (exclusive; "" from the
// first key) up to Through (inclusive; "" up to the last key), in the ERP's own order of keys,
// the order its $orderby and its key comparisons share. The partitions of a plan are disjoint
// and together hold every root, whatever changes between planning and reading: their bounds
// are keys, not positions. Within a partition roots are read in key order when ByKey is set,
// else in change order, as any read.
type Partition struct {
	Company string `json:"company"`
	After   string `json:"after,omitempty"`
	Through string `json:"through,omitempty"`
	// Expected is the number of roots it held up to the run's bound when it was planned.
	Expected int `json:"expected,omitempty"`
	// Start is where the plan has it begin on the slot that reads it, as the roots that slot
	// reads before it (PartitionPlan.Shares): partitions are begun in this order.
	Start int `json:"start,omitempty"`
	// ByKey is set by a source that reads the partition in the order of its keys: a rebuild
	// needs every root up to its bound in any order, and a range of one company's keys read in
	// key order is a range of the ERP's primary key, where change order within the range makes
	// it walk the company's rows by stamp or sort the range for every page. A read of such a
	// partition continues after its cursor's Key alone (Cursor.Company set; Modified is only
	// shown). Partitions planned before ByKey existed are read in change order, so that a run
	// resumed from their checkpoints continues where it stopped.
	ByKey bool `json:"by_key,omitempty"`
}

// String writes p for logs and the UI: "usmf (1000, 2000]", "usmf (2000, end]".
func (p Partition) String() string {
	after, through := p.After, p.Through
	if after == "" {
		after = "start"
	}
	if through == "" {
		through = "end"
	}
	return fmt.Sprintf("%s (%s, %s]", p.Company, after, through)
}

// At writes c, a position of a read of p, for logs and the UI: in a partition read by key the
// last key read ("key 1500"; its stamp says nothing there), else the cursor.
func (p Partition) At(c Cursor) string {
	if p.ByKey && c.Company != "" {
		return "key " + c.Key
	}
	return c.String()
}

// Page is one page of roots of type T with their children.
type Page[T any] struct {
	// Records are in the order read (change order; key order in a partition read by key,
	// Partition.ByKey); each carries everything its document needs.
	Records []T
	// Rejected are roots of this page that could not be read into a record, with the reason.
	// They are counted and reported; they do not stop the page.
	Rejected []Rejection
	// Missing are the roots a Lookup asked for that the ERP does not have (deleted).
	Missing []Ref
	// Gone are rows a Read met that are no longer roots of the entity: they do not match the
	// root's condition (Root.When) any more. Their documents, if any, are deleted at At.
	Gone []Deletion
	// Next is the cursor after the last root of the page (read or rejected); continue with it.
	Next Cursor
	// Done is true when no roots remain up to Until.
	Done bool
	// Requests is the number of ERP requests this page took, Bytes the bytes of their answers.
	Requests int
	Bytes    int64
}

// Ref identifies a root record: its entity, company (dataAreaId as the ERP spells it) and key.
type Ref struct {
	Entity  Entity `json:"entity"`
	Company string `json:"company"`
	Key     string `json:"key"`
}

// Record is one root record with everything its document needs. Value is a Product, Customer,
// Contact or SalesRep (by Entity).
type Record struct {
	Ref
	// Modified is the root row's own ModifiedDateTime.
	Modified time.Time
	// Digest summarises the rows the record was read from: the collection, key and
	// ModifiedDateTime of the root row and of every child row. Two reads with the same digest
	// read the same rows; the audit compares it with the digest a document was built from.
	Digest string
	Value  any
}

// ChangeRequest asks for one page of the rows of one collection of an entity's model that
// changed (by the collection's own ModifiedDateTime) after After, up to Until.
type ChangeRequest struct {
	Entity Entity
	// Collection is D365's name of a collection of the entity's model (the root's or a
	// child's).
	Collection string
	After      Cursor
	Until      time.Time
	PageSize   int
}

// Changes are the roots that one page of changed rows affects.
type Changes struct {
	// Roots are the roots the changed rows belong to now (through links and link collections).
	Roots []Ref
	// Held asks the index for the documents that hold a changed row of a child whose rows can
	// move between roots: the documents whose field Field holds one of Values in Company.
	Held []Held
	// Companies are companies whose every root is affected (a company-wide row changed).
	Companies []string
	// Rows is the number of changed rows read.
	Rows int
	// Next is the position after the last row read; Done is true when no rows remain up to
	// Until.
	Next     Cursor
	Done     bool
	Requests int
	Bytes    int64
}

// Digests are the digests of roots (Record.Digest) by root, and what reading them cost.
type Digests struct {
	Of       map[Ref]string
	Requests int
	Bytes    int64
}

// Held names documents by a value they hold: those of an entity in Company whose keyword field
// Field has one of Values.
type Held struct {
	Company string   `json:"company"`
	Field   string   `json:"field"`
	Values  []string `json:"values"`
}

// Rejection is a root record that could not be read, and why.
type Rejection struct {
	Entity  Entity `json:"entity"`
	Company string `json:"company"`
	Key     string `json:"key"`
	Reason  string `json:"reason"`
	// Raw is the record as the ERP sent it, for the dead-letter index.
	Raw []byte `json:"raw,omitempty"`
}

// Deletion is a root record the ERP deleted, from its deletion log.
type Deletion struct {
	Entity  Entity    `json:"entity"`
	Company string    `json:"company"`
	Key     string    `json:"key"`
	At      time.Time `json:"at"`
}

// KeyRequest asks for one page of the keys of every root of an entity, in (company, key) order,
// for a reconciliation sweep.
type KeyRequest struct {
	Entity Entity
	// After is the (company, key) to continue after; zero from the beginning.
	After    Cursor
	PageSize int
	// Partition, when set, limits the keys to those of one partition.
	Partition *Partition
}

// Source is the ERP as the import activities see it: a pull interface over pages, driven by the
// ERP model (Model).
//
// Each method blocks until its page is read or ctx is done, and returns ctx's error then. Pages
// are in a total order (ModifiedDateTime, dataAreaId, key), so a read that continues after
// Page.Next never misses or repeats a record committed before the read began, even where many
// records share one timestamp. A method returns a *failure.Error whose Kind says whether a retry
// can help; truncated or malformed answers are errors, never short pages. Methods are safe for
// concurrent use.
type Source interface {
	// Read reads one page of the roots of e changed after r.After (by the root row's own
	// ModifiedDateTime) up to r.Until, with their children.
	Read(ctx context.Context, e Entity, r ReadRequest) (Page[Record], error)
	// Lookup reads the roots of e with the given keys, with their children; the keys the ERP
	// does not have are in Page.Missing. Records are in (company, key) order; Next and Done are
	// unused.
	Lookup(ctx context.Context, e Entity, keys []Ref) (Page[Record], error)
	// Changes reads one page of the changed rows of one collection of e's model and returns the
	// roots they affect.
	Changes(ctx context.Context, r ChangeRequest) (Changes, error)
	// Digests reads only the keys and ModifiedDateTime of the given roots and of their
	// children's rows, and returns each root's Record.Digest; roots the ERP does not have are
	// absent. It reads far less than Lookup: the audit compares documents with it.
	Digests(ctx context.Context, e Entity, keys []Ref) (Digests, error)
	// Deletions reads the deletion log after r.After up to r.Until, for every entity.
	Deletions(ctx context.Context, r ReadRequest) (Page[Deletion], error)
	// Keys reads the keys of every root of one entity (Company and Key set in each Cursor).
	Keys(ctx context.Context, r KeyRequest) (Page[Cursor], error)
}

// Counter is implemented by sources that can count the roots a read would return, for progress
// bars and ETAs. It is optional: imports work without it.
type Counter interface {
	// Count returns the number of roots of e after r.After up to r.Until, in r.Partition when
	// it is set.
	Count(ctx context.Context, e Entity, r ReadRequest) (int, error)
}

// Partitioner is implemented by sources that can split an entity's roots into partitions that a
// rebuild reads side by side, each from its own cursor. It is optional: without it a rebuild
// reads every root in one stream.
type Partitioner interface {
	// Partitions splits the roots of e stamped up to until (zero: every root) as plan says
	// (PartitionPlan.Shares): at least one partition per company that has roots, each a range
	// of one company's keys. The bounds come from the ERP itself (counts and the keys at the
	// boundaries), read with a few small requests per partition; the partitions are in
	// (company, key) order. It returns them with the number of roots it counted, which is the
	// count a run shows its progress against: no caller needs to count them again.
	//
	// When those roots number no more than plan.Size it returns no partitions, only their
	// count: one stream reads them as fast as partitions would, and the plan stops after the
	// requests that counted them.
	Partitions(ctx context.Context, e Entity, until time.Time, plan PartitionPlan) ([]Partition, int, error)
}

// PartitionPlan says how a rebuild's roots are split: into partitions of at most about Size
// roots, so that each of Slots readers (the partitions read at once) reads an even share of
// them (PartitionPlan.Shares).
type PartitionPlan struct {
	Size  int `json:"size"`
	Slots int `json:"slots"`
}

// stagger is how far the cuts inside lane i of n lie from the even ones, for segments of about
// segment roots: from -1/4 to 1/4 of a segment, evenly over the lanes (less the ends: over 4
// lanes -3/16, -1/16, 1/16 and 3/16). With the cuts of every lane at one place, the partitions
// of a round would end together and every slot would wait for its next partition's first page
// at once; staggered, the slots begin their next partitions at different moments while the
// others read. A lane's first segment is longer by its stagger, its last shorter: the lane
// holds as many roots.
func stagger(i, n, segment int) int {
	return int(float64(segment) / 4 * (2*(float64(i)+0.5)/float64(n) - 1))
}

// Share is one partition of a plan (PartitionPlan.Shares): how many roots it holds, and where
// it begins on the slot that reads it, as the roots that slot reads before it.
type Share struct {
	Size  int
	Start int
}

// Shares returns each company's partitions in key order, given how many roots each company has
// (perCompany, in the plan's company order; a company without roots gets none).
//
// The roots of all companies, one company after the other, are cut into Slots lanes of one
// length, and each lane into as few segments as keep a segment within about Size (rounds), its
// cuts staggered from lane to lane (stagger). A slot reads one lane. A partition holds one
// company's roots, so a segment that spans the end of one company and the start of the next is
// two partitions (McNaughton's wrap-around rule); they number the segments plus at most one
// per company boundary. A partition's Start is where it begins in its lane: begun in the order
// of their Start, each on the first slot that is free, as the workflow begins them, a slot that
// ends a partition takes the next one of its own lane, and every slot reads as many roots. A
// piece of a segment under a twentieth of it goes to its neighbour in the company: a partition
// costs a request to plan and a pipeline to start.
//
// Fewer, larger partitions keep the streams reading: measured at 150 ms a request, 100,000
// products in 3 companies on 9 slots, one wave of 9 partitions left Elasticsearch idle 2.9 to
// 3.3 s of a rebuild, two waves of 18 partitions 4.0 to 5.1 s. A wave's partitions end
// together, and every slot then waits for its next partition's first page at once.
func (p PartitionPlan) Shares(perCompany []int) [][]Share {
	out := make([][]Share, len(perCompany))
	total := 0
	for _, n := range perCompany {
		total += max(n, 0)
	}
	if total == 0 {
		return out
	}
	slots, size := max(p.Slots, 1), max(p.Size, 1)
	rounds := (total + slots*size - 1) / (slots * size)
	segments := min(slots*rounds, total)
	// The k-th cut lies k*total/segments roots from the first root of the first company, the
	// cuts inside a lane shifted by the lane's stagger; the lane of segment k begins at the cut
	// of its first segment.
	even := func(k int) int { return int((int64(k)*int64(total) + int64(segments)/2) / int64(segments)) }
	lanes := (segments + rounds - 1) / rounds
	cut := func(k int) int {
		if k%rounds == 0 || k >= segments {
			return even(k)
		}
		return even(k) + stagger(k/rounds, lanes, total/segments)
	}
	start := func(at, segment int) int { return at - cut(segment/rounds*rounds) }
	least := max(total/segments/20, 1)
	pos, k := 0, 1 // k: the next cut after pos
	for i, n := range perCompany {
		if n <= 0 {
			continue
		}
		end := pos + n
		for k < segments && cut(k) <= pos {
			k++
		}
		var shares []Share
		from := pos
		for ; k < segments && cut(k) < end; k++ {
			shares = append(shares, Share{Size: cut(k) - from, Start: start(from, k-1)})
			from = cut(k)
		}
		shares = append(shares, Share{Size: end - from, Start: start(from, k-1)})
		// A piece too small to be worth a partition goes to its neighbour: the first into the
		// second (which begins that much earlier in its lane, or at the lane's start), the last
		// into the one before it.
		if len(shares) > 1 && shares[0].Size < least {
			shares = append([]Share{{Size: shares[0].Size + shares[1].Size, Start: max(shares[1].Start-shares[0].Size, 0)}}, shares[2:]...)
		}
		if last := len(shares) - 1; last > 0 && shares[last].Size < least {
			shares = append(shares[:last-1], Share{Size: shares[last-1].Size + shares[last].Size, Start: shares[last-1].Start})
		}
		out[i] = shares
		pos = end
	}
	return out
}

// Skipper is implemented by sources that can step past one root without reading it whole. An
// import whose page keeps failing as a whole (an ERP page that always answers 500, a root whose
// stamp or company cannot be read, a document Elasticsearch refuses as a whole) halves its page
// size down to one root; then it asks Skip for that root, dead-letters it and continues after
// it. It is optional: without it such a page fails the import until the ERP is fixed.
type Skipper interface {
	// Skip reads the first root of e after r.After up to r.Until with as little as it can (its
	// place in change order, the row as the ERP sent it) and returns it as a Rejection whose
	// Reason is reason, with the cursor to continue after it; done is true when no root
	// follows it up to r.Until. found is false when there is no root to skip. An error means
	// the ERP does not answer even that: nothing can be stepped past.
	Skip(ctx context.Context, e Entity, r ReadRequest, reason string) (rej Rejection, next Cursor, done, found bool, err error)
}

// Clock is implemented by sources that can tell the ERP's current time. A run's upper bound
// (ReadRequest.Until) must come from the clock that stamps the records, not from the worker's:
// a worker clock ahead of the ERP's would set a watermark past changes the ERP has yet to stamp
// in its own time, and the next run would start after them.
type Clock interface {
	// Now returns the ERP's current time, never later than it: the time may be up to a
	// second or a round trip behind.
	Now(ctx context.Context) (time.Time, error)
}
