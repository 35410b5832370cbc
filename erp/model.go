package erp

import "slices"

// This file is the ERP model as data: every collection erpsync reads, its key, and how its rows
// reach the root records that search documents are built from. The OData reader (erp/d365), the
// change detection, the deletion handling, the audit and the activities iterate it; adding a
// collection is a declaration here, a reader of its fields in erp/d365, a field of the document
// and a test. docs/erp-model.md describes the same collections for people.

// D365's public collection names, the defaults of the connector's configuration
// (d365.Names.Collections renames them for an environment that differs).
const (
	ReleasedProducts             = "ReleasedProductsV2"
	ProductMasterDimensionValues = "ProductMasterDimensionValues"
	ReleasedProductVariants      = "ReleasedProductVariantsV2"
	ProductTranslations          = "ProductTranslations"
	ProductAttachments           = "ProductAttachments"
	ProductCategories            = "ProductCategories"
	ProductCategoryAssignments   = "ProductCategoryAssignments"
	RelatedProducts              = "RelatedProducts"
	ProductBarcodes              = "ProductBarcodes"
	ItemDefaultOrderSettings     = "ItemDefaultOrderSettings"
	// ProductUnitOfMeasureConversions are the product-specific unit conversions
	// (EcoResProductSpecificUnitOfMeasureConversionEntity), rows of the shared product.
	ProductUnitOfMeasureConversions = "ProductUnitOfMeasureConversions"
	SalesPriceAgreements            = "SalesPriceAgreements"
	SalesLineDiscountAgreements     = "SalesLineDiscountAgreements"
	PriceParameters                 = "PriceParameters"
	CustomersV3                     = "CustomersV3"
	CustomerPostalAddresses         = "CustomerPostalAddresses"
	ContactPersonsV2                = "ContactPersonsV2"
	SalesRepresentatives            = "SalesRepresentatives"
	CommissionSalesGroups           = "CommissionSalesGroups"
	CommissionSalesRepresentatives  = "CommissionSalesRepresentatives"
	LegalEntities                   = "LegalEntities"
	DeletedRecords                  = "DeletedRecords"
)

// Fields every collection carries (dataAreaId all but those of a Shared child).
const (
	FieldCompany  = "dataAreaId"
	FieldModified = "ModifiedDateTime"
)

// Link says that a child row belongs to the roots whose field To (the root's key when To is "")
// equals the row's From field: in the row's company, or in every company for a Shared child.
type Link struct {
	From string
	// To is a field of the root's collection; "" is the root's key.
	To string
}

// RootField returns the field of r that l links to: To, or r's key.
func (l *Link) RootField(r *Root) string {
	if l.To == "" {
		return r.Key
	}
	return l.To
}

// Via says that a child row reaches its roots through the rows of another child of the same
// root: the rows of Child whose To field equals this row's From field. A category reaches its
// products through their assignments (From CategoryId, To CategoryId); a customer reaches the
// sales representatives of its sales group through their memberships (From
// CommissionSalesGroupId, To GroupId).
type Via struct {
	Child    string
	From, To string
}

// Cond is a condition on a row: its string field Field has one of Values.
type Cond struct {
	Field  string
	Values []string
}

// Match reports whether a row whose field Field is v meets the condition.
func (c *Cond) Match(v string) bool { return slices.Contains(c.Values, v) }

// is returns the condition that field is one of values.
func is(field string, values ...string) *Cond { return &Cond{Field: field, Values: values} }

