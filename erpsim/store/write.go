package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/erpsim/odata"
)

// Tx is a write transaction. Every change in it carries the same ModifiedDateTime, the
// transaction's stamp; roots that a change bumps get that stamp too. A Tx is not safe for
// concurrent use and is only valid inside the function given to Store.Write.
type Tx struct {
	ctx   context.Context
	s     *Store
	tx    *sql.Tx
	stamp time.Time
}

// Stamp returns the transaction's ModifiedDateTime.
func (tx *Tx) Stamp() time.Time { return tx.stamp }

// Write runs fn in a transaction stamped now (see Clock) and commits it if fn returns nil.
// Writers are serialised.
func (s *Store) Write(ctx context.Context, fn func(tx *Tx) error) (time.Time, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	stamp := s.clock.Next()
	return stamp, s.write(ctx, stamp, fn)
}

// WriteLate stamps a transaction now but commits it only after delay, as a long ERP transaction
// does: readers see records stamped in the past appear late. Other writes proceed meanwhile.
// It blocks for delay.
func (s *Store) WriteLate(ctx context.Context, delay time.Duration, fn func(tx *Tx) error) (time.Time, error) {
	stamp := s.clock.Next()
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return stamp, ctx.Err()
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return stamp, s.write(ctx, stamp, fn)
}

func (s *Store) write(ctx context.Context, stamp time.Time, fn func(tx *Tx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{ctx: ctx, s: s, tx: sqlTx, stamp: stamp}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	err = sqlTx.Commit()
	s.cache.invalidate()
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (s *Store) table(name string, writing bool) (*Table, error) {
	t, ok := s.schema.Table(name)
	if !ok {
		return nil, Errorf(NotFound, "unknown collection %q", name)
	}
	if writing && t.ReadOnly {
		return nil, Errorf(Invalid, "%s is read-only", name)
	}
	return t, nil
}

// Get returns the record of table with the given key (every key field set).
func (s *Store) Get(ctx context.Context, table string, key Record) (Record, error) {
	t, err := s.table(table, false)
	if err != nil {
		return nil, err
	}
	return get(ctx, s.db.QueryRowContext, t, key)
}

func get(ctx context.Context, queryRow func(context.Context, string, ...any) *sql.Row, t *Table, key Record) (Record, error) {
	where, args, err := keyWhere(t, key)
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf("SELECT %s FROM %s WHERE %s", quoteList(fieldNames(t)), quote(t.Name), where)
	r, err := scanRecord(queryRow(ctx, q, args...), t)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(NotFound, "no %s record with key (%s)", t.Name, FormatKey(t, key, true))
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t.Name, err)
	}
	return r, nil
}

func fieldNames(t *Table) []string {
	names := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		names[i] = f.Name
	}
	return names
}

func keyWhere(t *Table, key Record) (string, []any, error) {
	var conds []string
	var args []any
	for _, k := range t.Key {
		v, ok := key[k]
		if !ok {
			return "", nil, Errorf(Invalid, "key of %s misses field %q (the key is %s)", t.Name, k, strings.Join(t.Key, ", "))
		}
		f, _ := t.Field(k)
		cv, err := convert(f, v)
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, quote(k)+" = ?")
		args = append(args, toSQL(f, cv))
	}
	if len(key) != len(t.Key) {
		for k := range key {
			if !t.IsKey(k) {
				return "", nil, Errorf(Invalid, "%q is not a key field of %s (the key is %s)", k, t.Name, strings.Join(t.Key, ", "))
			}
		}
	}
	return strings.Join(conds, " AND "), args, nil
}

// keyOf returns the key fields of r.
func keyOf(t *Table, r Record) Record {
	k := make(Record, len(t.Key))
	for _, f := range t.Key {
		k[f] = r[f]
	}
	return k
}

