package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Loader inserts generated records in bulk: no bump rules, no validation, values given in the
// table's field order (Record representation). It commits every batch rows. Not safe for
// concurrent use.
type Loader struct {
	ctx   context.Context
	s     *Store
	conn  *sql.Conn
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	n     int
	batch int
}

// Load runs fn with a Loader, holding the write lock, with SQLite tuned for bulk inserts
// (synchronous=OFF) for its duration.
func (s *Store) Load(ctx context.Context, fn func(l *Loader) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
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
	for _, p := range []string{"PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("load: %s: %w", p, err)
		}
	}
	defer conn.ExecContext(context.Background(), "PRAGMA synchronous=NORMAL")
	l := &Loader{ctx: ctx, s: s, conn: conn, batch: 200_000}
	if err := l.begin(); err != nil {
		return err
	}
	if err := fn(l); err != nil {
		l.tx.Rollback()
		return err
	}
	return l.commit()
}

func (l *Loader) begin() error {
	tx, err := l.conn.BeginTx(l.ctx, nil)
	if err != nil {
		return fmt.Errorf("load: begin: %w", err)
	}
	l.tx, l.stmts, l.n = tx, map[string]*sql.Stmt{}, 0
	return nil
}

func (l *Loader) commit() error {
	for _, st := range l.stmts {
		st.Close()
	}
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("load: commit: %w", err)
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
	st, ok := l.stmts[table]
	if !ok {
		q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", quote(t.Name), quoteList(fieldNames(t)),
			strings.TrimSuffix(strings.Repeat("?,", len(t.Fields)), ","))
		var err error
		if st, err = l.tx.PrepareContext(l.ctx, q); err != nil {
			return fmt.Errorf("load %s: %w", table, err)
		}
		l.stmts[table] = st
	}
	for i := range vals {
		vals[i] = dbValue(vals[i])
	}
	if _, err := st.ExecContext(l.ctx, vals...); err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	l.n++
	if l.n >= l.batch {
		if err := l.commit(); err != nil {
			return err
		}
		return l.begin()
	}
	return nil
}