// Child is a collection whose rows become part of a root's document.
//
// Exactly one of Link, Via and CompanyWide says which roots a row belongs to. When, if set,
// selects the rows of the collection that are this child; a collection may appear as several
// children of one root with disjoint conditions (it is still read once for change detection).
type Child struct {
	// Name identifies the child in the model, logs and sync state ("translations").
	Name string
	// Collection is D365's name of the collection.
	Collection string
	// Key lists the key fields after dataAreaId.
	Key []string
	// Numeric lists the key fields that are numbers (their literals are not quoted).
	Numeric []string
	Link    *Link
	Via     *Via
	// CompanyWide rows belong to every root of their company.
	CompanyWide bool
	// Shared rows belong to no company: the collection has no dataAreaId (D365 keeps such data
	// on the shared product, EcoResProduct, rather than per legal entity), and a row belongs to
	// the roots of every company whose Link.To field equals its Link.From. Shared requires Link.
	Shared bool
	When   *Cond
	// Moves is true when a row can change the root it belongs to (its link field is not part of
	// its key: a bar code moved to another item). Change detection then also asks the index
	// which documents hold the row (Indexed) and re-reads them.
	Moves bool
	// Indexed names the keyword field of the root's document that holds this child's key values,
	// for finding the documents a changed, moved or deleted row was part of; "" when there is
	// none.
	Indexed string
	// Select lists the fields the reader needs; nil reads every field.
	Select []string
}

// Root is a root collection: one search document per row, built from the row and its children.
type Root struct {
	Entity     Entity
	Collection string
	// Key is the root's key field after dataAreaId (every root here has one).
	Key string
	// NumericKey is true when Key is a number (its literals are not quoted).
	NumericKey bool
	// When, if set, selects the rows of the collection that are roots of this entity (the line
	// discounts for item groups and all items; those for one item are a child of the product).
	// A row that stops matching it (its ItemCode edited) is no longer a root: readers report it
	// as gone (Page.Gone), so that its document is deleted.
	When     *Cond
	Children []Child
}

// Child returns the root's child named name.
func (r *Root) Child(name string) (*Child, bool) {
	for i := range r.Children {
		if r.Children[i].Name == name {
			return &r.Children[i], true
		}
	}
	return nil, false
}

// Collections returns the root's collection and every child's collection, each once, in model
// order.
func (r *Root) Collections() []string {
	out := []string{r.Collection}
	seen := map[string]bool{r.Collection: true}
	for _, c := range r.Children {
		if !seen[c.Collection] {
			seen[c.Collection] = true
			out = append(out, c.Collection)
		}
	}
	return out
}

// Model returns the root declaration of e; ok is false for an unknown entity.
func Model(e Entity) (r *Root, ok bool) {
	for i := range model {
		if model[i].Entity == e {
			return &model[i], true
		}
	}
	return nil, false
}

// Roots returns every root declaration, in Entities order. Callers must not modify them.
func Roots() []Root { return model }

// RootOfCollection returns the root whose collection is name (D365's name).
func RootOfCollection(name string) (*Root, bool) {
	for i := range model {
		if model[i].Collection == name {
			return &model[i], true
		}
	}
	return nil, false
}

// ActivationFields are the fields of PriceParameters (D365's table behind "Activate
// price/discount") that activate one relation of the sales price and line discount search each,
// in D365's search order (docs/pricing.md).
var ActivationFields = []string{
	"SalesPriceAccountItem", "SalesPriceGroupItem", "SalesPriceAllItem",
	"SalesLineAccountItem", "SalesLineAccountGroup", "SalesLineAccountAll",
	"SalesLineGroupItem", "SalesLineGroupGroup", "SalesLineGroupAll",
	"SalesLineAllItem", "SalesLineAllGroup", "SalesLineAllAll",
}

// The variant dimension fields, in D365's key order.
var variantDimensions = []string{"ProductColorId", "ProductConfigurationId", "ProductSizeId", "ProductStyleId"}

func item(name, coll string, key ...string) Child {
	return Child{Name: name, Collection: coll, Key: key, Link: &Link{From: "ItemNumber"}}
}

