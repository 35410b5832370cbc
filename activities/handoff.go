package activities

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/erpsync/erpsync/erp"
)

// A chunk ends at its page or time bound while its stream goes on, and the next chunk of the
// stream begins where it ended, most often on the same worker a moment later. Without more, the
// read ahead of the ending chunk is thrown away and the next chunk reads that page again before
// it can write anything: about a page's read (two seconds against an ERP that answers in
// 150 ms) in which the stream gives Elasticsearch nothing, at every chunk boundary of every
// partition. So a chunk that ends cleanly hands its read ahead on (handoffs.put), keyed by
// where the next chunk begins, and the next chunk on this worker takes it (handoffs.take). A
// chunk on another worker does not find it and reads the page itself; one not taken within
// handoffTTL is stopped.

// handoffTTL is how long a handed-on read ahead waits for the next chunk.
const handoffTTL = 30 * time.Second

// handoffs are the read aheads handed on by chunks that ended, by stream position. The zero
// value is ready to use; it is safe for concurrent use.
type handoffs struct {
	mu sync.Mutex
	m  map[string]*handoff
}

type handoff struct {
	pages *pager
	sz    *pageSize
	timer *time.Timer
}

// streamKey names the position after in the stream of chunks like in: the same entity, target,
// bound and partition.
func streamKey(in ChunkInput, after erp.Cursor) string {
	b, _ := json.Marshal(struct {
		Entity    erp.Entity     `json:"e"`
		Target    string         `json:"t"`
		Until     time.Time      `json:"u"`
		Partition *erp.Partition `json:"p"`
		After     erp.Cursor     `json:"a"`
	}{in.Entity, in.Target, in.Until, in.Partition, after})
	return string(b)
}

// put keeps pages, whose next page begins at key's position, for the next chunk; sz is the page
// size they are read at.
func (h *handoffs) put(key string, pages *pager, sz *pageSize) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]*handoff{}
	}
	if old, ok := h.m[key]; ok {
		old.timer.Stop()
		go old.pages.stop()
	}
	ho := &handoff{pages: pages, sz: sz}
	ho.timer = time.AfterFunc(handoffTTL, func() {
		h.mu.Lock()
		if h.m[key] == ho {
			delete(h.m, key)
		}
		h.mu.Unlock()
		pages.stop()
	})
	h.m[key] = ho
}

// take returns the read ahead handed on for key's position and its page size; nil when there is
// none.
func (h *handoffs) take(key string) (*pager, *pageSize) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ho, ok := h.m[key]
	if !ok || !ho.timer.Stop() {
		return nil, nil // none, or being stopped
	}
	delete(h.m, key)
	return ho.pages, ho.sz
}