// FormatKey writes a record's key as in a URL: dataAreaId='usmf',ItemNumber='1000'. Without
// withCompany, dataAreaId is left out (the DeletedRecords RecordKey form).
func FormatKey(t *Table, r Record, withCompany bool) string {
	var parts []string
	for _, k := range t.Key {
		if k == FieldCompany && !withCompany {
			continue
		}
		switch v := r[k].(type) {
		case string:
			parts = append(parts, k+"="+odata.QuoteString(v))
		case int64:
			parts = append(parts, k+"="+strconv.FormatInt(v, 10))
		default:
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, ",")
}

// convert checks a value given by a client (JSON decoded with UseNumber, or Go values) against
// field f and returns its Record representation.
func convert(f Field, v any) (any, error) {
	bad := func(want string) error {
		return Errorf(Invalid, "field %q: %v is not %s", f.Name, jsonText(v), want)
	}
	switch f.Type {
	case String:
		s, ok := v.(string)
		if !ok {
			return nil, bad("a string")
		}
		if f.Enum != nil && !slices.Contains(f.Enum, s) {
			return nil, Errorf(Invalid, "field %q: %q is not one of %s", f.Name, s, strings.Join(f.Enum, ", "))
		}
		if f.Name == FieldCompany {
			s = strings.ToLower(s)
		}
		return s, nil
	case Int:
		switch n := v.(type) {
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		case json.Number:
			if i, err := n.Int64(); err == nil {
				return i, nil
			}
		}
		return nil, bad("an integer")
	case Decimal:
		d, err := ParseDecimal(v)
		if err != nil {
			return nil, Errorf(Invalid, "field %q: %v", f.Name, err)
		}
		return d, nil
	case Date:
		s, ok := v.(string)
		if !ok {
			return nil, bad("a date (YYYY-MM-DD)")
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return nil, bad("a date (YYYY-MM-DD)")
		}
		return s, nil
	case DateTime:
		switch t := v.(type) {
		case time.Time:
			return t.UTC().Truncate(time.Microsecond), nil
		case string:
			tt, err := odata.ParseDateTime(t)
			if err != nil {
				return nil, bad("a date-time")
			}
			return tt.Truncate(time.Microsecond), nil
		}
		return nil, bad("a date-time")
	}
	return nil, bad("valid")
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// zero returns the value a create gives a field it does not set.
func zero(f Field) any {
	if f.Default != nil {
		return f.Default
	}
	switch f.Type {
	case Int:
		return int64(0)
	case Decimal:
		return json.Number("0")
	case Date:
		if strings.HasSuffix(f.Name, "ToDate") {
			return NoDateTo
		}
		return NoDateFrom
	case DateTime:
		return time.Unix(0, 0).UTC()
	}
	if f.Enum != nil {
		return f.Enum[0]
	}
	return ""
}

// optionalKeys are key fields that may be empty (unused variant dimensions).
var optionalKeys = variantDims

// Create inserts a record and returns it as stored. Missing fields get their zero value,
// a missing dataAreaId the default company, a missing auto key the next number.
// ModifiedDateTime is the transaction's stamp; a supplied one is ignored.
func (tx *Tx) Create(table string, in Record) (Record, error) {
	t, err := tx.s.table(table, true)
	if err != nil {
		return nil, err
	}
	return tx.create(t, in)
}

func (tx *Tx) create(t *Table, in Record) (Record, error) {
	r := make(Record, len(t.Fields))
	for name, v := range in {
		f, ok := t.Field(name)
		if !ok {
			return nil, Errorf(Invalid, "unknown field %q: %s has no such field", name, t.Name)
		}
		if name == FieldModified {
			continue
		}
		cv, err := convert(f, v)
		if err != nil {
			return nil, err
		}
		r[name] = cv
	}
	if t.Name == LegalEntities {
		if id, ok := r["LegalEntityId"].(string); ok {
			r["LegalEntityId"] = strings.ToLower(id)
			r[FieldCompany] = strings.ToLower(id)
		}
	}
	if _, ok := r[FieldCompany]; !ok && !t.Shared {
		r[FieldCompany] = DefaultCompany
	}
	if t.PerCompany {
		// A parameter table's own key (D365's ParametersKey) is the constant 0.
		for _, k := range t.Key {
			if f, _ := t.Field(k); k != FieldCompany && f.Type == Int {
				r[k] = int64(0)
			}
		}
	}
	if t.AutoKey != "" {
		if n, _ := r[t.AutoKey].(int64); n == 0 {
			var next int64
			q := fmt.Sprintf("SELECT COALESCE(MAX(%s), 0) + 1 FROM %s", quote(t.AutoKey), quote(t.Name))
			if err := tx.tx.QueryRowContext(tx.ctx, q).Scan(&next); err != nil {
				return nil, fmt.Errorf("next %s: %w", t.AutoKey, err)
			}
			r[t.AutoKey] = next
		}
	}
	for field, from := range t.FillFrom {
		if v, _ := r[field].(string); v == "" {
			r[field] = r[from]
		}
	}
	for _, k := range t.Key {
		if v, ok := r[k]; (!ok || v == "") && !slices.Contains(optionalKeys, k) {
			return nil, Errorf(Invalid, "key field %q of %s is missing or empty", k, t.Name)
		}
	}
	for _, f := range t.Fields {
		if _, ok := r[f.Name]; !ok {
			r[f.Name] = zero(f)
		}
	}
	r[FieldModified] = tx.stamp
	if err := tx.insert(t, r); err != nil {
		return nil, err
	}
	if err := tx.bump(t, nil, r); err != nil {
		return nil, err
	}
	return r, nil
}

func (tx *Tx) insert(t *Table, r Record) error {
	args := make([]any, len(t.Fields))
	for i, f := range t.Fields {
		args[i] = dbValue(r[f.Name])
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", quote(t.Name), quoteList(fieldNames(t)),
		strings.TrimSuffix(strings.Repeat("?,", len(args)), ","))
	if _, err := tx.tx.ExecContext(tx.ctx, q, args...); err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed") {
			return Errorf(Conflict, "a %s record with key (%s) exists already", t.Name, FormatKey(t, r, true))
		}
		return fmt.Errorf("insert %s: %w", t.Name, err)
	}
	return nil
}

