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

	DimensionValues []DimensionValue  `json:"dimension_values,omitempty"`
	Variants        []Variant         `json:"variants,omitempty"`
	Translations    []Translation     `json:"translations,omitempty"`
	Attachments     []Attachment      `json:"attachments,omitempty"`
	Categories      []ProductCategory `json:"categories,omitempty"`
	Related         []RelatedProduct  `json:"related,omitempty"`
	Barcodes        []Barcode         `json:"barcodes,omitempty"`
	OrderSettings   *OrderSettings    `json:"order_settings,omitempty"`
	Prices          []PriceAgreement  `json:"prices,omitempty"`
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

// ProductCategory is a category the product is assigned to, with the category's own data.
type ProductCategory struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	ParentID string `json:"parent_id,omitempty"`
	// Visible is the category's "visible in webshop" flag.
	Visible      bool `json:"visible"`
	DisplayOrder int  `json:"display_order,omitempty"`
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

// Account codes of a trade agreement: who it is for.
const (
	AccountCustomer = "Table"   // one customer (CustomerAccount)
	AccountGroup    = "GroupId" // a price group (PriceGroup)
	AccountAll      = "All"     // everybody
)

// PriceAgreement is a sales price trade agreement line that applies to the product.
type PriceAgreement struct {
	RecID int64 `json:"rec_id"`
	// AllItems is true for a line with ItemCode "All" (it covers every product of the company).
	AllItems bool `json:"all_items,omitempty"`
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
}

// Customer is a customer with its addresses.
type Customer struct {
	Company    string    `json:"company"`
	Account    string    `json:"account"`
	Modified   time.Time `json:"modified"`
	Name       string    `json:"name"`
	Group      string    `json:"group,omitempty"`
	PriceGroup string    `json:"price_group,omitempty"`
	Currency   string    `json:"currency,omitempty"`
	Language   string    `json:"language,omitempty"`
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
