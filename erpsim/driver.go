package erpsim

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/store"
)

// DriverStats counts the change driver's work.
type DriverStats struct {
	Creates     int64 `json:"creates"`
	Edits       int64 `json:"edits"`
	Deletes     int64 `json:"deletes"`
	LateCommits int64 `json:"late_commits"`
	Failed      int64 `json:"failed"` // changes that could not apply (e.g. a key already taken)
}

// Driver makes random changes to the ERP at a set rate: creates, edits and deletes over every
// entity kind of the data model, each in its own transaction, so that ModifiedDateTime moves as
// it does in a live ERP. A share of changes can be late commits (see Faults). Its methods are
// safe for concurrent use.
type Driver struct {
	store  *store.Store
	faults func() Faults
	log    *slog.Logger
	tables []string

	mu   sync.Mutex
	rng  *rand.Rand
	rate float64
	wake chan struct{}

	creates, edits, deletes, late, failed atomic.Int64
	pending                               sync.WaitGroup
}

// NewDriver returns a driver over s making rate changes per second (0: idle until SetRate).
// faults supplies the late-commit settings; it may be nil.
func NewDriver(s *store.Store, seed uint64, rate float64, faults func() Faults, log *slog.Logger) *Driver {
	if faults == nil {
		faults = func() Faults { return Faults{} }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{store: s, faults: faults, log: log, rate: rate, wake: make(chan struct{}, 1),
		rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
	for _, t := range s.Schema().Tables {
		if !t.ReadOnly && t.Name != store.LegalEntities {
			d.tables = append(d.tables, t.Name)
		}
	}
	return d
}

// Rate returns the changes per second.
func (d *Driver) Rate() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rate
}

// SetRate changes the changes per second; 0 pauses the driver.
func (d *Driver) SetRate(rate float64) {
	d.mu.Lock()
	d.rate = max(rate, 0)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counts so far.
func (d *Driver) Stats() DriverStats {
	return DriverStats{Creates: d.creates.Load(), Edits: d.edits.Load(), Deletes: d.deletes.Load(),
		LateCommits: d.late.Load(), Failed: d.failed.Load()}
}

// Run makes changes until ctx is done, then waits for late commits in flight (which give up
// with ctx). It returns nil on cancellation.
func (d *Driver) Run(ctx context.Context) error {
	defer d.pending.Wait()
	next := time.Now()
	for {
		rate := d.Rate()
		if rate <= 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-d.wake:
				next = time.Now()
				continue
			}
		}
		next = next.Add(time.Duration(float64(time.Second) / rate))
		if lag := time.Since(next); lag > time.Second {
			next = time.Now() // do not try to catch up after a stall
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-d.wake:
			t.Stop()
			next = time.Now()
			continue
		case <-t.C:
		}
		if err := d.Step(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("change driver step", "err", err)
		}
	}
}

// change is one planned change.
type change struct {
	op    string // create, edit, delete
	table string
	key   store.Record
	rec   store.Record // the new record or the patch
}

// Step makes one random change now (or, for a late commit, starts it and returns).
func (d *Driver) Step(ctx context.Context) error {
	// A planned create may hit an existing key: plan again a few times.
	for range 3 {
		if err := d.step(ctx); store.KindOf(err) != store.Conflict {
			return err
		}
	}
	d.failed.Add(1)
	return nil
}

func (d *Driver) step(ctx context.Context) error {
	c, err := d.plan(ctx)
	if err != nil || c == nil {
		return err
	}
	apply := func(tx *store.Tx) error {
		switch c.op {
		case "create":
			_, err := tx.Create(c.table, c.rec)
			return err
		case "edit":
			_, err := tx.Update(c.table, c.key, c.rec)
			return err
		}
		return tx.Delete(c.table, c.key)
	}
	count := map[string]*atomic.Int64{"create": &d.creates, "edit": &d.edits, "delete": &d.deletes}[c.op]
	f := d.faults()
	d.mu.Lock()
	late := f.LateCommitShare > 0 && d.rng.Float64() < f.LateCommitShare
	d.mu.Unlock()
	if late {
		d.pending.Add(1)
		go func() {
			defer d.pending.Done()
			if _, err := d.store.WriteLate(ctx, time.Duration(f.LateCommitDelay), apply); err != nil {
				d.failed.Add(1)
				return
			}
			d.late.Add(1)
			count.Add(1)
		}()
		return nil
	}
	if _, err := d.store.Write(ctx, apply); err != nil {
		switch store.KindOf(err) {
		case store.Conflict:
			return err
		case 0:
			d.failed.Add(1)
			return fmt.Errorf("%s %s: %w", c.op, c.table, err)
		}
		d.failed.Add(1)
		return nil // a planned change that no longer fits (a record gone meanwhile)
	}
	count.Add(1)
	return nil
}