// Get reads a record inside the transaction.
func (tx *Tx) Get(table string, key Record) (Record, error) {
	t, err := tx.s.table(table, false)
	if err != nil {
		return nil, err
	}
	return get(tx.ctx, tx.tx.QueryRowContext, t, key)
}

// Update merges patch into the record with the given key (PATCH semantics) and returns the
// result. Key fields may appear in patch only with their current value; ModifiedDateTime is
// ignored.
func (tx *Tx) Update(table string, key, patch Record) (Record, error) {
	t, err := tx.s.table(table, true)
	if err != nil {
		return nil, err
	}
	old, err := get(tx.ctx, tx.tx.QueryRowContext, t, key)
	if err != nil {
		return nil, err
	}
	r := make(Record, len(old))
	for k, v := range old {
		r[k] = v
	}
	var sets []string
	var args []any
	for name, v := range patch {
		f, ok := t.Field(name)
		if !ok {
			return nil, Errorf(Invalid, "unknown field %q: %s has no such field", name, t.Name)
		}
		if name == FieldModified {
			continue
		}
		cv, err := convert(f, v)
		if err != nil {
			return nil, err
		}
		if t.IsKey(name) || (t.Name == LegalEntities && name == FieldCompany) {
			if toSQL(f, cv) != toSQL(f, old[name]) {
				return nil, Errorf(Invalid, "key field %q cannot be changed", name)
			}
			continue
		}
		r[name] = cv
		sets = append(sets, quote(name)+" = ?")
		args = append(args, dbValue(cv))
	}
	// A late commit must never move a stamp back.
	if stamp := old[FieldModified].(time.Time); tx.stamp.After(stamp) {
		r[FieldModified] = tx.stamp
	}
	sets = append(sets, quote(FieldModified)+" = ?")
	args = append(args, r[FieldModified].(time.Time).UnixMicro())
	where, wargs, err := keyWhere(t, keyOf(t, old))
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf("UPDATE %s SET %s WHERE %s", quote(t.Name), strings.Join(sets, ", "), where)
	if _, err := tx.tx.ExecContext(tx.ctx, q, append(args, wargs...)...); err != nil {
		return nil, fmt.Errorf("update %s: %w", t.Name, err)
	}
	if err := tx.bump(t, old, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Delete removes the record with the given key and, by the table's cascades, its children.
// Deleting a root writes a DeletedRecords row.
func (tx *Tx) Delete(table string, key Record) error {
	t, err := tx.s.table(table, true)
	if err != nil {
		return err
	}
	old, err := get(tx.ctx, tx.tx.QueryRowContext, t, key)
	if err != nil {
		return err
	}
	return tx.delete(t, old)
}

func (tx *Tx) delete(t *Table, old Record) error {
	if err := tx.bump(t, old, nil); err != nil {
		return err
	}
	for _, c := range t.Cascades {
		child, _ := tx.s.schema.Table(c.Child)
		conds := []string{quote(FieldCompany) + " = ?"}
		args := []any{old[FieldCompany]}
		for _, l := range c.On {
			conds = append(conds, quote(l.To)+" = ?")
			args = append(args, old[l.From])
		}
		q := fmt.Sprintf("SELECT %s FROM %s WHERE %s", quoteList(fieldNames(child)), quote(child.Name), strings.Join(conds, " AND "))
		rows, err := tx.tx.QueryContext(tx.ctx, q, args...)
		if err != nil {
			return fmt.Errorf("cascade %s: %w", child.Name, err)
		}
		var kids []Record
		for rows.Next() {
			raw := make([]any, len(child.Fields))
			ptrs := make([]any, len(raw))
			for i := range raw {
				ptrs[i] = &raw[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return fmt.Errorf("cascade %s: %w", child.Name, err)
			}
			r := Record{}
			for i, f := range child.Fields {
				r[f.Name] = fromSQL(f, raw[i])
			}
			kids = append(kids, r)
		}
		rows.Close()
		for _, k := range kids {
			if err := tx.delete(child, k); err != nil {
				return err
			}
		}
	}
	where, args, err := keyWhere(t, keyOf(t, old))
	if err != nil {
		return err
	}
	if _, err := tx.tx.ExecContext(tx.ctx, fmt.Sprintf("DELETE FROM %s WHERE %s", quote(t.Name), where), args...); err != nil {
		return fmt.Errorf("delete %s: %w", t.Name, err)
	}
	if t.Root && !tx.s.noDeletionLog.Load() {
		dt, _ := tx.s.schema.Table(DeletedRecords)
		if _, err := tx.create(dt, Record{
			FieldCompany:      old[FieldCompany],
			"EntityName":      t.Name,
			"RecordKey":       FormatKey(t, old, false),
			"DeletedDateTime": tx.stamp,
		}); err != nil {
			return err
		}
	}
	return nil
}

// bump applies t's bump rules to a change from old to new (nil for a create or a delete).
func (tx *Tx) bump(t *Table, old, new Record) error {
	if tx.s.noBumps.Load() {
		return nil
	}
	for _, b := range t.Bumps {
		if old != nil && new != nil && len(b.IfChanged) > 0 {
			changed := false
			for _, f := range b.IfChanged {
				changed = changed || old[f] != new[f]
			}
			if !changed {
				continue
			}
		}
		for _, r := range []Record{old, new} {
			if r == nil || (b.When != nil && !b.When(r)) {
				continue
			}
			if err := tx.bumpRoots(b, r, t.Shared); err != nil {
				return err
			}
		}
	}
	return nil
}

// bumpRoots stamps the roots rule b names for record r: those of r's company, or of every
// company when r's table is shared (it has no company).
func (tx *Tx) bumpRoots(b Bump, r Record, shared bool) error {
	stamp := tx.stamp.UnixMicro()
	conds := []string{quote(FieldModified) + " < ?"}
	args := []any{stamp, stamp}
	if !shared {
		conds = append(conds, quote(FieldCompany)+" = ?")
		args = append(args, r[FieldCompany])
	}
	for _, l := range b.On {
		conds = append(conds, quote(l.To)+" = ?")
		args = append(args, r[l.From])
	}
	if v := b.Via; v != nil {
		// (A shared table's rules name their roots by On: its rows have no company to go
		// through a company's link table in.)
		sub := []string{quote(FieldCompany) + " = ?"}
		args = append(args, r[FieldCompany])
		for _, l := range v.On {
			sub = append(sub, quote(l.To)+" = ?")
			args = append(args, r[l.From])
		}
		conds = append(conds, fmt.Sprintf("%s IN (SELECT %s FROM %s WHERE %s)",
			quote(v.RootOn), quote(v.Select), quote(v.Table), strings.Join(sub, " AND ")))
	}
	q := fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s", quote(b.Root), quote(FieldModified), strings.Join(conds, " AND "))
	if _, err := tx.tx.ExecContext(tx.ctx, q, args...); err != nil {
		return fmt.Errorf("bump %s: %w", b.Root, err)
	}
	return nil
}
