package erp

// This file is the ERP model as data: every collection erpsync reads, its key, and how its rows
// reach the root records that search documents are built from. The OData reader (erp/d365), the
// change detection, the deletion handling, the audit and the activities iterate it; adding a
// collection is a declaration here, a reader of its fields in erp/d365, a field of the document
// and a test. docs/erp-model.md describes the same collections for people.

// D365's public collection names, the defaults of the connector's configuration
// (d365.Names.Collections renames them for an environment that differs).
const (
	ReleasedProducts               = "ReleasedProductsV2"
	ProductMasterDimensionValues   = "ProductMasterDimensionValues"
	ReleasedProductVariants        = "ReleasedProductVariantsV2"
	ProductTranslations            = "ProductTranslations"
	ProductAttachments             = "ProductAttachments"
	ProductCategories              = "ProductCategories"
	ProductCategoryAssignments     = "ProductCategoryAssignments"
	RelatedProducts                = "RelatedProducts"
	ProductBarcodes                = "ProductBarcodes"
	ItemDefaultOrderSettings       = "ItemDefaultOrderSettings"
	SalesPriceAgreements           = "SalesPriceAgreements"
	CustomersV3                    = "CustomersV3"
	CustomerPostalAddresses        = "CustomerPostalAddresses"
	ContactPersonsV2               = "ContactPersonsV2"
	SalesRepresentatives           = "SalesRepresentatives"
	CommissionSalesGroups          = "CommissionSalesGroups"
	CommissionSalesRepresentatives = "CommissionSalesRepresentatives"
	LegalEntities                  = "LegalEntities"
	DeletedRecords                 = "DeletedRecords"
)

// Fields every collection carries.
const (
	FieldCompany  = "dataAreaId"
	FieldModified = "ModifiedDateTime"
)

// Link says that a child row belongs to the roots whose key equals the row's From field (in the
// row's company).
type Link struct {
	From string
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

// Cond is a condition on a row: its string field Field equals Value.
type Cond struct {
	Field, Value string
}

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
	When        *Cond
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
	Key      string
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

// The variant dimension fields, in D365's key order.
var variantDimensions = []string{"ProductColorId", "ProductConfigurationId", "ProductSizeId", "ProductStyleId"}

func item(name, coll string, key ...string) Child {
	return Child{Name: name, Collection: coll, Key: key, Link: &Link{From: "ItemNumber"}}
}

var model = []Root{
	{
		Entity: Products, Collection: ReleasedProducts, Key: "ItemNumber",
		Children: []Child{
			{Name: "dimension-values", Collection: ProductMasterDimensionValues,
				Key:  []string{"ProductMasterNumber", "ProductDimension", "DimensionValueId"},
				Link: &Link{From: "ProductMasterNumber"}},
			item("variants", ReleasedProductVariants, append([]string{"ItemNumber"}, variantDimensions...)...),
			item("translations", ProductTranslations, "ItemNumber", "LanguageId"),
			item("attachments", ProductAttachments, "ItemNumber", "AttachmentId"),
			item("category-assignments", ProductCategoryAssignments, "ItemNumber", "CategoryId"),
			{Name: "categories", Collection: ProductCategories, Key: []string{"CategoryId"},
				Via: &Via{Child: "category-assignments", From: "CategoryId", To: "CategoryId"}},
			item("related", RelatedProducts, "ItemNumber", "RelatedItemNumber", "RelationType"),
			func() Child {
				c := item("barcodes", ProductBarcodes, "Barcode")
				c.Moves, c.Indexed = true, "barcodes"
				return c
			}(),
			item("order-settings", ItemDefaultOrderSettings, "ItemNumber"),
			func() Child {
				c := item("prices", SalesPriceAgreements, "AgreementRecId")
				c.Numeric, c.When, c.Moves, c.Indexed = []string{"AgreementRecId"}, &Cond{"ItemCode", "Table"}, true, "prices.rec_id"
				return c
			}(),
			{Name: "all-items-prices", Collection: SalesPriceAgreements, Key: []string{"AgreementRecId"},
				Numeric: []string{"AgreementRecId"}, CompanyWide: true, When: &Cond{"ItemCode", "All"}},
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
