package store

import "encoding/json"

// This file is docs/erp-model.md as data: every collection, its key, its fields and the rules
// by which a change bumps root records. The trade agreement collections and their fields follow
// D365's (docs/pricing.md).

// Collection names.
const (
	ReleasedProducts                = "ReleasedProductsV2"
	ProductMasterDimensionValues    = "ProductMasterDimensionValues"
	ReleasedProductVariants         = "ReleasedProductVariantsV2"
	ProductTranslations             = "ProductTranslations"
	ProductAttachments              = "ProductAttachments"
	ProductCategories               = "ProductCategories"
	ProductCategoryAssignments      = "ProductCategoryAssignments"
	RelatedProducts                 = "RelatedProducts"
	ProductBarcodes                 = "ProductBarcodes"
	ItemDefaultOrderSettings        = "ItemDefaultOrderSettings"
	ProductUnitOfMeasureConversions = "ProductUnitOfMeasureConversions"
	SalesPriceAgreements            = "SalesPriceAgreements"
	SalesLineDiscountAgreements     = "SalesLineDiscountAgreements"
	PriceParameters                 = "PriceParameters"
	Customers                       = "CustomersV3"
	CustomerPostalAddresses         = "CustomerPostalAddresses"
	ContactPersons                  = "ContactPersonsV2"
	SalesRepresentatives            = "SalesRepresentatives"
	CommissionSalesGroups           = "CommissionSalesGroups"
	CommissionSalesRepresentatives  = "CommissionSalesRepresentatives"
	LegalEntities                   = "LegalEntities"
	DeletedRecords                  = "DeletedRecords"
)

// Well-known field names.
const (
	FieldCompany  = "dataAreaId"
	FieldModified = "ModifiedDateTime"
)

// DefaultCompany is the company visible without cross-company=true.
const DefaultCompany = "usmf"

// NoDateFrom and NoDateTo are D365's open-ended validity dates.
const (
	NoDateFrom = "1900-01-01"
	NoDateTo   = "2154-12-31"
)

var (
	noYes       = []string{"No", "Yes"}
	dimensions  = []string{"Color", "Size", "Style", "Configuration"}
	variantDims = []string{"ProductColorId", "ProductConfigurationId", "ProductSizeId", "ProductStyleId"}
)

func str(name string) Field                    { return Field{Name: name, Type: String} }
func integer(name string) Field                { return Field{Name: name, Type: Int} }
func dec(name string) Field                    { return Field{Name: name, Type: Decimal} }
func date(name string) Field                   { return Field{Name: name, Type: Date} }
func enum(name string, values ...string) Field { return Field{Name: name, Type: String, Enum: values} }

// fields prepends dataAreaId and appends ModifiedDateTime.
func fields(fs ...Field) []Field {
	out := append([]Field{str(FieldCompany)}, fs...)
	return append(out, Field{Name: FieldModified, Type: DateTime})
}

// sharedFields appends ModifiedDateTime: the fields of a table that belongs to no company.
func sharedFields(fs ...Field) []Field {
	return append(append([]Field(nil), fs...), Field{Name: FieldModified, Type: DateTime})
}

func strs(names ...string) []Field {
	out := make([]Field, len(names))
	for i, n := range names {
		out[i] = str(n)
	}
	return out
}

