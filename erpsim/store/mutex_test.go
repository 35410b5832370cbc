package store

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/erpsync/erpsync/erpsim/odata"
)

// The store's mutexes are SQLite's: installed before SQLite initialized, a connection's is
// noMutex, and the others are real.
func TestSQLiteMutexesAreTheStores(t *testing.T) {
	if mutexConfigErr != nil {
		t.Fatalf("installing the mutexes: %v", mutexConfigErr)
	}
	if !initialized.Load() {
		t.Fatal("SQLite was not initialized with the store's mutexes")
	}
	tls := libc.NewTLS()
	defer tls.Close()
	if p := mutexAlloc(tls, sqlite3.SQLITE_MUTEX_RECURSIVE); p != noMutexAddr {
		t.Errorf("a connection's mutex is %#x, want noMutex", p)
	}
	if a, b := mutexAlloc(tls, sqlite3.SQLITE_MUTEX_STATIC_MEM), mutexAlloc(tls, sqlite3.SQLITE_MUTEX_STATIC_MEM); a != b || a == 0 {
		t.Errorf("the static memory mutex is %#x, then %#x: want one address", a, b)
	}
	if p := mutexAlloc(tls, 99); p != 0 {
		t.Errorf("mutex of an unknown kind: %#x, want none", p)
	}
}

// A fast mutex excludes every other thread, and the thread that holds it may enter it again;
// noMutex excludes none.
func TestSQLiteMutexesExclude(t *testing.T) {
	a, b := libc.NewTLS(), libc.NewTLS()
	defer a.Close()
	defer b.Close()
	p := mutexAlloc(a, sqlite3.SQLITE_MUTEX_FAST)
	defer mutexFree(a, p)

	mutexEnter(a, p)
	if rc := mutexTry(a, p); rc != sqlite3.SQLITE_OK {
		t.Fatalf("the holder entering again: %d", rc)
	}
	if mutexHeld(a, p) == 0 || mutexNotheld(b, p) == 0 {
		t.Error("held: want held by a, not by b")
	}
	mutexLeave(a, p)
	if rc := mutexTry(b, p); rc != sqlite3.SQLITE_BUSY {
		t.Errorf("another thread while it is held once more: %d, want SQLITE_BUSY", rc)
	}
	entered := make(chan struct{})
	go func() {
		mutexEnter(b, p)
		mutexLeave(b, p)
		close(entered)
	}()
	mutexLeave(a, p)
	<-entered // b entered once a had left as often as it entered
	if rc := mutexTry(a, p); rc != sqlite3.SQLITE_OK {
		t.Errorf("after b left: %d", rc)
	}
	mutexLeave(a, p)

	mutexEnter(a, noMutexAddr)
	if rc := mutexTry(b, noMutexAddr); rc != sqlite3.SQLITE_OK {
		t.Errorf("noMutex: %d, want SQLITE_OK", rc)
	}
	mutexLeave(a, noMutexAddr)
}

// Readers on every connection of a database file, while a writer renames the products in
// transactions, each see all of them and one transaction's names: the connections share the
// file's locks and its write-ahead log through the mutexes that stay real.
func TestConcurrentReadsSeeWholeTransactions(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "erp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const products, renames = 20, 10
	mustWrite(t, s, func(tx *Tx) error {
		for i := range products {
			if _, err := tx.Create(ReleasedProducts, Record{FieldCompany: "usmf", "ItemNumber": fmt.Sprintf("P%02d", i), "ProductName": "v0"}); err != nil {
				return err
			}
		}
		return nil
	})
	filter, err := odata.ParseFilter("ItemNumber ge 'P'") // a range: read from the file, not the cache
	if err != nil {
		t.Fatal(err)
	}
	q := Query{Table: ReleasedProducts, Company: "usmf", Filter: filter, Select: []string{"ItemNumber", "ProductName"}, Top: -1, PageSize: 1000}

	var done atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, maxConns)
	for range maxConns - 1 {
		wg.Go(func() {
			for !done.Load() {
				page, err := s.Query(ctx, q)
				if err != nil {
					errs <- err
					return
				}
				names := map[any]int{}
				for _, row := range page.Rows {
					names[row[1]]++
				}
				if len(page.Rows) != products || len(names) != 1 {
					errs <- fmt.Errorf("read %d products named %v: want %d of one transaction's name", len(page.Rows), names, products)
					return
				}
				reads.Add(1)
			}
		})
	}
	for reads.Load() == 0 && len(errs) == 0 { // the readers are under way before the writer starts
		runtime.Gosched()
	}
	for v := 1; v <= renames; v++ {
		mustWrite(t, s, func(tx *Tx) error {
			for i := range products {
				if _, err := tx.Update(ReleasedProducts, Record{FieldCompany: "usmf", "ItemNumber": fmt.Sprintf("P%02d", i)}, Record{"ProductName": fmt.Sprintf("v%d", v)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	page, err := s.Query(ctx, q)
	if err != nil || len(page.Rows) != products || page.Rows[0][1] != fmt.Sprintf("v%d", renames) {
		t.Errorf("after the writes: %v, %v", page, err)
	}
}
