package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// State is an entity's sync state, one document per entity in <prefix>-sync-state (_id = the
// entity). It lives in Elasticsearch, beside the data it describes, so that it survives losing
// Temporal's state. The zero State (with Entity set) means "never synced".
type State struct {
	Entity erp.Entity `json:"entity"`
	// Watermark is the change-order position up to which every change is in the index: an
	// update run reads from it (minus an overlap). It moves only after the index acknowledged.
	Watermark erp.Cursor `json:"watermark"`
	// DeletionWatermark is the same for the ERP's deletion log.
	DeletionWatermark erp.Cursor `json:"deletion_watermark"`
	// Collections are the watermarks of the entity's collections (by D365's name) for change
	// detection by each collection's own stamps (child-stamps): every change of the collection
	// up to it is in the index. A state saved before they existed has none (nil): its
	// Watermark stands for every collection. A collection the map lacks was added to the model
	// later: it is read from the beginning.
	Collections map[string]erp.Cursor `json:"collections,omitempty"`
	// Generation is the index a rebuild last swapped in.
	Generation string `json:"generation,omitempty"`
	// Rebuilding is the generation a running rebuild is filling, which update runs also write
	// to; "" when none.
	Rebuilding string `json:"rebuilding,omitempty"`
	// RebuildRun is the run filling Rebuilding ("<workflow id>/<first run id>"), so that the
	// next run can tell whether it still lives; "" when unknown.
	RebuildRun string `json:"rebuild_run,omitempty"`
	// Webshops are the fingerprints of the webshop configuration the index was built with
	// (webshop.Fingerprints, by webshop id): which records of the entity it holds. Set by a
	// rebuild (and the first run of an entity); an update or audit whose webshops differ refuses
	// to run. None when built without webshops.
	Webshops map[string]string `json:"webshops,omitempty"`
	// LastRun summarises the last finished run.
	LastRun RunSummary `json:"last_run"`
	// Updated is when the state was last saved.
	Updated time.Time `json:"updated"`

	// seqNo and primaryTerm are the stored document's, when LoadState read one: SaveState
	// writes only if nobody saved in between.
	seqNo, primaryTerm *int64
}

// RunSummary describes one finished import run of an entity.
type RunSummary struct {
	// ID is the run's id (the workflow run id).
	ID string `json:"id,omitempty"`
	// Mode is "update" or "rebuild".
	Mode string `json:"mode,omitempty"`
	// Outcome is "complete", or "partial: N records dead-lettered" (activities.Counts.Outcome).
	Outcome      string    `json:"outcome,omitempty"`
	Started      time.Time `json:"started"`
	Finished     time.Time `json:"finished"`
	Read         int       `json:"read"`
	Indexed      int       `json:"indexed"`
	Stale        int       `json:"stale"`
	Deleted      int       `json:"deleted"`
	DeadLettered int       `json:"dead_lettered"`
	Rejected     int       `json:"rejected"`
}

// ErrStateConflict is wrapped by SaveState's error when the state was saved by someone else
// since it was loaded: load it again and reapply the change.
var ErrStateConflict = errors.New("sync state changed since it was loaded")

// LoadState returns e's state, or the zero State for e when there is none (or no state index
// yet).
func (x *Index) LoadState(ctx context.Context, e erp.Entity) (State, error) {
	var out struct {
		Found       bool            `json:"found"`
		SeqNo       int64           `json:"_seq_no"`
		PrimaryTerm int64           `json:"_primary_term"`
		Source      json.RawMessage `json:"_source"`
	}
	err := x.do(ctx, "load sync state of "+string(e), esapi.GetRequest{Index: x.StateIndex(), DocumentID: string(e)}, &out)
	if failure.KindOf(err) == failure.NotFound {
		return State{Entity: e}, nil
	}
	if err != nil {
		return State{}, err
	}
	var s State
	if err := json.Unmarshal(out.Source, &s); err != nil {
		return State{}, failure.E(failure.Invalid, "load sync state of "+string(e), err)
	}
	s.Entity = e
	s.seqNo, s.primaryTerm = &out.SeqNo, &out.PrimaryTerm
	return s, nil
}

// SaveState stores s (for s.Entity); LoadState (a realtime GET) sees it at once, so the save
// does not wait for a refresh (that cost an update run up to the refresh interval, ~0.8 s). When s came from
// LoadState it is written only if nobody saved since; otherwise the error wraps
// ErrStateConflict (kind Other: retry after loading again).
func (x *Index) SaveState(ctx context.Context, s State) error {
	op := "save sync state of " + string(s.Entity)
	if !s.Entity.Valid() {
		return failure.E(failure.Invalid, op, fmt.Errorf("unknown entity %q", s.Entity))
	}
	s.Updated = x.cfg.now().UTC()
	req := esapi.IndexRequest{Index: x.StateIndex(), DocumentID: string(s.Entity), Body: jsonBody(s)}
	if s.seqNo != nil {
		req.IfSeqNo, req.IfPrimaryTerm = intPtr(*s.seqNo), intPtr(*s.primaryTerm)
	}
	err := x.do(ctx, op, req, nil)
	var fe *failure.Error
	if errors.As(err, &fe) && fe.Kind == failure.Invalid {
		var ee *esError
		if errors.As(err, &ee) && ee.Status == 409 {
			return failure.E(failure.Other, op, fmt.Errorf("%w: %v", ErrStateConflict, ee))
		}
	}
	return err
}

func intPtr(v int64) *int { n := int(v); return &n }
