package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
)

// Random returns a random record of table, or nil if the table is empty. It costs two index
// lookups whatever the table's size (the pick is by rowid, so not exactly uniform after deletes).
func (s *Store) Random(ctx context.Context, table string, rng *rand.Rand) (Record, error) {
	t, err := s.table(table, false)
	if err != nil {
		return nil, err
	}
	var maxID sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(rowid) FROM "+quote(t.Name)).Scan(&maxID); err != nil {
		return nil, fmt.Errorf("random %s: %w", t.Name, err)
	}
	if !maxID.Valid {
		return nil, nil
	}
	id := rng.Int64N(maxID.Int64) + 1
	q := fmt.Sprintf("SELECT %s FROM %s WHERE rowid >= ? ORDER BY rowid LIMIT 1", quoteList(fieldNames(t)), quote(t.Name))
	r, err := scanRecord(s.db.QueryRowContext(ctx, q, id), t)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("random %s: %w", t.Name, err)
	}
	return r, nil
}
