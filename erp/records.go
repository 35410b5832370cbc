package erp

import "time"

// Product is a released product with everything the webshop shows about it: one search
// document is built from it. Company is the dataAreaId as the ERP spells it.
type Product struct {
	Company     string    `json:"company"`
	ItemNumber  string    `json:"item_number"`
	Modified    time.Time `json:"modified"`
	Name        string    `json:"name"`
	SearchName  string    `json:"search_name,omitempty"`
	Description string    `json:"description,omitempty"`
	// SubType is "Product" or "ProductMaster" (a master has variants).
	SubType        string  `json:"sub_type"`
	DimensionGroup string  `json:"dimension_group,omitempty"`
	ProductGroup   string  `json:"product_group,omitempty"`
	SalesUnit      string  `json:"sales_unit,omitempty"`
	SalesPrice     Decimal `json:"sales_price,omitempty"`
	Currency       string  `json:"currency,omitempty"`
	// LineDiscountGroup is the item line discount group (SalesLineDiscountProductGroupCode)
	// that line discounts for an item group name; "" for none.
	LineDiscountGroup string `json:"line_discount_group,omitempty"`

	DimensionValues []DimensionValue  `json:"dimension_values,omitempty"`
	Variants        []Variant         `json:"variants,omitempty"`
	Translations    []Translation     `json:"translations,omitempty"`
	Attachments     []Attachment      `json:"attachments,omitempty"`
	Categories      []ProductCategory `json:"categories,omitempty"`
	Related         []RelatedProduct  `json:"related,omitempty"`
	Barcodes        []Barcode         `json:"barcodes,omitempty"`
	OrderSettings   *OrderSettings    `json:"order_settings,omitempty"`
	// UnitConversions are the product-specific unit conversions of the shared product the item
	// releases (the same in every company that releases it).
	UnitConversions []UnitConversion `json:"unit_conversions,omitempty"`
	// Prices are the item's sales price agreement lines (D365 has no others).
	Prices []PriceAgreement `json:"prices,omitempty"`
	// LineDiscounts are the line discount agreement lines for this item (ItemCode Table); those
	// for its item group or all items are LineDiscountAgreement roots of their own.
	LineDiscounts []LineDiscount `json:"line_discounts,omitempty"`
}

// Dimensions identify a variant: the values of the four product dimensions ("" = unused).
type Dimensions struct {
	Color         string `json:"color,omitempty"`
	Size          string `json:"size,omitempty"`
	Style         string `json:"style,omitempty"`
	Configuration string `json:"configuration,omitempty"`
}

// IsZero reports whether no dimension is set (the item itself, not a variant).
func (d Dimensions) IsZero() bool { return d == Dimensions{} }

// DimensionValue is a value a product master's dimension can take.
type DimensionValue struct {
	// Dimension is "Color", "Size", "Style" or "Configuration".
	Dimension    string `json:"dimension"`
	Value        string `json:"value"`
	Description  string `json:"description,omitempty"`
	DisplayOrder int    `json:"display_order,omitempty"`
}

// Variant is a released product variant (a combination of dimension values).
type Variant struct {
	Dimensions
	VariantNumber string `json:"variant_number"`
	Name          string `json:"name,omitempty"`
	Description   string `json:"description,omitempty"`
}

