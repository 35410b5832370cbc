package activities

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
	"github.com/erpsync/erpsync/search"
)

// RedriveInput selects the dead letters whose records Redrive re-reads: every one when empty.
type RedriveInput struct {
	// Entity, when set, limits the retry to that entity's dead letters.
	Entity erp.Entity `json:"entity,omitempty"`
	// IDs, when set, limits it to these document ids ("usmf:1000").
	IDs []string `json:"ids,omitempty"`
}

// RedriveResult is what a retry of dead letters did.
type RedriveResult struct {
	// Roots is the number of records re-read from the ERP.
	Roots int `json:"roots"`
	// Counts are the writes: indexed, deleted (the ERP no longer has the record), dead-lettered
	// again.
	Counts Counts `json:"counts"`
	// Cleared is the number of dead letters removed because their record now reached the index
	// (or is gone from the ERP).
	Cleared int `json:"cleared"`
}

// maxRedrive bounds the dead letters one retry reads (one search).
const maxRedrive = 10_000

// Redrive re-reads the records of the selected dead letters from the ERP, as they are now, and
// writes their documents (to the alias and a generation a rebuild is filling); a record the
// ERP no longer has is deleted from the index. Then it removes the dead letters recorded before
// it began: a record that fails again has a new dead letter, with the new reason. Running it
// twice is harmless.
func (a *Import) Redrive(ctx context.Context, in RedriveInput) (RedriveResult, error) {
	res, err := a.redrive(ctx, in)
	return res, temporalError(err)
}

func (a *Import) redrive(ctx context.Context, in RedriveInput) (RedriveResult, error) {
	var res RedriveResult
	if in.Entity != "" && !in.Entity.Valid() {
		return res, invalid("redrive", "unknown entity %q", in.Entity)
	}
	store, ok := a.Index.(deadLetterStore)
	if !ok {
		return res, failure.E(failure.Invalid, "redrive", fmt.Errorf("the index keeps no dead letters"))
	}
	began := time.Now().UTC() // the index stamps dead letters with its own clock, time.Now
	dls, err := store.FindDeadLetters(ctx, search.DeadLetterQuery{Entity: in.Entity, IDs: in.IDs}, maxRedrive)
	if err != nil {
		return res, fmt.Errorf("read dead letters: %w", err)
	}
	byEntity := map[erp.Entity]map[erp.Ref]bool{}
	for _, d := range dls {
		ref, ok := refOf(d.Entity, d.ID)
		if !ok || !d.Entity.Valid() {
			continue // not a record's (nothing to re-read)
		}
		if byEntity[d.Entity] == nil {
			byEntity[d.Entity] = map[erp.Ref]bool{}
		}
		byEntity[d.Entity][ref] = true
	}
	s := a.settings()
	opts, err := a.documentOptions(ctx)
	if err != nil {
		return res, err
	}
	beat := startHeartbeat(ctx, res)
	defer beat.stop()
	for _, e := range erp.Entities { // in import order: deterministic
		refs := byEntity[e]
		if len(refs) == 0 {
			continue
		}
		keys := make([]erp.Ref, 0, len(refs))
		ids := make([]string, 0, len(refs))
		for r := range refs {
			keys = append(keys, r)
			ids = append(ids, document.ID(r.Company, r.Key))
		}
		slices.SortFunc(keys, func(x, y erp.Ref) int {
			return cmp.Or(strings.Compare(x.Company, y.Company), strings.Compare(x.Key, y.Key))
		})
		targets, err := a.targets(ctx, e, a.Index.Alias(e))
		if err != nil {
			return res, err
		}
		for len(keys) > 0 {
			batch := keys[:min(len(keys), s.PageSize)]
			keys = keys[len(batch):]
			p, _, err := a.lookupPage(ctx, e, batch, opts)
			if err != nil {
				return res, fmt.Errorf("read dead-lettered %s: %w", e, err)
			}
			c, err := a.writePage(ctx, e, targets, p)
			if err != nil {
				return res, err
			}
			res.Roots += len(batch)
			res.Counts = res.Counts.Add(c)
			a.record(e, c)
			beat.set(res)
		}
		n, err := store.DeleteDeadLetters(ctx, search.DeadLetterQuery{Entity: e, IDs: ids, Before: began})
		if err != nil {
			return res, fmt.Errorf("clear retried dead letters of %s: %w", e, err)
		}
		res.Cleared += n
	}
	a.log(ctx).Info("dead letters retried", zap.Int("roots", res.Roots), zap.Int("indexed", res.Counts.Indexed),
		zap.Int("deleted", res.Counts.Deleted), zap.Int("dead_lettered_again", res.Counts.DeadLettered), zap.Int("cleared", res.Cleared))
	return res, nil
}
