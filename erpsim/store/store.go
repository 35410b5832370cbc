// Package store keeps the simulated ERP's records in SQLite: the schema of every collection,
// generic create/read/update/delete and OData queries over it, the ERP's ModifiedDateTime bump
// rules and the deletion log.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver
)

// Record is one row: field name -> value. Values are string (String, Date), int64 (Int),
// json.Number (Decimal, the exact text) and time.Time (DateTime, UTC).
type Record map[string]any

// Store is the simulated ERP's database. It is safe for concurrent use; writes are serialised.
type Store struct {
	db     *sql.DB
	schema *Schema
	clock  *Clock

	writeMu sync.Mutex // one writer at a time, so stamps commit in order except late commits

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared queries by SQL text

	cache queryCache   // pages of queries by equalities: company-wide rows
	reads atomic.Int64 // queries answered from the database (not the cache)

	noBumps, noDeletionLog atomic.Bool // see Behaviour
}

// Behaviour is how the ERP stamps and logs changes. The zero value is an ERP with an add-on
// such as Sana's for D365: a change of a child stamps every root it belongs to (the tables'
// bump rules), and deleting a root writes a DeletedRecords row. Stock D365 F&O does neither: a
// data entity carries only its own table's modified time, and deletes leave no trace that
// OData shows.
type Behaviour struct {
	// NoBumps makes a change stamp only the rows it writes.
	NoBumps bool
	// NoDeletionLog makes deletes write no DeletedRecords row; the collection is not served.
	NoDeletionLog bool
}

// SetBehaviour sets how later changes are stamped and logged.
func (s *Store) SetBehaviour(b Behaviour) {
	s.noBumps.Store(b.NoBumps)
	s.noDeletionLog.Store(b.NoDeletionLog)
}

// Behaviour returns how changes are stamped and logged.
func (s *Store) Behaviour() Behaviour {
	return Behaviour{NoBumps: s.noBumps.Load(), NoDeletionLog: s.noDeletionLog.Load()}
}

// maxStmts bounds the prepared statement cache.
const maxStmts = 512

// maxConns is how many connections a Store on a file has open at most.
const maxConns = 8

// prepared returns a cached prepared statement for a read query. Queries of the same shape
// (the same filter with other values, an "in" list of the same length) share one.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if len(s.stmts) >= maxStmts {
		for k, old := range s.stmts {
			old.Close()
			delete(s.stmts, k)
		}
	}
	s.stmts[query] = st
	return st, nil
}