var model = []Root{
	// Company-wide and group-wide data, stored once per company and joined by the storefront at
	// query time: the category tree with each category's visibility, the line discounts for an
	// item discount group or all items, and the trade agreement activation. A change to one of
	// them writes its own document, not the products it concerns.
	{Entity: Categories, Collection: ProductCategories, Key: "CategoryId"},
	{Entity: LineDiscounts, Collection: SalesLineDiscountAgreements, Key: "RecordId", NumericKey: true,
		When: is("ItemCode", "GroupId", "All")},
	// PriceParameters is a parameter table: one row per company, keyed by its Key field (always
	// 0, D365's ParametersKey) besides dataAreaId.
	{Entity: Activations, Collection: PriceParameters, Key: "Key", NumericKey: true},
	{
		Entity: Products, Collection: ReleasedProducts, Key: "ItemNumber",
		Children: []Child{
			{Name: "dimension-values", Collection: ProductMasterDimensionValues,
				Key:  []string{"ProductMasterNumber", "ProductDimension", "DimensionValueId"},
				Link: &Link{From: "ProductMasterNumber"}},
			item("variants", ReleasedProductVariants, append([]string{"ItemNumber"}, variantDimensions...)...),
			item("translations", ProductTranslations, "ItemNumber", "LanguageId"),
			item("attachments", ProductAttachments, "ItemNumber", "AttachmentId"),
			// The ids of the product's categories; the categories themselves (names, tree,
			// visibility) are the Categories root.
			item("category-assignments", ProductCategoryAssignments, "ItemNumber", "CategoryId"),
			item("related", RelatedProducts, "ItemNumber", "RelatedItemNumber", "RelationType"),
			func() Child {
				c := item("barcodes", ProductBarcodes, "Barcode")
				c.Moves, c.Indexed = true, "barcodes"
				return c
			}(),
			item("order-settings", ItemDefaultOrderSettings, "ItemNumber"),
			// Product-specific unit conversions are the shared product's, not the company's (the
			// entity has no dataAreaId; docs/erp-model.md): a row reaches the released product of
			// every company whose ProductNumber is its own.
			{Name: "unit-conversions", Collection: ProductUnitOfMeasureConversions,
				Key:  []string{"FromUnitSymbol", "ToUnitSymbol", "ProductNumber"},
				Link: &Link{From: "ProductNumber", To: "ProductNumber"}, Shared: true},
			// Sales prices are item specific in D365 (docs/pricing.md).
			func() Child {
				c := item("prices", SalesPriceAgreements, "RecordId")
				c.Numeric, c.When, c.Moves, c.Indexed = []string{"RecordId"}, is("ItemCode", "Table"), true, "prices.rec_id"
				return c
			}(),
			// The item's own line discounts; those for its item discount group or all items are
			// the LineDiscounts root.
			func() Child {
				c := item("line-discounts", SalesLineDiscountAgreements, "RecordId")
				c.Numeric, c.When, c.Moves, c.Indexed = []string{"RecordId"}, is("ItemCode", "Table"), true, "line_discounts.rec_id"
				return c
			}(),
		},
	},
	{
		Entity: Customers, Collection: CustomersV3, Key: "CustomerAccount",
		Children: []Child{
			{Name: "addresses", Collection: CustomerPostalAddresses, Key: []string{"CustomerAccount", "AddressLocationId"},
				Link: &Link{From: "CustomerAccount"}},
		},
	},
	{Entity: Contacts, Collection: ContactPersonsV2, Key: "ContactPersonId"},
	{
		Entity: SalesReps, Collection: SalesRepresentatives, Key: "PersonnelNumber",
		Children: []Child{
			{Name: "memberships", Collection: CommissionSalesRepresentatives, Key: []string{"GroupId", "PersonnelNumber"},
				Link: &Link{From: "PersonnelNumber"}, Select: []string{FieldCompany, "GroupId", "PersonnelNumber", FieldModified}},
			{Name: "group-customers", Collection: CustomersV3, Key: []string{"CustomerAccount"},
				Via:   &Via{Child: "memberships", From: "CommissionSalesGroupId", To: "GroupId"},
				Moves: true, Indexed: "customers",
				Select: []string{FieldCompany, "CustomerAccount", "CommissionSalesGroupId", FieldModified}},
		},
	},
}