func cat(groups ...[]Field) []Field {
	var out []Field
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// productBump bumps the product named by the record's field.
func productBump(field string) Bump {
	return Bump{Root: ReleasedProducts, On: []Link{{From: field, To: "ItemNumber"}}}
}

func productChild(table, field string) Cascade {
	return Cascade{Child: table, On: []Link{{From: "ItemNumber", To: field}}}
}

// NewSchema returns the ERP data model of docs/erp-model.md.
func NewSchema() *Schema {
	return newSchema(
		&Table{
			Name: ReleasedProducts, Root: true,
			Key: []string{FieldCompany, "ItemNumber"},
			// ProductNumber names the shared product (EcoResProduct) the item releases; D365
			// numbers it like the item unless told otherwise.
			Fields: fields(cat(strs("ItemNumber", "ProductNumber", "ProductName", "ProductSearchName", "ProductDescription"),
				[]Field{enum("ProductSubType", "Product", "ProductMaster")},
				strs("ProductDimensionGroupName", "ProductGroupId", "SalesUnitSymbol"),
				[]Field{dec("SalesPrice"), str("SalesCurrencyCode"), str("SalesLineDiscountProductGroupCode")})...),
			Cascades: []Cascade{
				productChild(ProductMasterDimensionValues, "ProductMasterNumber"),
				productChild(ReleasedProductVariants, "ItemNumber"),
				productChild(ProductTranslations, "ItemNumber"),
				productChild(ProductAttachments, "ItemNumber"),
				productChild(ProductCategoryAssignments, "ItemNumber"),
				productChild(RelatedProducts, "ItemNumber"),
				productChild(RelatedProducts, "RelatedItemNumber"),
				productChild(ProductBarcodes, "ItemNumber"),
				productChild(ItemDefaultOrderSettings, "ItemNumber"),
				productChild(SalesPriceAgreements, "ItemNumber"),
				productChild(SalesLineDiscountAgreements, "ItemNumber"),
				// Unit conversions belong to the shared product: deleting one company's release
				// of it keeps them.
			},
			FillFrom: map[string]string{"ProductNumber": "ItemNumber"},
			Indexes:  [][]string{{FieldCompany, "SalesLineDiscountProductGroupCode"}, {"ProductNumber"}},
		},
		&Table{
			Name: ProductMasterDimensionValues,
			Key:  []string{FieldCompany, "ProductMasterNumber", "ProductDimension", "DimensionValueId"},
			Fields: fields(str("ProductMasterNumber"), enum("ProductDimension", dimensions...),
				str("DimensionValueId"), str("Description"), integer("DisplayOrder")),
			Bumps: []Bump{productBump("ProductMasterNumber")},
		},
		&Table{
			Name:    ReleasedProductVariants,
			Key:     append([]string{FieldCompany, "ItemNumber"}, variantDims...),
			Fields:  fields(cat(strs("ItemNumber"), strs(variantDims...), strs("ProductVariantNumber", "ProductName", "ProductDescription"))...),
			Bumps:   []Bump{productBump("ItemNumber")},
			Indexes: [][]string{{FieldCompany, "ProductVariantNumber"}},
		},
		&Table{
			Name:   ProductTranslations,
			Key:    []string{FieldCompany, "ItemNumber", "LanguageId"},
			Fields: fields(strs("ItemNumber", "LanguageId", "ProductName", "ProductDescription")...),
			Bumps:  []Bump{productBump("ItemNumber")},
		},
		&Table{
			Name: ProductAttachments,
			Key:  []string{FieldCompany, "ItemNumber", "AttachmentId"},
			Fields: fields(str("ItemNumber"), str("AttachmentId"), enum("DocumentType", "Image", "File", "URL"),
				str("FileName"), str("Title"), str("Url"), enum("IsDefaultImage", noYes...), integer("DisplayOrder")),
			Bumps: []Bump{productBump("ItemNumber")},
		},
		// Categories, the line discounts for item groups and all items, and the activation are
		// roots of the connector's model (each stored once per company), so deleting one is logged.
		&Table{
			Name: ProductCategories, Root: true,
			Key:    []string{FieldCompany, "CategoryId"},
			Fields: fields(str("CategoryId"), str("CategoryName"), str("ParentCategoryId"), enum("IsVisibleInWebshop", noYes...)),
			Bumps: []Bump{{Root: ReleasedProducts, Via: &Via{
				Table: ProductCategoryAssignments, On: []Link{{From: "CategoryId", To: "CategoryId"}},
				Select: "ItemNumber", RootOn: "ItemNumber",
			}}},
			Cascades: []Cascade{{Child: ProductCategoryAssignments, On: []Link{{From: "CategoryId", To: "CategoryId"}}}},
		},
		&Table{
			Name:    ProductCategoryAssignments,
			Key:     []string{FieldCompany, "ItemNumber", "CategoryId"},
			Fields:  fields(str("ItemNumber"), str("CategoryId"), integer("DisplayOrder")),
			Bumps:   []Bump{productBump("ItemNumber")},
			Indexes: [][]string{{FieldCompany, "CategoryId"}},
		},
		&Table{
			Name: RelatedProducts,
			Key:  []string{FieldCompany, "ItemNumber", "RelatedItemNumber", "RelationType"},
			Fields: fields(str("ItemNumber"), str("RelatedItemNumber"),
				enum("RelationType", "Accessory", "Similar", "CrossSell", "UpSell"), integer("DisplayOrder")),
			Bumps:   []Bump{productBump("ItemNumber")},
			Indexes: [][]string{{FieldCompany, "RelatedItemNumber"}},
		},
		&Table{
			Name: ProductBarcodes,
			Key:  []string{FieldCompany, "Barcode"},
			Fields: fields(cat(strs("Barcode", "ItemNumber"), strs(variantDims...),
				[]Field{enum("BarcodeSetupId", "EAN13", "UPC", "Code128"), enum("IsDefaultScannedBarcode", noYes...)})...),
			Bumps:   []Bump{productBump("ItemNumber")},
			Indexes: [][]string{{FieldCompany, "ItemNumber"}},
		},
		&Table{
			Name: ItemDefaultOrderSettings,
			Key:  []string{FieldCompany, "ItemNumber"},
			Fields: fields(str("ItemNumber"), dec("SalesMinimumQuantity"), dec("SalesMaximumQuantity"),
				dec("SalesMultipleQuantity"), dec("SalesStandardQuantity"), enum("IsSalesStopped", noYes...)),
			Bumps: []Bump{productBump("ItemNumber")},
		},
		// Product-specific unit conversions (EcoResProductSpecificUnitOfMeasureConversionEntity,
		// public name ProductUnitOfMeasureConversions): kept on the shared product, so no
		// dataAreaId; a change bumps the product's release in every company (the add-on's parent
		// stamps). The simulator gives new rows a Factor, Numerator and Denominator of 1.
		&Table{
			Name: ProductUnitOfMeasureConversions, Shared: true,
			Key: []string{"FromUnitSymbol", "ToUnitSymbol", "ProductNumber"},
			Fields: sharedFields(str("FromUnitSymbol"), str("ToUnitSymbol"), str("ProductNumber"),
				Field{Name: "Factor", Type: Decimal, Default: json.Number("1")},
				Field{Name: "Numerator", Type: Int, Default: int64(1)}, Field{Name: "Denominator", Type: Int, Default: int64(1)},
				dec("InnerOffset"), dec("OuterOffset"), enum("Rounding", "Nearest", "Up", "Down")),
			Bumps:   []Bump{{Root: ReleasedProducts, On: []Link{{From: "ProductNumber", To: "ProductNumber"}}}},
			Indexes: [][]string{{"ProductNumber"}},
		},
		// Sales prices are item specific: D365 has no item-group or all-items price relation
		// (docs/pricing.md), so ItemCode takes only Table.
		&Table{
			Name: SalesPriceAgreements, AutoKey: "RecordId",
			Key: []string{FieldCompany, "RecordId"},
			Fields: fields(cat([]Field{integer("RecordId"), enum("ItemCode", "Table"), str("ItemNumber")},
				strs(variantDims...),
				[]Field{enum("AccountCode", "Table", "GroupId", "All"), str("CustomerAccountNumber"), str("PriceCustomerGroupCode"),
					str("PriceCurrencyCode"), dec("Price"), str("QuantityUnitySymbol"), dec("FromQuantity"), dec("ToQuantity"),
					date("PriceApplicableFromDate"), date("PriceApplicableToDate"), enum("WillSearchContinue", noYes...)})...),
			Bumps:   []Bump{productBump("ItemNumber")},
			Indexes: [][]string{{FieldCompany, "ItemNumber"}},
		},
		// Line discounts name an item, an item line discount group or all items; a change bumps
		// the products the line is for (the add-on's parent stamps).
		&Table{
			Name: SalesLineDiscountAgreements, AutoKey: "RecordId", Root: true,
			Key: []string{FieldCompany, "RecordId"},
			Fields: fields(cat([]Field{integer("RecordId"), enum("ItemCode", "Table", "GroupId", "All"), str("ItemNumber"),
				str("LineDiscountProductGroupCode")},
				strs(variantDims...),
				[]Field{enum("AccountCode", "Table", "GroupId", "All"), str("CustomerAccountNumber"), str("LineDiscountCustomerGroupCode"),
					str("DiscountCurrencyCode"), dec("DiscountPercentage1"), dec("DiscountPercentage2"), dec("DiscountAmount"),
					str("QuantityUnitSymbol"), dec("FromQuantity"), dec("ToQuantity"),
					date("DiscountApplicableFromDate"), date("DiscountApplicableToDate"), enum("WillSearchContinue", noYes...)})...),
			Bumps: []Bump{
				{Root: ReleasedProducts, On: []Link{{From: "ItemNumber", To: "ItemNumber"}},
					When: func(r Record) bool { return r["ItemCode"] == "Table" }},
				{Root: ReleasedProducts, On: []Link{{From: "LineDiscountProductGroupCode", To: "SalesLineDiscountProductGroupCode"}},
					When: func(r Record) bool { return r["ItemCode"] == "GroupId" && r["LineDiscountProductGroupCode"] != "" }},
				{Root: ReleasedProducts, When: func(r Record) bool { return r["ItemCode"] == "All" }},
			},
			Indexes: [][]string{{FieldCompany, "ItemNumber"}, {FieldCompany, "LineDiscountProductGroupCode"}},
		},
		// The trade agreement activation ("Activate price/discount"): one row per company, which
		// relations the price and line discount search visits, keyed like D365's parameter
		// tables by Key (ParametersKey, always 0). Company-wide settings bump no product: a
		// reader takes them by their own stamp.
		&Table{
			Name: PriceParameters, PerCompany: true, Root: true,
			Key:    []string{FieldCompany, "Key"},
			Fields: fields(append([]Field{integer("Key")}, activationFields()...)...),
		},
		&Table{
			Name: Customers, Root: true,
			Key: []string{FieldCompany, "CustomerAccount"},
			Fields: fields(cat(strs("CustomerAccount", "OrganizationName", "CustomerGroupId", "DiscountPriceGroupId",
				"LineDiscountCode", "SalesCurrencyCode", "LanguageId"),
				[]Field{enum("OnHoldStatus", "No", "Invoice", "All", "Payment", "Requisition", "Never")},
				strs("CommissionSalesGroupId", "PrimaryContactEmail", "PrimaryContactPhone"))...),
			Bumps: []Bump{{Root: SalesRepresentatives, IfChanged: []string{"CommissionSalesGroupId"}, Via: &Via{
				Table: CommissionSalesRepresentatives, On: []Link{{From: "CommissionSalesGroupId", To: "GroupId"}},
				Select: "PersonnelNumber", RootOn: "PersonnelNumber",
			}}},
			Cascades: []Cascade{
				{Child: CustomerPostalAddresses, On: []Link{{From: "CustomerAccount", To: "CustomerAccount"}}},
				{Child: ContactPersons, On: []Link{{From: "CustomerAccount", To: "CustomerAccount"}}},
			},
		},
		&Table{
			Name: CustomerPostalAddresses,
			Key:  []string{FieldCompany, "CustomerAccount", "AddressLocationId"},
			Fields: fields(cat(strs("CustomerAccount", "AddressLocationId", "AddressDescription", "AddressStreet",
				"AddressCity", "AddressZipCode", "AddressState", "AddressCountryRegionId"),
				[]Field{enum("AddressLocationRoles", "Invoice", "Delivery", "Invoice;Delivery"), enum("IsPrimary", noYes...)})...),
			Bumps: []Bump{{Root: Customers, On: []Link{{From: "CustomerAccount", To: "CustomerAccount"}}}},
		},
		&Table{
			Name: ContactPersons, Root: true,
			Key: []string{FieldCompany, "ContactPersonId"},
			Fields: fields(strs("ContactPersonId", "CustomerAccount", "FirstName", "LastName", "JobTitle",
				"PrimaryEmailAddress", "PrimaryPhoneNumber", "LanguageId")...),
			Indexes: [][]string{{FieldCompany, "CustomerAccount"}},
		},
		&Table{
			Name: SalesRepresentatives, Root: true,
			Key:      []string{FieldCompany, "PersonnelNumber"},
			Fields:   fields(strs("PersonnelNumber", "Name", "PrimaryEmailAddress", "PrimaryPhoneNumber")...),
			Cascades: []Cascade{{Child: CommissionSalesRepresentatives, On: []Link{{From: "PersonnelNumber", To: "PersonnelNumber"}}}},
		},
		&Table{
			Name:   CommissionSalesGroups,
			Key:    []string{FieldCompany, "GroupId"},
			Fields: fields(str("GroupId"), str("Name")),
			Bumps: []Bump{{Root: SalesRepresentatives, Via: &Via{
				Table: CommissionSalesRepresentatives, On: []Link{{From: "GroupId", To: "GroupId"}},
				Select: "PersonnelNumber", RootOn: "PersonnelNumber",
			}}},
			Cascades: []Cascade{{Child: CommissionSalesRepresentatives, On: []Link{{From: "GroupId", To: "GroupId"}}}},
		},
		&Table{
			Name:    CommissionSalesRepresentatives,
			Key:     []string{FieldCompany, "GroupId", "PersonnelNumber"},
			Fields:  fields(str("GroupId"), str("PersonnelNumber"), dec("CommissionShare")),
			Bumps:   []Bump{{Root: SalesRepresentatives, On: []Link{{From: "PersonnelNumber", To: "PersonnelNumber"}}}},
			Indexes: [][]string{{FieldCompany, "PersonnelNumber"}},
		},
		&Table{
			Name:   LegalEntities,
			Key:    []string{"LegalEntityId"},
			Fields: fields(strs("LegalEntityId", "Name", "LanguageId", "CurrencyCode")...),
		},
		&Table{
			Name: DeletedRecords, ReadOnly: true, AutoKey: "RecId",
			Key: []string{"RecId"},
			Fields: fields(integer("RecId"), str("EntityName"), str("RecordKey"),
				Field{Name: "DeletedDateTime", Type: DateTime}),
		},
	)
}

// ActivationFields are PriceParameters' NoYes fields for sales prices and line discounts, in
// D365's search order: Sales{Price|Line}{Account|Group|All}{Item|Group|All}.
var ActivationFields = func() []string {
	var out []string
	for _, kind := range []string{"Price", "Line"} {
		for _, account := range []string{"Account", "Group", "All"} {
			for _, item := range []string{"Item", "Group", "All"} {
				if kind == "Price" && item != "Item" {
					continue // a sales price is always for one item
				}
				out = append(out, "Sales"+kind+account+item)
			}
		}
	}
	return out
}()

func activationFields() []Field {
	out := make([]Field, len(ActivationFields))
	for i, n := range ActivationFields {
		out[i] = enum(n, noYes...)
	}
	return out
}