// Open opens (creating if needed) the database at path; ":memory:" is a private in-memory
// database. The schema is created if missing.
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := path
	memory := path == ":memory:" || path == ""
	if memory {
		dsn = ":memory:"
	} else {
		dsn = "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if memory {
		// Every connection to ":memory:" is its own database: keep exactly one.
		db.SetMaxOpenConns(1)
	} else {
		// As many connections stay open as may be in use: database/sql keeps two idle by
		// default and closes the others as they are put back, so that under concurrent reads it
		// opened connections over and over, and prepared each cached statement again on each
		// (7% of the simulator's CPU in a partitioned rebuild).
		db.SetMaxOpenConns(maxConns)
		db.SetMaxIdleConns(maxConns)
	}
	s := &Store{db: db, schema: NewSchema(), clock: NewClock(), stmts: map[string]*sql.Stmt{}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	last, err := s.maxStamp(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.clock.observe(last)
	if err := s.analyze(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// analyze gives SQLite's planner statistics (sampled, so cheap on large tables): without them
// it answers "ItemNumber in (...) order by key" by walking the primary key through the whole
// company instead of seeking the foreign-key index. A database that has statistics only gets
// them refreshed where they are stale.
func (s *Store) analyze(ctx context.Context) error {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").Scan(&n); err != nil {
		return err
	}
	last := "ANALYZE"
	if n > 0 {
		last = "PRAGMA optimize=0x10002"
	}
	for _, q := range []string{"PRAGMA analysis_limit=1000", last} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	clear(s.stmts)
	s.stmtMu.Unlock()
	return s.db.Close()
}

// Schema returns the collections.
func (s *Store) Schema() *Schema { return s.schema }

// Clock returns the stamp source, to set its skew.
func (s *Store) Clock() *Clock { return s.clock }

// DB returns the underlying database, for bulk loading. Queries answered before are
// forgotten.
func (s *Store) DB() *sql.DB {
	s.cache.invalidate()
	return s.db
}

func quote(name string) string { return `"` + name + `"` }

func (s *Store) migrate(ctx context.Context) error {
	for _, t := range s.schema.Tables {
		var cols []string
		for _, f := range t.Fields {
			typ := "TEXT NOT NULL DEFAULT ''"
			switch f.Type {
			case Int, DateTime:
				typ = "INTEGER NOT NULL DEFAULT 0"
			case Decimal:
				typ = "TEXT NOT NULL DEFAULT '0'"
			}
			cols = append(cols, quote(f.Name)+" "+typ)
		}
		q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s, PRIMARY KEY (%s))",
			quote(t.Name), strings.Join(cols, ", "), quoteList(t.Key))
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	create, _ := s.indexes()
	for _, q := range create {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	return nil
}

// indexes returns the statements that create and drop the secondary indexes: keyset paging by
// (ModifiedDateTime, dataAreaId, key) across companies and (dataAreaId, ModifiedDateTime, key)
// within one, each table's foreign-key indexes, and for a root table (dataAreaId, key,
// ModifiedDateTime): a rebuild splits a company's roots into key ranges at the key k roots from
// its first ($orderby=key, $skip=k, $top=1, among the roots stamped up to the run's bound), and
// this index answers that from its own entries in key order. Without it SQLite took the roots up
// to the bound and sorted them by key, about 20 ms of CPU a boundary at 33,000 roots, and a
// plan of 13 partitions reads 23 boundaries at once.
func (s *Store) indexes() (create, drop []string) {
	for _, t := range s.schema.Tables {
		keyRest := without(t.Key, FieldCompany)
		idx := [][]string{
			append([]string{FieldModified, FieldCompany}, keyRest...),
			append([]string{FieldCompany, FieldModified}, keyRest...),
		}
		if t.Shared { // no company: by (ModifiedDateTime, key) only
			idx = [][]string{append([]string{FieldModified}, keyRest...)}
		}
		idx = append(idx, t.Indexes...)
		if _, ok := keyIndex(t); ok {
			idx = append(idx, append(slices.Clone(t.Key), FieldModified))
		}
		for i, cols := range idx {
			name := quote(indexName(t, i))
			create = append(create, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", name, quote(t.Name), quoteList(cols)))
			drop = append(drop, "DROP INDEX IF EXISTS "+name)
		}
	}
	return create, drop
}

// keyIndex names a root table's index by (dataAreaId, key, ModifiedDateTime), the last of its
// secondary indexes; ok is false for other tables.
func keyIndex(t *Table) (name string, ok bool) {
	if !t.Root || t.Shared || len(t.Key) < 2 || t.Key[0] != FieldCompany {
		return "", false
	}
	return indexName(t, 2+len(t.Indexes)), true
}

// indexName names t's i-th secondary index: the paging indexes first, then t.Indexes, then a
// root's keyIndex.
func indexName(t *Table, i int) string { return fmt.Sprintf("%s_%d", t.Name, i) }

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

func without(list []string, drop string) []string {
	var out []string
	for _, v := range list {
		if v != drop {
			out = append(out, v)
		}
	}
	return out
}

func (s *Store) maxStamp(ctx context.Context) (time.Time, error) {
	var parts []string
	for _, t := range s.schema.Tables {
		parts = append(parts, fmt.Sprintf("SELECT MAX(%s) AS m FROM %s", quote(FieldModified), quote(t.Name)))
	}
	var max int64
	q := "SELECT COALESCE(MAX(m), 0) FROM (" + strings.Join(parts, " UNION ALL ") + ")"
	if err := s.db.QueryRowContext(ctx, q).Scan(&max); err != nil {
		return time.Time{}, fmt.Errorf("read last stamp: %w", err)
	}
	return time.UnixMicro(max).UTC(), nil
}

// Count returns the number of rows of a collection, all companies.
func (s *Store) Count(ctx context.Context, table string) (int64, error) {
	t, ok := s.schema.Table(table)
	if !ok {
		return 0, Errorf(NotFound, "unknown collection %q", table)
	}
	var n int64
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quote(t.Name)).Scan(&n)
	return n, err
}

// Clock hands out ModifiedDateTime stamps: microsecond precision, UTC, strictly increasing
// (max(now+skew, last+1µs)). It is safe for concurrent use.
type Clock struct {
	mu   sync.Mutex
	last time.Time
	skew time.Duration
	now  func() time.Time
}

// NewClock returns a clock reading the system time.
func NewClock() *Clock { return &Clock{now: time.Now} }

// Next returns a new stamp, later than every stamp handed out or observed before.
func (c *Clock) Next() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now().Add(c.skew).UTC().Truncate(time.Microsecond)
	if !t.After(c.last) {
		t = c.last.Add(time.Microsecond)
	}
	c.last = t
	return t
}

// SetSkew sets the offset added to the wall clock (a clock-skew fault). Stamps stay strictly
// increasing even when the skew goes back.
func (c *Clock) SetSkew(d time.Duration) {
	c.mu.Lock()
	c.skew = d
	c.mu.Unlock()
}

// Skew returns the current offset.
func (c *Clock) Skew() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.skew
}

func (c *Clock) observe(t time.Time) {
	c.mu.Lock()
	if t.After(c.last) {
		c.last = t
	}
	c.mu.Unlock()
}

// Kind classifies store errors; the HTTP layer maps kinds to statuses.
type Kind int

// Error kinds.
const (
	Invalid  Kind = iota + 1 // the request is malformed or names unknown fields (400)
	NotFound                 // unknown collection or key (404)
	Conflict                 // the key exists already (409)
)

// Error is a store error with a kind and a message meant for the API client.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns an *Error.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err, or 0 if it is not a store error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
