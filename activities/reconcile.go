package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/search"
)

// Reconcile removes the documents of an entity whose record the ERP no longer has, comparing
// key sets without re-reading records. It deletes nothing when either read fails, and nothing
// when the orphans exceed MaxDeleteShare of the index: it reports them instead.
//
// The index's ids are held in memory (about 50 bytes each: 50 MB for a million documents).
func (a *Import) Reconcile(ctx context.Context, in ReconcileInput) (ReconcileResult, error) {
	res, err := a.reconcile(ctx, in)
	return res, temporalError(err)
}

func (a *Import) reconcile(ctx context.Context, in ReconcileInput) (ReconcileResult, error) {
	s := a.settings()
	share := in.MaxDeleteShare
	if share == 0 {
		share = s.MaxDeleteShare
	}
	var res ReconcileResult
	hb := startHeartbeat(ctx, 0)
	defer hb.stop()
	// The index is listed before the ERP is read: a record created in between is not in the
	// listing, so it can never be taken for an orphan; one deleted in between is one.
	alias := a.Index.Alias(in.Entity)
	if err := a.Index.Refresh(ctx, alias); err != nil {
		return res, fmt.Errorf("refresh %s: %w", alias, err)
	}
	indexed := map[string]bool{}
	for after := ""; ; {
		ids, err := a.Index.IDs(ctx, alias, after, 5000)
		if err != nil {
			return res, fmt.Errorf("read %s ids: %w", alias, err)
		}
		for _, id := range ids {
			indexed[id] = true
		}
		hb.set(len(indexed))
		if len(ids) < 5000 {
			break
		}
		after = ids[len(ids)-1]
	}
	res.Indexed = len(indexed)
	for after := (erp.Cursor{}); ; {
		p, err := a.Source.Keys(ctx, erp.KeyRequest{Entity: in.Entity, After: after, PageSize: 5000})
		if err != nil {
			return res, fmt.Errorf("read %s keys: %w", in.Entity, err)
		}
		for _, k := range p.Records {
			delete(indexed, document.ID(k.Company, k.Key))
		}
		hb.set(after)
		if p.Done {
			break
		}
		after = p.Next
	}
	// Deletes are versioned like the writes they must win over: by the ERP's time where the
	// documents carry its stamps, by the time of the read where they carry read times.
	now := a.readTime()
	if a.settings().Detection != ChildStamps {
		var err error
		if now, err = a.erpNow(ctx); err != nil {
			return res, err
		}
	}
	version := document.Version(now)
	orphans := make([]search.Op, 0, len(indexed))
	for id := range indexed {
		orphans = append(orphans, search.DeleteOp(id, version))
	}
	slices.SortFunc(orphans, func(x, y search.Op) int { return strings.Compare(x.ID, y.ID) })
	res.Orphans = len(orphans)
	if res.Indexed > 0 && float64(res.Orphans) > share*float64(res.Indexed) {
		res.Refused = fmt.Sprintf("%d of %d %s documents are not in the ERP (more than %.0f%%): nothing deleted; check the ERP connection and run a rebuild if this is right",
			res.Orphans, res.Indexed, in.Entity, share*100)
		a.log(ctx).Warn("reconcile refused", zap.String("entity", string(in.Entity)), zap.String("reason", res.Refused))
		return res, nil
	}
	for i := 0; i < len(orphans); i += 1000 {
		c, err := a.Index.Write(ctx, alias, orphans[i:min(i+1000, len(orphans))])
		if err != nil {
			return res, fmt.Errorf("delete %s orphans: %w", in.Entity, err)
		}
		res.Deleted += c.Deleted
	}
	a.log(ctx).Info("reconciled", zap.String("entity", string(in.Entity)), zap.Int("indexed", res.Indexed), zap.Int("deleted", res.Deleted))
	return res, nil
}