// Translation is a product's name and description in one language.
type Translation struct {
	Language    string `json:"language"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// Attachment is a document or image attached to a product.
type Attachment struct {
	ID           string `json:"id"`
	DocumentType string `json:"document_type"`
	FileName     string `json:"file_name,omitempty"`
	Title        string `json:"title,omitempty"`
	URL          string `json:"url,omitempty"`
	DefaultImage bool   `json:"default_image,omitempty"`
	DisplayOrder int    `json:"display_order,omitempty"`
}

// ProductCategory is a category the product is assigned to (ProductCategoryAssignments); the
// category itself is a Category record.
type ProductCategory struct {
	ID           string `json:"id"`
	DisplayOrder int    `json:"display_order,omitempty"`
}

// Category is a product category (ProductCategories): one node of a company's category tree.
type Category struct {
	Company  string    `json:"company"`
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Name     string    `json:"name"`
	ParentID string    `json:"parent_id,omitempty"`
	// Visible is the category's "visible in webshop" flag.
	Visible bool `json:"visible"`
}

// RelatedProduct is a relation from this product to another of the same company.
type RelatedProduct struct {
	ItemNumber   string `json:"item_number"`
	RelationType string `json:"relation_type"`
	DisplayOrder int    `json:"display_order,omitempty"`
}

// Barcode is a bar code of the product or of one of its variants (Dimensions set).
type Barcode struct {
	Dimensions
	Barcode string `json:"barcode"`
	// Setup is the bar code type: "EAN13", "UPC", "Code128".
	Setup   string `json:"setup,omitempty"`
	Default bool   `json:"default,omitempty"`
}

// OrderSettings are the product's default sales order settings.
type OrderSettings struct {
	MinimumQuantity  Decimal `json:"minimum_quantity,omitempty"`
	MaximumQuantity  Decimal `json:"maximum_quantity,omitempty"`  // 0 = no maximum
	MultipleQuantity Decimal `json:"multiple_quantity,omitempty"` // 0 = any
	StandardQuantity Decimal `json:"standard_quantity,omitempty"`
	SalesStopped     bool    `json:"sales_stopped,omitempty"`
}

// UnitConversion is a product-specific unit of measure conversion (D365's
// EcoResProductSpecificUnitOfMeasureConversionEntity): a quantity q in From is
// (q + InnerOffset) * Factor * Numerator / Denominator + OuterOffset in To, rounded as Rounding
// says to the To unit's decimals (docs/erp-model.md).
type UnitConversion struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	Factor      Decimal `json:"factor"`
	Numerator   int64   `json:"numerator"`
	Denominator int64   `json:"denominator"`
	InnerOffset Decimal `json:"inner_offset,omitempty"`
	OuterOffset Decimal `json:"outer_offset,omitempty"`
	// Rounding is "Nearest", "Up" or "Down" (UnitOfMeasureConversionRounding).
	Rounding string `json:"rounding,omitempty"`
}

// Account codes of a trade agreement: who it is for.
const (
	AccountCustomer = "Table"   // one customer (CustomerAccount)
	AccountGroup    = "GroupId" // a price group (PriceGroup)
	AccountAll      = "All"     // everybody
)

// PriceAgreement is a sales price agreement line (SalesPriceAgreements) of the product.
type PriceAgreement struct {
	RecID int64 `json:"rec_id"`
	// Dimensions restrict the line to a variant; zero applies to every variant.
	Dimensions
	// AccountCode is AccountCustomer, AccountGroup or AccountAll.
	AccountCode     string  `json:"account_code"`
	CustomerAccount string  `json:"customer_account,omitempty"`
	PriceGroup      string  `json:"price_group,omitempty"`
	Currency        string  `json:"currency"`
	Price           Decimal `json:"price"`
	Unit            string  `json:"unit,omitempty"`
	FromQuantity    Decimal `json:"from_quantity,omitempty"`
	ToQuantity      Decimal `json:"to_quantity,omitempty"` // 0 = no upper bound
	// ValidFrom and ValidTo are dates (YYYY-MM-DD); D365's "no date" is 1900-01-01.
	ValidFrom string `json:"valid_from,omitempty"`
	ValidTo   string `json:"valid_to,omitempty"`
	// FindNext is D365's "Find next" (WillSearchContinue): the search goes on after this line.
	FindNext bool `json:"find_next,omitempty"`
}

// Item codes of a line discount agreement: what it is for.
const (
	ItemTable = "Table"   // one item (ItemNumber)
	ItemGroup = "GroupId" // an item line discount group (ItemGroup)
	ItemAll   = "All"     // every item of the company
)

// LineDiscount is a line discount agreement line (SalesLineDiscountAgreements).
type LineDiscount struct {
	RecID int64 `json:"rec_id"`
	// ItemCode is ItemTable, ItemGroup or ItemAll.
	ItemCode   string `json:"item_code"`
	ItemNumber string `json:"item_number,omitempty"`
	// ItemGroup is the item line discount group (LineDiscountProductGroupCode).
	ItemGroup string `json:"item_group,omitempty"`
	// Dimensions restrict the line to a variant; zero applies to every variant.
	Dimensions
	// AccountCode is AccountCustomer, AccountGroup (a customer line discount group) or
	// AccountAll.
	AccountCode     string `json:"account_code"`
	CustomerAccount string `json:"customer_account,omitempty"`
	// CustomerGroup is the customer line discount group (LineDiscountCustomerGroupCode).
	CustomerGroup string `json:"customer_group,omitempty"`
	Currency      string `json:"currency"`
	// Percent1 and Percent2 are DiscountPercentage1 and 2; Amount is DiscountAmount per unit.
	Percent1     Decimal `json:"percent1,omitempty"`
	Percent2     Decimal `json:"percent2,omitempty"`
	Amount       Decimal `json:"amount,omitempty"`
	Unit         string  `json:"unit,omitempty"`
	FromQuantity Decimal `json:"from_quantity,omitempty"`
	ToQuantity   Decimal `json:"to_quantity,omitempty"` // 0 = no upper bound
	ValidFrom    string  `json:"valid_from,omitempty"`
	ValidTo      string  `json:"valid_to,omitempty"`
	FindNext     bool    `json:"find_next,omitempty"`
}

// LineDiscountAgreement is a line discount for an item discount group or all items: stored once
// for its company, not in the documents of the products it applies to.
type LineDiscountAgreement struct {
	Company  string    `json:"company"`
	Modified time.Time `json:"modified"`
	LineDiscount
}

// Activation is a company's trade agreement activation (PriceParameters, D365's "Activate
// price/discount"): which relations the price and line discount search visits.
type Activation struct {
	Company  string    `json:"company"`
	Modified time.Time `json:"modified"`
	// Activated are the ActivationFields that are Yes, in ActivationFields order.
	Activated []string `json:"activated,omitempty"`
}

// Customer is a customer with its addresses.
type Customer struct {
	Company    string    `json:"company"`
	Account    string    `json:"account"`
	Modified   time.Time `json:"modified"`
	Name       string    `json:"name"`
	Group      string    `json:"group,omitempty"`
	PriceGroup string    `json:"price_group,omitempty"`
	// LineDiscountGroup is the customer line discount group (LineDiscountCode).
	LineDiscountGroup string `json:"line_discount_group,omitempty"`
	Currency          string `json:"currency,omitempty"`
	Language          string `json:"language,omitempty"`
	// OnHold is D365's OnHoldStatus: "No" and "Never" allow buying; anything else blocks.
	OnHold     string    `json:"on_hold,omitempty"`
	SalesGroup string    `json:"sales_group,omitempty"`
	Email      string    `json:"email,omitempty"`
	Phone      string    `json:"phone,omitempty"`
	Addresses  []Address `json:"addresses,omitempty"`
	// The representatives of SalesGroup are on SalesRep records (SalesRep.Customers).
}

// Blocked reports whether the customer may not buy.
func (c Customer) Blocked() bool { return c.OnHold != "" && c.OnHold != "No" && c.OnHold != "Never" }

// Address is a customer's postal address.
type Address struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	ZipCode     string `json:"zip_code,omitempty"`
	State       string `json:"state,omitempty"`
	Country     string `json:"country,omitempty"`
	// Roles are "Invoice" and/or "Delivery".
	Roles   []string `json:"roles,omitempty"`
	Primary bool     `json:"primary,omitempty"`
}

// Contact is a contact person of a customer.
type Contact struct {
	Company   string    `json:"company"`
	ID        string    `json:"id"`
	Modified  time.Time `json:"modified"`
	Customer  string    `json:"customer,omitempty"`
	FirstName string    `json:"first_name,omitempty"`
	LastName  string    `json:"last_name,omitempty"`
	JobTitle  string    `json:"job_title,omitempty"`
	Email     string    `json:"email,omitempty"`
	Phone     string    `json:"phone,omitempty"`
	Language  string    `json:"language,omitempty"`
}

// SalesRep is a sales representative with the commission sales groups they are in and the
// customers those groups serve.
type SalesRep struct {
	Company         string    `json:"company"`
	PersonnelNumber string    `json:"personnel_number"`
	Modified        time.Time `json:"modified"`
	Name            string    `json:"name"`
	Email           string    `json:"email,omitempty"`
	Phone           string    `json:"phone,omitempty"`
	Groups          []string  `json:"groups,omitempty"`
	// Customers are the accounts of the customers whose sales group is one of Groups.
	Customers []string `json:"customers,omitempty"`
}
