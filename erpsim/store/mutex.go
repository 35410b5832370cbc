package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite's mutexes.
//
// modernc.org/sqlite opens every connection SQLITE_OPEN_FULLMUTEX, so SQLite enters the
// connection's mutex on every call into the library: for a row of 20 fields, 40 to 60 lock
// pairs through modernc.org/libc's pthread mutexes. Serving a rebuild, that was 23% of the
// simulator's CPU. Yet database/sql never uses one connection from two goroutines at once: it
// holds the connection's lock around every call into the driver (modernc.org/sqlite's own
// documentation relies on it). That is SQLite's "multi-thread" mode (SQLITE_OPEN_NOMUTEX, which
// mattn/go-sqlite3 offers as _mutex=no), and there a connection needs no mutex of its own.
//
// The driver gives no way to open a connection without it, so the store installs SQLite's mutex
// implementation itself (sqlite3_config(SQLITE_CONFIG_MUTEX), as modernc.org/sqlite does on the
// systems other than Linux), before SQLite initializes:
//   - the static mutexes (memory, the VFS's list of open files, ...) and the "fast" ones (a
//     file's locks and shared memory, which the connections to one file share) are Go mutexes;
//   - a recursive mutex asked for after initialization is a connection's (SQLite allocates
//     only those then), and it is noMutex, which locks nothing.
//
// sqlite3_interrupt, which modernc.org/sqlite calls from another goroutine to cancel a query,
// takes no mutex in any mode. BenchmarkServeProductPage: 115.7 ms a page of 1,000 products with
// its child collections before, 91.7 ms after.

// mutexConfigErr is what installing the mutexes answered, when this package was initialized.
// If it failed (something initialized SQLite first), SQLite keeps its own mutexes: every
// connection is still safe, only slower. TestSQLiteMutexesAreTheStores checks it.
var mutexConfigErr = installMutexes()

// sqliteMutex is one SQLite mutex. Each may be entered again by the thread that holds it
// (SQLite needs that of recursive ones and may treat fast ones alike). owner is the libc TLS
// (a connection's thread) that holds it, and count how many times.
type sqliteMutex struct {
	mu    sync.Mutex
	owner atomic.Int32
	count int32
}

var (
	// staticMutexes are SQLite's static mutexes, by their SQLITE_MUTEX_STATIC_* number. A
	// package variable does not move, so its address may be handed to SQLite.
	staticMutexes [sqlite3.SQLITE_MUTEX_STATIC_VFS3 + 1]sqliteMutex

	// noMutex is every connection's mutex: entering it does nothing.
	noMutex     sqliteMutex
	noMutexAddr = uintptr(unsafe.Pointer(&noMutex))

	// initialized is set once SQLite is initialized: from then on, the recursive mutexes asked
	// for are connections'. The one asked for before is SQLite's initialization mutex, a real one.
	initialized atomic.Bool
)

// mutexAt is the mutex at the address SQLite holds: C memory or staticMutexes, neither of which
// Go's collector moves or frees. (Reading the number as a pointer is the conversion go vet
// accepts from a uintptr kept outside Go.)
func mutexAt(p uintptr) *sqliteMutex { return *(**sqliteMutex)(unsafe.Pointer(&p)) }

func mutexInit(*libc.TLS) int32 { return sqlite3.SQLITE_OK }

func mutexEnd(*libc.TLS) int32 { return sqlite3.SQLITE_OK }

// mutexAlloc returns noMutex for a connection, a new mutex for the other SQLITE_MUTEX_FAST
// and SQLITE_MUTEX_RECURSIVE (allocated outside Go's heap, freed by mutexFree), and the static
// mutex of the other numbers.
func mutexAlloc(tls *libc.TLS, typ int32) uintptr {
	switch {
	case typ == sqlite3.SQLITE_MUTEX_RECURSIVE && initialized.Load():
		return noMutexAddr
	case typ == sqlite3.SQLITE_MUTEX_FAST || typ == sqlite3.SQLITE_MUTEX_RECURSIVE:
		return libc.Xcalloc(tls, 1, types.Size_t(unsafe.Sizeof(sqliteMutex{})))
	case typ > sqlite3.SQLITE_MUTEX_RECURSIVE && int(typ) < len(staticMutexes):
		return uintptr(unsafe.Pointer(&staticMutexes[typ]))
	}
	return 0
}