func (d *Driver) plan(ctx context.Context) (*change, error) {
	d.mu.Lock()
	table := d.tables[d.rng.IntN(len(d.tables))]
	p := d.rng.Float64()
	d.mu.Unlock()
	t, _ := d.store.Schema().Table(table)
	rec, err := d.random(ctx, table)
	if err != nil || rec == nil {
		return nil, err
	}
	if acct, _ := rec["CustomerAccount"].(string); table == store.Customers && generate.IsTemplate(acct) {
		return nil, nil // a webshop's template customer: the webshops cannot do without it
	}
	key := store.Record{}
	for _, k := range t.Key {
		key[k] = rec[k]
	}
	switch {
	case t.PerCompany:
		// A company's settings are edited, never created or deleted.
	case p < 0.2:
		return &change{op: "delete", table: table, key: key}, nil
	case p < 0.5:
		return d.planCreate(ctx, t, rec)
	}
	return d.planEdit(ctx, t, rec, key)
}

func (d *Driver) random(ctx context.Context, table string) (store.Record, error) {
	d.mu.Lock()
	seed := d.rng.Uint64()
	d.mu.Unlock()
	return d.store.Random(ctx, table, rand.New(rand.NewPCG(seed, seed)))
}

// planCreate copies rec under a new key: a root gets a fresh identifier; a child combines key
// values of two existing records (a translation of one product in another's language), or
// gets a fresh identifier when that combination exists.
func (d *Driver) planCreate(ctx context.Context, t *store.Table, rec store.Record) (*change, error) {
	other, err := d.random(ctx, t.Name)
	if err != nil {
		return nil, err
	}
	n := store.Record{}
	for k, v := range rec {
		n[k] = v
	}
	delete(n, store.FieldModified)
	if t.AutoKey != "" {
		delete(n, t.AutoKey)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	last := ""
	for _, k := range t.Key {
		f, _ := t.Field(k)
		if k == store.FieldCompany || k == t.AutoKey {
			continue
		}
		if f.Type == store.String && f.Enum == nil && rec[k] != "" {
			last = k
		}
		if other != nil && !t.Root && d.rng.IntN(2) == 0 {
			n[k] = other[k]
		}
	}
	if last != "" && (t.Root || d.rng.IntN(3) == 0) {
		n[last] = "N" + strconv.FormatUint(d.rng.Uint64()%1e9, 10)
	}
	return &change{op: "create", table: t.Name, rec: n}, nil
}

func (d *Driver) planEdit(ctx context.Context, t *store.Table, rec, key store.Record) (*change, error) {
	var editable []store.Field
	for _, f := range t.Fields {
		if !t.IsKey(f.Name) && f.Name != store.FieldCompany && f.Name != store.FieldModified {
			editable = append(editable, f)
		}
	}
	if len(editable) == 0 {
		return nil, nil
	}
	d.mu.Lock()
	f := editable[d.rng.IntN(len(editable))]
	var v any
	switch {
	case f.Enum != nil:
		v = f.Enum[d.rng.IntN(len(f.Enum))]
	case f.Type == store.Decimal:
		v = json.Number(fmt.Sprintf("%d.%02d", 1+d.rng.IntN(999), d.rng.IntN(100)))
	case f.Type == store.Int:
		v = int64(d.rng.IntN(100))
	case f.Type == store.Date:
		v = time.Date(2025+d.rng.IntN(3), time.Month(1+d.rng.IntN(12)), 1+d.rng.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	d.mu.Unlock()
	if v == nil {
		// Free text: take the value another record has (a real group id, a real name).
		other, err := d.random(ctx, t.Name)
		if err != nil {
			return nil, err
		}
		s, _ := rec[f.Name].(string)
		if other != nil {
			s2, _ := other[f.Name].(string)
			switch {
			case s2 != s:
				s = s2
			case strings.HasSuffix(f.Name, "CurrencyCode"):
				// D365 checks a currency against its currencies: an edit picks another one.
				s = otherCurrency(s)
			default:
				s += " *"
			}
		}
		v = s
	}
	return &change{op: "edit", table: t.Name, key: key, rec: store.Record{f.Name: v}}, nil
}

// otherCurrency returns an ISO 4217 code other than c, among the simulated companies'.
func otherCurrency(c string) string {
	for _, o := range []string{"USD", "EUR", "GBP"} {
		if o != c {
			return o
		}
	}
	return "USD"
}
