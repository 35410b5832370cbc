package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/search"
)

// AuditChunk compares up to in.MaxPages pages of the roots of in.Entity (of in.Partition, when
// set), in (company, key) order after in.After, with their documents in in.Target. For each page it reads the roots' keys, the
// digests of their ERP rows (keys and ModifiedDateTime of the root and every child row, nothing
// else) and the digests the documents were built from, then re-reads and writes the roots whose
// digests differ or that have no document. This finds what no timestamp shows: a child row
// deleted in an ERP that logs no deletes, a change an update run missed. Documents of roots the
// ERP no longer has are the reconcile run's business.
func (a *Import) AuditChunk(ctx context.Context, in AuditInput) (AuditResult, error) {
	res, err := a.auditChunk(ctx, in)
	return res, temporalError(err)
}

func (a *Import) auditChunk(ctx context.Context, in AuditInput) (AuditResult, error) {
	s := a.settings()
	maxPages := in.MaxPages
	if maxPages == 0 {
		maxPages = s.ChunkPages
	}
	res := AuditResult{Next: in.After}
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var hb chunkHeartbeat
		if err := activity.GetHeartbeatDetails(ctx, &hb); err == nil {
			res.Next, res.Counts = hb.Cursor, hb.Counts
		}
	}
	targets, err := a.targets(ctx, in.Entity, in.Target)
	if err != nil {
		return res, err
	}
	opts, err := a.documentOptions(ctx)
	if err != nil {
		return res, err
	}
	beat := startHeartbeat(ctx, chunkHeartbeat{Cursor: res.Next, Counts: res.Counts})
	defer beat.stop()
	deadline := a.now().Add(s.ChunkDuration)
	for n := 0; n < maxPages; n++ {
		keys, err := a.Source.Keys(ctx, erp.KeyRequest{Entity: in.Entity, After: res.Next, PageSize: s.PageSize, Partition: in.Partition})
		if err != nil {
			return res, fmt.Errorf("read %s keys: %w", in.Entity, err)
		}
		c := Counts{Pages: 1, Requests: keys.Requests, Bytes: keys.Bytes}
		refs := make([]erp.Ref, 0, len(keys.Records))
		ids := make([]string, 0, len(keys.Records))
		for _, k := range keys.Records {
			refs = append(refs, erp.Ref{Entity: in.Entity, Company: k.Company, Key: k.Key})
			ids = append(ids, document.ID(k.Company, k.Key))
		}
		digests, err := a.Source.Digests(ctx, in.Entity, refs)
		c.Requests += digests.Requests
		c.Bytes += digests.Bytes
		if err != nil {
			return res, fmt.Errorf("read %s digests: %w", in.Entity, err)
		}
		stored, err := a.Index.Stored(ctx, in.Target, ids)
		if err != nil {
			return res, fmt.Errorf("read %s documents' digests: %w", in.Entity, err)
		}
		var repair []erp.Ref
		for _, r := range refs {
			d, ok := digests.Of[r]
			if !ok {
				continue // deleted meanwhile: reconcile's business
			}
			c.Changed++
			if st, ok := stored[document.ID(r.Company, r.Key)]; !ok || st.Digest != d {
				repair = append(repair, r)
			}
		}
		if len(repair) > 0 {
			p, modified, err := a.lookupPage(ctx, in.Entity, repair, opts)
			if err != nil {
				return res, fmt.Errorf("read %s to repair: %w", in.Entity, err)
			}
			for i, o := range p.ops {
				if !o.Delete {
					p.ops[i].Version = repairVersion(o.Version, modified[o.ID], stored[o.ID])
				}
			}
			// Written even where the content did not change: the document's digest must.
			p.built = nil
			wc, err := a.writePage(ctx, in.Entity, targets, p)
			if err != nil {
				return res, err
			}
			wc.Pages = 0
			c = c.Add(wc)
			c.Repaired += p.read
		}
		res.Counts = res.Counts.Add(c)
		res.Next, res.Done = keys.Next, keys.Done
		beat.set(chunkHeartbeat{Cursor: res.Next, Counts: res.Counts})
		if res.Done || a.now().After(deadline) {
			break
		}
	}
	return res, nil
}

// repairVersion is the version of a document an audit rewrites: above the stored one, which was
// built from other rows at a version that may equal the root's stamp (a child deleted under a
// root that nothing stamped).
func repairVersion(v int64, modified time.Time, st search.Stored) int64 {
	return max(v, document.Version(modified), st.Version+1)
}