// locksNothing reports whether p is no mutex (SQLite passes 0 where it needs none) or noMutex.
func locksNothing(p uintptr) bool { return p == 0 || p == noMutexAddr }

func mutexFree(tls *libc.TLS, p uintptr) {
	if !locksNothing(p) {
		libc.Xfree(tls, p)
	}
}

// enter enters the mutex at p for the thread tls, waiting for it if wait, and reports whether
// it did.
func enter(tls *libc.TLS, p uintptr, wait bool) bool {
	if locksNothing(p) {
		return true
	}
	m := mutexAt(p)
	if m.owner.Load() == tls.ID { // only this thread could have set it
		m.count++
		return true
	}
	if wait {
		m.mu.Lock()
	} else if !m.mu.TryLock() {
		return false
	}
	m.owner.Store(tls.ID)
	m.count = 1
	return true
}

func mutexEnter(tls *libc.TLS, p uintptr) { enter(tls, p, true) }

func mutexTry(tls *libc.TLS, p uintptr) int32 {
	if enter(tls, p, false) {
		return sqlite3.SQLITE_OK
	}
	return sqlite3.SQLITE_BUSY
}

func mutexLeave(tls *libc.TLS, p uintptr) {
	if locksNothing(p) {
		return
	}
	m := mutexAt(p)
	if m.count--; m.count == 0 {
		m.owner.Store(0)
		m.mu.Unlock()
	}
}

// mutexHeld and mutexNotheld serve SQLite's assertions, which only its debug builds check.
func mutexHeld(tls *libc.TLS, p uintptr) int32 {
	if locksNothing(p) {
		return 1
	}
	return libc.Bool32(mutexAt(p).owner.Load() == tls.ID)
}

func mutexNotheld(tls *libc.TLS, p uintptr) int32 {
	if locksNothing(p) {
		return 1
	}
	return libc.Bool32(mutexAt(p).owner.Load() != tls.ID)
}

// cFunc is how modernc.org/sqlite hands a Go function to C code that holds a function pointer.
func cFunc[F any](f F) uintptr { return *(*uintptr)(unsafe.Pointer(&struct{ f F }{f})) }

// mutexMethods is the table handed to sqlite3_config: a package variable, since the call
// holds its address as a number, which Go would not update if the table were on a stack that
// moved.
var mutexMethods sqlite3.Sqlite3_mutex_methods

// installMutexes gives SQLite the mutexes above, then initializes it, so that the one
// recursive mutex it asks for before any connection (its initialization mutex) is a real one.
func installMutexes() error {
	mutexMethods = sqlite3.Sqlite3_mutex_methods{
		FxMutexInit:    cFunc(mutexInit),
		FxMutexEnd:     cFunc(mutexEnd),
		FxMutexAlloc:   cFunc(mutexAlloc),
		FxMutexFree:    cFunc(mutexFree),
		FxMutexEnter:   cFunc(mutexEnter),
		FxMutexTry:     cFunc(mutexTry),
		FxMutexLeave:   cFunc(mutexLeave),
		FxMutexHeld:    cFunc(mutexHeld),
		FxMutexNotheld: cFunc(mutexNotheld),
	}
	tls := libc.NewTLS()
	defer tls.Close()
	fail := func(call string, rc int32) error {
		return fmt.Errorf("sqlite mutexes: %s: %s", call, libc.GoString(sqlite3.Xsqlite3_errstr(tls, rc)))
	}
	// sqlite3_config is variadic: its argument, the table (which it copies), goes in a C va_list.
	va := libc.Xmalloc(tls, types.Size_t(unsafe.Sizeof(uintptr(0))))
	if va == 0 {
		return fmt.Errorf("sqlite mutexes: out of memory")
	}
	defer libc.Xfree(tls, va)
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_MUTEX, libc.VaList(va, uintptr(unsafe.Pointer(&mutexMethods)))); rc != sqlite3.SQLITE_OK {
		return fail("sqlite3_config", rc)
	}
	if rc := sqlite3.Xsqlite3_initialize(tls); rc != sqlite3.SQLITE_OK {
		return fail("sqlite3_initialize", rc)
	}
	initialized.Store(true)
	return nil
}
