package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Loader inserts generated records in bulk: no bump rules, no validation, values given in the
// table's field order (Record representation). Rows are buffered and written many per
// statement; the transaction is committed every batch rows. Not safe for concurrent use.
type Loader struct {
	ctx     context.Context
	s       *Store
	conn    *sql.Conn
	tx      *sql.Tx
	pending map[string][]any // table -> buffered values, len(Fields) per row
	stmts   map[string]*sql.Stmt
	n       int
}

const (
	loadRowsPerStmt = 64      // rows per multi-row INSERT
	loadCommitEvery = 500_000 // rows per transaction
)

// Load runs fn with a Loader, holding the write lock. It is meant for filling an empty store:
// for its duration SQLite skips syncing (synchronous=OFF) and the secondary indexes are dropped,
// to be rebuilt (sorted, much faster than row by row) before Load returns.
func (s *Store) Load(ctx context.Context, fn func(l *Loader) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	defer s.cache.invalidate()
	if err := s.load(ctx, fn); err != nil {
		return err
	}
	last, err := s.maxStamp(ctx)
	if err != nil {
		return err
	}
	s.clock.observe(last)
	return nil
}

func (s *Store) load(ctx context.Context, fn func(l *Loader) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer conn.Close()
	create, drop := s.indexes()
	for _, q := range append([]string{"PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144"}, drop...) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("load: %s: %w", q, err)
		}
	}
	// Rebuild the indexes and restore durability whatever happens.
	defer func() {
		for _, q := range append(create, "PRAGMA synchronous=NORMAL") {
			conn.ExecContext(context.WithoutCancel(ctx), q)
		}
	}()
	l := &Loader{ctx: ctx, s: s, conn: conn, stmts: map[string]*sql.Stmt{}, pending: map[string][]any{}}
	if err := l.begin(); err != nil {
		return err
	}
	if err := fn(l); err != nil {
		l.tx.Rollback()
		return err
	}
	if err := l.commit(); err != nil {
		return err
	}
	// Statistics let the planner pick the foreign-key index for "ItemNumber in (...)" rather
	// than walking the primary key in $orderby order.
	for _, q := range append(create, "PRAGMA analysis_limit=1000", "ANALYZE") {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("load: %s: %w", q, err)
		}
	}
	return nil
}

func (l *Loader) begin() error {
	tx, err := l.conn.BeginTx(l.ctx, nil)
	if err != nil {
		return fmt.Errorf("load: begin: %w", err)
	}
	l.tx, l.n = tx, 0
	return nil
}

// commit writes every buffered row and commits.
func (l *Loader) commit() error {
	for table, vals := range l.pending {
		t, _ := l.s.schema.Table(table)
		for len(vals) > 0 {
			rows := min(len(vals)/len(t.Fields), loadRowsPerStmt)
			if err := l.exec(t, rows, vals[:rows*len(t.Fields)]); err != nil {
				return err
			}
			vals = vals[rows*len(t.Fields):]
		}
		delete(l.pending, table)
	}
	for _, st := range l.stmts {
		st.Close()
	}
	clear(l.stmts)
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("load: commit: %w", err)
	}
	return nil
}

// exec inserts rows rows of t; full-size statements are prepared once per transaction.
func (l *Loader) exec(t *Table, rows int, vals []any) error {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(t.Fields)), ",") + ")"
	q := fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", quote(t.Name), quoteList(fieldNames(t)),
		strings.TrimSuffix(strings.Repeat(row+",", rows), ","))
	var err error
	if rows == loadRowsPerStmt {
		st, ok := l.stmts[t.Name]
		if !ok {
			if st, err = l.tx.PrepareContext(l.ctx, q); err != nil {
				return fmt.Errorf("load %s: %w", t.Name, err)
			}
			l.stmts[t.Name] = st
		}
		_, err = st.ExecContext(l.ctx, vals...)
	} else {
		_, err = l.tx.ExecContext(l.ctx, q, vals...)
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", t.Name, err)
	}
	return nil
}

// Insert adds one record of table; vals are in the table's field order.
func (l *Loader) Insert(table string, vals ...any) error {
	t, ok := l.s.schema.Table(table)
	if !ok {
		return Errorf(NotFound, "unknown collection %q", table)
	}
	if len(vals) != len(t.Fields) {
		return fmt.Errorf("load %s: %d values for %d fields", table, len(vals), len(t.Fields))
	}
	buf := l.pending[table]
	for _, v := range vals {
		buf = append(buf, dbValue(v))
	}
	if len(buf) == loadRowsPerStmt*len(t.Fields) {
		if err := l.exec(t, loadRowsPerStmt, buf); err != nil {
			return err
		}
		buf = buf[:0]
	}
	l.pending[table] = buf
	l.n++
	if l.n >= loadCommitEvery {
		if err := l.commit(); err != nil {
			return err
		}
		return l.begin()
	}
	return nil
}
