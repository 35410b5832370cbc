package store

import "slices"

// Type is the type of a field, as OData and SQLite see it.
type Type int

// Field types. Every field is NOT NULL: empty strings, zero numbers and D365's "no date" stand
// for absent values, as in D365.
const (
	String   Type = iota // Edm.String, stored TEXT
	Int                  // Edm.Int32/Int64, stored INTEGER
	Decimal              // Edm.Decimal, stored TEXT holding the exact decimal as written
	Date                 // Edm.Date, stored TEXT YYYY-MM-DD (sorts as text)
	DateTime             // Edm.DateTimeOffset, stored INTEGER microseconds since the Unix epoch, UTC
)

func (t Type) String() string {
	return [...]string{"string", "integer", "decimal", "date", "date-time"}[t]
}

// Field is a column of a collection.
type Field struct {
	Name string
	Type Type
	// Enum lists the allowed values of an enum field (OData enums are strings); nil for free text.
	Enum []string
	// Default, if not nil, is the value a create gives the field when it leaves it out, in the
	// Record representation; nil takes the type's zero (see zero).
	Default any
}

// Link maps a field of a record to a field of another table (the same company is implied).
type Link struct {
	From string // field of the changed record
	To   string // field of the other table
}

// Bump says which root records a change of a record of this table touches. The roots get the
// change's ModifiedDateTime, in the change's transaction.
//
// Without Via, the roots are the rows of Root whose fields match On (all the company's roots if
// On is empty). With Via, they are the rows of Root whose Via.Select value is among the Via.Table
// rows matching Via.On; this is how a category edit reaches the products assigned to it.
type Bump struct {
	Root string
	On   []Link
	Via  *Via
	// When, if set, limits the rule to records it accepts.
	When func(r Record) bool
	// IfChanged, if set, limits the rule on updates to those that change one of these fields.
	// Creates and deletes always apply.
	IfChanged []string
}

// Via is an indirect bump through a link table.
type Via struct {
	Table  string
	On     []Link // record field -> link table field
	Select string // link table field that holds the root key
	RootOn string // root field it matches
}

// Cascade deletes the rows of Child whose fields match On when a record is deleted. Child rows go
// through the normal delete (their bump rules and deletion log apply).
type Cascade struct {
	Child string
	On    []Link
}

// Table describes one collection.
type Table struct {
	Name string
	// Key lists the key fields in URL order (dataAreaId first where it is part of the key).
	Key []string
	// Fields lists every field in output order, including dataAreaId and ModifiedDateTime.
	Fields []Field
	// Root tables are what the webshop indexes; deleting a root writes DeletedRecords.
	Root bool
	// ReadOnly tables reject writes through the API (the deletion log).
	ReadOnly bool
	Bumps    []Bump
	Cascades []Cascade
	// Indexes lists extra secondary indexes (beyond the key and the paging indexes).
	Indexes [][]string
	// AutoKey names an integer key field that is assigned (max+1 per table) when a create omits it.
	AutoKey string
	// PerCompany tables hold one row per company (key dataAreaId and a constant): settings that are edited,
	// never created or deleted after the company (the change driver only edits them).
	PerCompany bool
	// Shared tables belong to no company: they have no dataAreaId field, every request sees every
	// row (cross-company or not), and their bump rules reach roots in every company. D365 keeps
	// product data such as product-specific unit conversions on the shared product (EcoResProduct),
	// not per legal entity.
	Shared bool
	// FillFrom maps a field to another field of the record whose value a create gives it when the
	// create leaves it empty (a released product's ProductNumber is its ItemNumber unless given).
	FillFrom map[string]string

	fieldIndex map[string]int
}

// Field returns the named field.
func (t *Table) Field(name string) (Field, bool) {
	i, ok := t.fieldIndex[name]
	if !ok {
		return Field{}, false
	}
	return t.Fields[i], true
}

// IsKey reports whether name is a key field.
func (t *Table) IsKey(name string) bool { return slices.Contains(t.Key, name) }

// Schema is the set of collections.
type Schema struct {
	Tables []*Table
	byName map[string]*Table
}

// Table returns the named collection.
func (s *Schema) Table(name string) (*Table, bool) {
	t, ok := s.byName[name]
	return t, ok
}

func newSchema(tables ...*Table) *Schema {
	s := &Schema{Tables: tables, byName: map[string]*Table{}}
	for _, t := range tables {
		t.fieldIndex = map[string]int{}
		for i, f := range t.Fields {
			t.fieldIndex[f.Name] = i
		}
		s.byName[t.Name] = t
	}
	return s
}
