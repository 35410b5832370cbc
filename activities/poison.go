package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// A page that fails as a whole, again and again, would stop an entity's sync for good: every
// run starts at the same cursor. SyncChunk therefore reads such a page again in halves, down to
// one root, and steps past that root (stepPast), dead-lettering it with the reason and the row
// the ERP sent. A failure that is not about the page (the ERP or Elasticsearch down, a rate
// limit, a refusal of the index, a wrong credential) is never split: the chunk fails, is
// retried with backoff, and the watermark stays.

// readFault reports whether a page read failed in a way a smaller page may avoid: the answer
// was invalid (a root without a readable stamp, an answer over the size bound) or the ERP
// failed on this query (500s, truncated answers) after the client's retries.
func readFault(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch failure.KindOf(err) {
	case failure.Invalid, failure.Unavailable, failure.Other:
		return true
	}
	return false
}

// writeFault reports whether a page write failed in a way a smaller page may avoid:
// Elasticsearch refused the bulk request as a whole as wrong (a body too large, a document
// that breaks the request), not because it is down, blocked or refuses the index.
func writeFault(err error) bool { return failure.KindOf(err) == failure.Invalid }

// maxSkipsInARow is how many roots in a row stepPast steps past before it takes the failure
// for one that is not about a root (every one-root page failing alike) and steps past none.
const maxSkipsInARow = 3

// step is where stepPast got to.
type step struct {
	next   erp.Cursor
	done   bool
	counts Counts
}

// stepPast is called when the one-root page after r.After (of r's partition) failed as a whole with cause (failed
// is that page when it was read and its write failed). It asks the source for that root
// (erp.Skipper) and reads the root after it: when that one reads and writes fine, the failure
// was the root's own, and the root is dead-lettered with cause as the reason; the step ends
// after the neighbour. When the neighbour fails too it is stepped past the same way, up to
// maxSkipsInARow roots; more, or a source that cannot skip or does not answer, return cause:
// nothing is dead-lettered then.
func (a *Import) stepPast(ctx context.Context, e erp.Entity, targets []string, r erp.ReadRequest, cause error, failed *page) (step, error) {
	skipper, ok := a.Source.(erp.Skipper)
	if !ok {
		return step{}, cause
	}
	var skipped []erp.Rejection
	cur := r.After
	for range maxSkipsInARow {
		reason := "its page fails as a whole, also alone, while the next root reads fine: " + cause.Error()
		var (
			rej  erp.Rejection
			next erp.Cursor
			done bool
		)
		if failed != nil {
			rej, next, done = writeRejection(e, *failed, reason)
		} else {
			var found bool
			var err error
			rej, next, done, found, err = skipper.Skip(ctx, e, erp.ReadRequest{After: cur, Until: r.Until, Partition: r.Partition}, reason)
			if err != nil {
				return step{}, fmt.Errorf("%w; and the root cannot be stepped past: %v", cause, err)
			}
			if !found {
				return step{}, cause
			}
		}
		skipped = append(skipped, rej)
		var s step
		if done {
			s = step{next: next, done: true}
		} else {
			p, err := a.readPage(ctx, e, erp.ReadRequest{After: next, Until: r.Until, PageSize: 1, Partition: r.Partition})
			var c Counts
			if err == nil {
				if c, err = a.writePage(ctx, e, targets, p); err != nil && !writeFault(err) {
					return step{}, err
				}
			} else if !readFault(err) {
				return step{}, err
			}
			if err != nil {
				cur, cause, failed = next, err, nil
				if p.read > 0 {
					failed = &p
				}
				continue
			}
			s = step{next: p.next, done: p.done, counts: c}
		}
		if err := a.Index.DeadLetterRejections(ctx, skipped); err != nil {
			return step{}, fmt.Errorf("dead-letter %s roots stepped past: %w", e, err)
		}
		for _, r := range skipped {
			a.log(ctx).Warn("a root was dead-lettered and stepped past: its page fails as a whole", zap.String("entity", string(e)),
				zap.String("company", r.Company), zap.String("key", r.Key), zap.String("reason", r.Reason))
		}
		s.counts.Rejected += len(skipped)
		s.counts.DeadLettered += len(skipped)
		s.counts.Pages++
		return s, nil
	}
	return step{}, fmt.Errorf("%d roots in a row fail as a whole, each alone: not about one root, none stepped past: %w", maxSkipsInARow, cause)
}

// writeRejection is the rejection of the one root of a page Elasticsearch refused as a whole.
func writeRejection(e erp.Entity, p page, reason string) (erp.Rejection, erp.Cursor, bool) {
	r := erp.Rejection{Entity: e, Company: p.next.Company, Key: p.next.Key, Reason: reason}
	if len(p.ops) == 1 {
		r.Raw, _ = json.Marshal(p.ops[0].Body)
		if len(r.Raw) > maxDeadLetterBytes {
			r.Raw = append(r.Raw[:maxDeadLetterBytes:maxDeadLetterBytes], "... (cut)"...)
		}
	}
	return r, p.next, p.done
}

// maxDeadLetterBytes bounds the document a dead letter keeps of a page refused as a whole
// (which may have been refused for its size).
const maxDeadLetterBytes = 1 << 20

// pageSize is the page size the reader uses for its next read; safe for concurrent use.
type pageSize struct{ n atomic.Int64 }

func (s *pageSize) get() int  { return int(s.n.Load()) }
func (s *pageSize) set(n int) { s.n.Store(int64(max(n, 1))) }

// fetched is a page read ahead, or the error that ended the read.
type fetched struct {
	page page
	err  error
}

// pager reads pages one ahead of the writer, in order, until the read is done, fails or is
// stopped.
type pager struct {
	cancel  context.CancelFunc
	ch      <-chan fetched
	once    sync.Once
	stopped atomic.Bool
}

// startPager starts reading pages of e from req.After, each at the size sz has when its read
// begins, or smaller while it ramps up: with ramp > 0 the first page holds at most ramp roots
// and each next one at most twice the one before. It reads until it is done, fails or is
// stopped, even after ctx ends (it keeps only ctx's values), so that it can outlive the chunk
// that hands it on (handoff.go): its owner stops it or hands it on.
func (a *Import) startPager(ctx context.Context, e erp.Entity, req erp.ReadRequest, sz *pageSize, ramp int) *pager {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	out := make(chan fetched, 1)
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			req.PageSize = sz.get()
			if ramp > 0 {
				req.PageSize = min(req.PageSize, ramp)
				ramp *= 2
			}
			p, err := a.readPage(ctx, e, req)
			select {
			case out <- fetched{page: p, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil || p.done {
				return
			}
			req.After = p.next
		}
	}()
	return &pager{cancel: cancel, ch: out}
}

// next returns the next page; false when the reader stopped or ctx ended.
func (p *pager) next(ctx context.Context) (fetched, bool) {
	select {
	case f, ok := <-p.ch:
		return f, ok
	case <-ctx.Done():
		return fetched{}, false
	}
}

// stop ends the read ahead and waits for it; it may be called more than once.
func (p *pager) stop() {
	p.once.Do(func() {
		p.stopped.Store(true)
		p.cancel()
		for range p.ch {
		}
	})
}
