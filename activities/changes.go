package activities

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/erp"
)

// changesHeartbeat is what SyncChanges heartbeats while it writes the roots it collected: the
// last root written, in (company, key) order. A retry collects again from the same cursors and
// skips what was written.
type changesHeartbeat struct {
	Written erp.Ref `json:"written"`
	Counts  Counts  `json:"counts"`
}

// SyncChanges is one chunk of a ChildStamps update of one entity (stock D365, which stamps only
// the rows that changed). It reads the changed rows of every collection of the entity's model
// after its cursor (keys and links only, one request per collection when nothing changed),
// collects the roots they affect — through link collections, and through the index for rows
// that can move between roots — until Settings.MaxChangedRoots, then reads those roots with all
// their children and writes their documents, each root once per chunk. Roots the ERP no longer
// has are deleted. Collections are read in model order; the result's cursors say how far each
// got, and Done that every one reached in.Until.
func (a *Import) SyncChanges(ctx context.Context, in ChangesInput) (ChangesResult, error) {
	res, err := a.syncChanges(ctx, in)
	return res, temporalError(err)
}

func (a *Import) syncChanges(ctx context.Context, in ChangesInput) (ChangesResult, error) {
	s := a.settings()
	m, ok := erp.Model(in.Entity)
	if !ok {
		return ChangesResult{}, invalid("sync changes", "unknown entity %q", in.Entity)
	}
	res := ChangesResult{Cursors: maps.Clone(in.Cursors), Done: true}
	if res.Cursors == nil {
		res.Cursors = map[string]erp.Cursor{}
	}
	var resumed changesHeartbeat
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &resumed); err == nil {
			res.Counts = resumed.Counts
			a.log(ctx).Info("changes resume after their last heartbeat", zap.String("written", resumed.Written.Company+"/"+resumed.Written.Key))
		}
	}

	beat := startHeartbeat(ctx, resumed)
	defer beat.stop()

	// Collect the roots the changed rows affect.
	roots := map[erp.Ref]bool{}
	add := func(r erp.Ref) {
		roots[erp.Ref{Entity: in.Entity, Company: strings.ToLower(r.Company), Key: r.Key}] = true
	}
	for _, coll := range m.Collections() {
		if len(roots) >= s.MaxChangedRoots {
			res.Done = false
			break
		}
		cur := res.Cursors[coll]
		for {
			ch, err := a.Source.Changes(ctx, erp.ChangeRequest{Entity: in.Entity, Collection: coll, After: cur, Until: in.Until, PageSize: s.PageSize})
			if err != nil {
				return res, fmt.Errorf("read changed %s: %w", coll, err)
			}
			res.Counts.Requests += ch.Requests
			res.Counts.Bytes += ch.Bytes
			if resumed.Written.Key == "" { // a resumed chunk counted these rows before
				res.Counts.Changed += ch.Rows
			}
			if ch.Rows > 0 {
				a.log(ctx).Debug("changed rows", zap.Stringer("after", cur), zap.String("collection", coll), zap.Int("rows", ch.Rows), zap.Int("roots", len(ch.Roots)),
					zap.Strings("companies", ch.Companies), zap.Int("held", len(ch.Held)))
			}
			for _, r := range ch.Roots {
				add(r)
			}
			for _, h := range ch.Held {
				ids, err := a.Index.Holding(ctx, in.Target, h)
				if err != nil {
					return res, fmt.Errorf("find %s documents holding changed %s: %w", in.Entity, coll, err)
				}
				for _, id := range ids {
					if r, ok := refOf(in.Entity, id); ok {
						add(r)
					}
				}
			}
			for _, co := range ch.Companies {
				if err := a.allRoots(ctx, in.Entity, co, add); err != nil {
					return res, err
				}
			}
			cur = ch.Next
			beat.set(resumed)
			if ch.Done {
				break
			}
			if len(roots) >= s.MaxChangedRoots {
				res.Done = false
				break
			}
		}
		res.Cursors[coll] = cur
	}

	// Read and write them, in (company, key) order, a page at a time.
	keys := slices.SortedFunc(maps.Keys(roots), func(x, y erp.Ref) int {
		return cmp.Or(strings.Compare(x.Company, y.Company), strings.Compare(x.Key, y.Key))
	})
	if w := resumed.Written; w.Key != "" {
		keys = slices.DeleteFunc(keys, func(r erp.Ref) bool {
			return cmp.Or(strings.Compare(r.Company, w.Company), strings.Compare(r.Key, w.Key)) <= 0
		})
	}
	targets, err := a.targets(ctx, in.Entity, in.Target)
	if err != nil {
		return res, err
	}
	opts, err := a.documentOptions(ctx)
	if err != nil {
		return res, err
	}
	hb := changesHeartbeat{Written: resumed.Written}
	for len(keys) > 0 {
		batch := keys[:min(len(keys), s.PageSize)]
		keys = keys[len(batch):]
		p, _, err := a.lookupPage(ctx, in.Entity, batch, opts)
		if err != nil {
			return res, fmt.Errorf("read changed %s: %w", in.Entity, err)
		}
		c, err := a.writePage(ctx, in.Entity, targets, p)
		if err != nil {
			return res, err
		}
		res.Counts = res.Counts.Add(c)
		a.record(in.Entity, c)
		hb.Written, hb.Counts = batch[len(batch)-1], res.Counts
		beat.set(hb)
	}
	return res, nil
}

// allRoots adds every root of e in company, for a company-wide row that changed.
func (a *Import) allRoots(ctx context.Context, e erp.Entity, company string, add func(erp.Ref)) error {
	after := erp.Cursor{Company: company}
	for {
		p, err := a.Source.Keys(ctx, erp.KeyRequest{Entity: e, After: after, PageSize: 5000})
		if err != nil {
			return fmt.Errorf("read %s keys of %s: %w", e, company, err)
		}
		for _, k := range p.Records {
			if !strings.EqualFold(k.Company, company) {
				return nil
			}
			add(erp.Ref{Entity: e, Company: k.Company, Key: k.Key})
		}
		if p.Done {
			return nil
		}
		after = p.Next
	}
}

// refOf reads a document id back into the root it was built from ("usmf:1000").
func refOf(e erp.Entity, id string) (erp.Ref, bool) {
	co, key, ok := strings.Cut(id, ":")
	return erp.Ref{Entity: e, Company: co, Key: key}, ok && co != "" && key != ""
}
