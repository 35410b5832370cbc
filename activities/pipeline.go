package activities

import (
	"math"
	"math/rand/v2"
	"time"
)

// writeDepth is how many page writes a chunk has in flight: two, so that the next page's bulk
// request is on its way while Elasticsearch acknowledges the one before it (one at a time left
// Elasticsearch idle for about a tenth of a rebuild, between one page's bulk and the next).
const writeDepth = 2

// pageWrite is the outcome of one page's write.
type pageWrite struct {
	page   page
	counts Counts
	err    error
}

// pageWrites are a chunk's page writes in flight, oldest first. Its owner, the chunk's loop,
// takes their outcomes in page order; it is not safe for concurrent use.
type pageWrites struct{ q []chan pageWrite }

func (w *pageWrites) len() int { return len(w.q) }

// submit starts writing p with write.
func (w *pageWrites) submit(p page, write func(page) (Counts, error)) {
	ch := make(chan pageWrite, 1)
	go func() {
		c, err := write(p)
		ch <- pageWrite{page: p, counts: c, err: err}
	}()
	w.q = append(w.q, ch)
}

// next waits for the oldest write and returns its outcome.
func (w *pageWrites) next() pageWrite {
	r := <-w.q[0]
	w.q = w.q[1:]
	return r
}

// drop waits for every write in flight and forgets their outcomes: their pages are read again.
func (w *pageWrites) drop() {
	for _, ch := range w.q {
		<-ch
	}
	w.q = nil
}

// rampStart is the size of the first page a rebuild's stream reads (startPager), given u, a
// number drawn in [0, 1): between an eighth of the page size (u = 0: 125, 250 and 500 roots,
// then 1,000 on the fourth page) and the full size, evenly on a log scale. The partitions of a
// rebuild start together; with one first size they read their pages of 125, 250 and 500 roots
// in step, the simulator and the worker sharing one CPU among them, and Elasticsearch got them
// in bursts, with gaps between: measured at 150 ms a request, 100,000 products, 13 partitions,
// 3 runs each, it was idle 4.2 to 4.7 s of the rebuild with one first size and 3.3 to 4.1 s
// with drawn ones. Pages under 256 roots are read whole from the start: they are read fast
// anyway.
func rampStart(pageSize int, u float64) int {
	if pageSize < 256 {
		return 0
	}
	return int(float64(pageSize/8) * math.Pow(8, u))
}

// stagger returns a partition's chunk duration: d, a quarter longer or shorter at random.
// Partitions start together; with chunks of one length they would all end their chunks at
// once, every d, and leave Elasticsearch without pages while the workflow starts the next ones.
// A chunk of one stream (not partitioned) keeps d.
func stagger(d time.Duration, partitioned bool) time.Duration {
	if !partitioned {
		return d
	}
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}
