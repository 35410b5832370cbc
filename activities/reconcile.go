package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/search"
)

// Reconcile removes the documents of an entity whose record the ERP no longer has, comparing
// key sets without re-reading records. It deletes nothing when either read fails, and nothing
// when the orphans exceed MaxDeleteShare of the index: it reports them instead.
//
// The ERP's keys are held in memory as document ids (about 50 bytes each: 50 MB for a million).
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
	inERP := map[string]bool{}
	for after := (erp.Cursor{}); ; {
		p, err := a.Source.Keys(ctx, erp.KeyRequest{Entity: in.Entity, After: after, PageSize: 5000})
		if err != nil {
			return res, fmt.Errorf("read %s keys: %w", in.Entity, err)
		}
		for _, k := range p.Records {
			inERP[document.ID(k.Company, k.Key)] = true
		}
		a.heartbeat(ctx, len(inERP))
		if p.Done {
			break
		}
		after = p.Next
	}
	alias := a.Index.Alias(in.Entity)
	var orphans []search.Op
	version := document.Version(a.now())
	for after := ""; ; {
		ids, err := a.Index.IDs(ctx, alias, after, 5000)
		if err != nil {
			return res, fmt.Errorf("read %s ids: %w", alias, err)
		}
		for _, id := range ids {
			res.Indexed++
			if !inERP[id] {
				orphans = append(orphans, search.DeleteOp(id, version))
			}
		}
		a.heartbeat(ctx, res.Indexed)
		if len(ids) < 5000 {
			break
		}
		after = ids[len(ids)-1]
	}
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

func (a *Import) heartbeat(ctx context.Context, details any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details)
	}
}
