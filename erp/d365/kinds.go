package d365

import (
	"cmp"
	"slices"
	"strings"

	"github.com/erpsync/erpsync/erp"
)

// This file reads the fields of every collection of the ERP model (erp/model.go) into the
// records of package erp: per root, how its row starts a record and how each child's row is
// put into it. Which rows are read, and which root a row belongs to, is the model's business
// (read.go); a reader here only decodes fields, checking them with the root's checker so that a
// bad child rejects its root.

// assembler builds the records of one root entity.
type assembler interface {
	// start returns a new record from its root row.
	start(k *checker, rt *root) any
	// attach puts one row of the named child into rec; a child without a reader is left out
	// (a programming error that TestModelAgreesWithTheSimulator catches).
	attach(child string, rec any, k *checker, rw row)
	// value returns the finished record, its children in a stable order.
	value(rec any) any
	// reads reports whether the kind has a reader for the named child.
	reads(child string) bool
}

// kind is an assembler of records of type T.
type kind[T any] struct {
	newRecord func(k *checker, rt *root) *T
	rows      map[string]func(rec *T, k *checker, rw row)
	sort      func(rec *T)
}

func (kd kind[T]) start(k *checker, rt *root) any { return kd.newRecord(k, rt) }

func (kd kind[T]) attach(child string, rec any, k *checker, rw row) {
	if f, ok := kd.rows[child]; ok {
		f(rec.(*T), k, rw)
	}
}

func (kd kind[T]) reads(child string) bool {
	_, ok := kd.rows[child]
	return ok
}

func (kd kind[T]) value(rec any) any {
	r := rec.(*T)
	if kd.sort != nil {
		kd.sort(r)
	}
	return *r
}

// kinds has an assembler for every root of the model.
var kinds = map[erp.Entity]assembler{
	erp.Categories:    categories,
	erp.LineDiscounts: lineDiscounts,
	erp.Activations:   activations,
	erp.Products:      products,
	erp.Customers:     customers,
	erp.Contacts:      contacts,
	erp.SalesReps:     salesReps,
}

var categories = kind[erp.Category]{
	newRecord: func(k *checker, rt *root) *erp.Category {
		rw := rt.row
		return &erp.Category{
			Company:  rt.cur.Company,
			ID:       rt.cur.Key,
			Modified: rt.cur.Modified,
			Name:     k.str(rw, "CategoryName"),
			ParentID: k.str(rw, "ParentCategoryId"),
			Visible:  k.yes(rw, "IsVisibleInWebshop"),
		}
	},
}

var lineDiscounts = kind[erp.LineDiscountAgreement]{
	newRecord: func(k *checker, rt *root) *erp.LineDiscountAgreement {
		return &erp.LineDiscountAgreement{Company: rt.cur.Company, Modified: rt.cur.Modified, LineDiscount: lineDiscount(k, rt.row, false)}
	},
}

var activations = kind[erp.Activation]{
	newRecord: func(k *checker, rt *root) *erp.Activation {
		a := &erp.Activation{Company: rt.cur.Company, Modified: rt.cur.Modified}
		for _, f := range erp.ActivationFields {
			if k.yes(rt.row, f) {
				a.Activated = append(a.Activated, f)
			}
		}
		return a
	},
}

var products = kind[erp.Product]{
	newRecord: func(k *checker, rt *root) *erp.Product {
		rw := rt.row
		return &erp.Product{
			Company:        rt.cur.Company,
			ItemNumber:     rt.cur.Key,
			Modified:       rt.cur.Modified,
			Name:           k.str(rw, "ProductName"),
			SearchName:     k.str(rw, "ProductSearchName"),
			Description:    k.str(rw, "ProductDescription"),
			SubType:        k.str(rw, "ProductSubType"),
			DimensionGroup: k.str(rw, "ProductDimensionGroupName"),
			ProductGroup:   k.str(rw, "ProductGroupId"),
			SalesUnit:      k.str(rw, "SalesUnitSymbol"),
			SalesPrice:     k.dec(rw, "SalesPrice"),
			Currency:       k.currency(rw, "SalesCurrencyCode", true, false),
			// D365's field of the released product (docs/pricing.md, S12).
			LineDiscountGroup: k.str(rw, "SalesLineDiscountProductGroupCode"),
		}
	},
	rows: map[string]func(p *erp.Product, k *checker, rw row){
		"dimension-values": func(p *erp.Product, k *checker, rw row) {
			p.DimensionValues = append(p.DimensionValues, erp.DimensionValue{
				Dimension:    k.str(rw, "ProductDimension"),
				Value:        k.str(rw, "DimensionValueId"),
				Description:  k.str(rw, "Description"),
				DisplayOrder: int(k.int(rw, "DisplayOrder")),
			})
		},
		"variants": func(p *erp.Product, k *checker, rw row) {
			p.Variants = append(p.Variants, erp.Variant{
				Dimensions:    dimensions(k, rw),
				VariantNumber: k.str(rw, "ProductVariantNumber"),
				Name:          k.str(rw, "ProductName"),
				Description:   k.str(rw, "ProductDescription"),
			})
		},
		"translations": func(p *erp.Product, k *checker, rw row) {
			p.Translations = append(p.Translations, erp.Translation{
				Language:    k.str(rw, "LanguageId"),
				Name:        k.str(rw, "ProductName"),
				Description: k.str(rw, "ProductDescription"),
			})
		},
		"attachments": func(p *erp.Product, k *checker, rw row) {
			p.Attachments = append(p.Attachments, erp.Attachment{
				ID:           k.str(rw, "AttachmentId"),
				DocumentType: k.str(rw, "DocumentType"),
				FileName:     k.str(rw, "FileName"),
				Title:        k.str(rw, "Title"),
				URL:          k.str(rw, "Url"),
				DefaultImage: k.yes(rw, "IsDefaultImage"),
				DisplayOrder: int(k.int(rw, "DisplayOrder")),
			})
		},
		// An assignment names a category; the category itself is a root of its own.
		"category-assignments": func(p *erp.Product, k *checker, rw row) {
			p.Categories = append(p.Categories, erp.ProductCategory{ID: k.str(rw, "CategoryId"), DisplayOrder: int(k.int(rw, "DisplayOrder"))})
		},
		"related": func(p *erp.Product, k *checker, rw row) {
			p.Related = append(p.Related, erp.RelatedProduct{
				ItemNumber:   k.str(rw, "RelatedItemNumber"),
				RelationType: k.str(rw, "RelationType"),
				DisplayOrder: int(k.int(rw, "DisplayOrder")),
			})
		},
		"barcodes": func(p *erp.Product, k *checker, rw row) {
			p.Barcodes = append(p.Barcodes, erp.Barcode{
				Dimensions: dimensions(k, rw),
				Barcode:    k.str(rw, "Barcode"),
				Setup:      k.str(rw, "BarcodeSetupId"),
				Default:    k.yes(rw, "IsDefaultScannedBarcode"),
			})
		},
		"order-settings": func(p *erp.Product, k *checker, rw row) {
			p.OrderSettings = &erp.OrderSettings{
				MinimumQuantity:  k.dec(rw, "SalesMinimumQuantity"),
				MaximumQuantity:  k.dec(rw, "SalesMaximumQuantity"),
				MultipleQuantity: k.dec(rw, "SalesMultipleQuantity"),
				StandardQuantity: k.dec(rw, "SalesStandardQuantity"),
				SalesStopped:     k.yes(rw, "IsSalesStopped"),
			}
		},
		// A conversion of the shared product (EcoResProductSpecificUnitOfMeasureConversionEntity
		// in Microsoft's Common Data Model; docs/erp-model.md).
		"unit-conversions": func(p *erp.Product, k *checker, rw row) {
			p.UnitConversions = append(p.UnitConversions, erp.UnitConversion{
				From:        k.str(rw, "FromUnitSymbol"),
				To:          k.str(rw, "ToUnitSymbol"),
				Factor:      k.dec(rw, "Factor"),
				Numerator:   k.int(rw, "Numerator"),
				Denominator: k.int(rw, "Denominator"),
				InnerOffset: k.dec(rw, "InnerOffset"),
				OuterOffset: k.dec(rw, "OuterOffset"),
				Rounding:    k.str(rw, "Rounding"),
			})
		},
		"prices": func(p *erp.Product, k *checker, rw row) { p.Prices = append(p.Prices, price(k, rw)) },
		"line-discounts": func(p *erp.Product, k *checker, rw row) {
			p.LineDiscounts = append(p.LineDiscounts, lineDiscount(k, rw, true))
		},
	},
	sort: sortProduct,
}

var customers = kind[erp.Customer]{
	newRecord: func(k *checker, rt *root) *erp.Customer {
		rw := rt.row
		return &erp.Customer{
			Company:    rt.cur.Company,
			Account:    rt.cur.Key,
			Modified:   rt.cur.Modified,
			Name:       k.str(rw, "OrganizationName"),
			Group:      k.str(rw, "CustomerGroupId"),
			PriceGroup: k.str(rw, "DiscountPriceGroupId"),
			// D365's fields of CustomersV3 (docs/pricing.md, S12).
			LineDiscountGroup: k.str(rw, "LineDiscountCode"),
			Currency:          k.currency(rw, "SalesCurrencyCode", true, false),
			Language:          k.str(rw, "LanguageId"),
			OnHold:            k.str(rw, "OnHoldStatus"),
			SalesGroup:        k.str(rw, "CommissionSalesGroupId"),
			Email:             k.str(rw, "PrimaryContactEmail"),
			Phone:             k.str(rw, "PrimaryContactPhone"),
		}
	},
	rows: map[string]func(c *erp.Customer, k *checker, rw row){
		"addresses": func(c *erp.Customer, k *checker, rw row) {
			a := erp.Address{
				ID:          k.str(rw, "AddressLocationId"),
				Description: k.str(rw, "AddressDescription"),
				Street:      k.str(rw, "AddressStreet"),
				City:        k.str(rw, "AddressCity"),
				ZipCode:     k.str(rw, "AddressZipCode"),
				State:       k.str(rw, "AddressState"),
				Country:     k.str(rw, "AddressCountryRegionId"),
				Primary:     k.yes(rw, "IsPrimary"),
			}
			for role := range strings.SplitSeq(k.str(rw, "AddressLocationRoles"), ";") {
				if role = strings.TrimSpace(role); role != "" {
					a.Roles = append(a.Roles, role)
				}
			}
			c.Addresses = append(c.Addresses, a)
		},
	},
	sort: func(c *erp.Customer) {
		slices.SortFunc(c.Addresses, func(a, b erp.Address) int { return strings.Compare(a.ID, b.ID) })
	},
}

var contacts = kind[erp.Contact]{
	newRecord: func(k *checker, rt *root) *erp.Contact {
		rw := rt.row
		return &erp.Contact{
			Company:   rt.cur.Company,
			ID:        rt.cur.Key,
			Modified:  rt.cur.Modified,
			Customer:  k.str(rw, "CustomerAccount"),
			FirstName: k.str(rw, "FirstName"),
			LastName:  k.str(rw, "LastName"),
			JobTitle:  k.str(rw, "JobTitle"),
			Email:     k.str(rw, "PrimaryEmailAddress"),
			Phone:     k.str(rw, "PrimaryPhoneNumber"),
			Language:  k.str(rw, "LanguageId"),
		}
	},
}

var salesReps = kind[erp.SalesRep]{
	newRecord: func(k *checker, rt *root) *erp.SalesRep {
		rw := rt.row
		return &erp.SalesRep{
			Company:         rt.cur.Company,
			PersonnelNumber: rt.cur.Key,
			Modified:        rt.cur.Modified,
			Name:            k.str(rw, "Name"),
			Email:           k.str(rw, "PrimaryEmailAddress"),
			Phone:           k.str(rw, "PrimaryPhoneNumber"),
		}
	},
	// A membership or a customer that cannot be read is left out, not a reason to reject the
	// representative: both are lists of keys.
	rows: map[string]func(s *erp.SalesRep, k *checker, rw row){
		"memberships": func(s *erp.SalesRep, _ *checker, rw row) {
			var k checker
			if g := k.str(rw, "GroupId"); k.ok() && g != "" {
				s.Groups = append(s.Groups, g)
			}
		},
		"group-customers": func(s *erp.SalesRep, _ *checker, rw row) {
			var k checker
			if acct := k.str(rw, "CustomerAccount"); k.ok() && acct != "" {
				s.Customers = append(s.Customers, acct)
			}
		},
	},
	sort: func(s *erp.SalesRep) {
		s.Groups, s.Customers = sortedUnique(s.Groups), sortedUnique(s.Customers)
	},
}

func dimensions(k *checker, rw row) erp.Dimensions {
	return erp.Dimensions{
		Color:         k.str(rw, "ProductColorId"),
		Size:          k.str(rw, "ProductSizeId"),
		Style:         k.str(rw, "ProductStyleId"),
		Configuration: k.str(rw, "ProductConfigurationId"),
	}
}

// price reads a sales price agreement line (SalesPriceAgreementEntity in Microsoft's Common
// Data Model; docs/pricing.md, S3).
func price(k *checker, rw row) erp.PriceAgreement {
	return erp.PriceAgreement{
		RecID:           k.int(rw, "RecordId"),
		Dimensions:      dimensions(k, rw),
		AccountCode:     k.str(rw, "AccountCode"),
		CustomerAccount: k.str(rw, "CustomerAccountNumber"),
		PriceGroup:      k.str(rw, "PriceCustomerGroupCode"),
		Currency:        k.currency(rw, "PriceCurrencyCode", false, true),
		Price:           k.dec(rw, "Price"),
		Unit:            k.str(rw, "QuantityUnitySymbol"),
		FromQuantity:    k.dec(rw, "FromQuantity"),
		ToQuantity:      k.dec(rw, "ToQuantity"),
		ValidFrom:       k.str(rw, "PriceApplicableFromDate"),
		ValidTo:         k.str(rw, "PriceApplicableToDate"),
		FindNext:        k.yes(rw, "WillSearchContinue"),
	}
}

// lineDiscount reads a line discount agreement line (SalesLineDiscountAgreementEntity;
// docs/pricing.md, S4); child is true for a product's own line.
func lineDiscount(k *checker, rw row, child bool) erp.LineDiscount {
	return erp.LineDiscount{
		RecID:           k.int(rw, "RecordId"),
		ItemCode:        k.str(rw, "ItemCode"),
		ItemNumber:      k.str(rw, "ItemNumber"),
		ItemGroup:       k.str(rw, "LineDiscountProductGroupCode"),
		Dimensions:      dimensions(k, rw),
		AccountCode:     k.str(rw, "AccountCode"),
		CustomerAccount: k.str(rw, "CustomerAccountNumber"),
		CustomerGroup:   k.str(rw, "LineDiscountCustomerGroupCode"),
		Currency:        k.currency(rw, "DiscountCurrencyCode", false, child),
		Percent1:        k.dec(rw, "DiscountPercentage1"),
		Percent2:        k.dec(rw, "DiscountPercentage2"),
		Amount:          k.dec(rw, "DiscountAmount"),
		Unit:            k.str(rw, "QuantityUnitSymbol"),
		FromQuantity:    k.dec(rw, "FromQuantity"),
		ToQuantity:      k.dec(rw, "ToQuantity"),
		ValidFrom:       k.str(rw, "DiscountApplicableFromDate"),
		ValidTo:         k.str(rw, "DiscountApplicableToDate"),
		FindNext:        k.yes(rw, "WillSearchContinue"),
	}
}

// dimensionRank orders dimension values as D365 lists the dimensions.
var dimensionRank = map[string]int{"Color": 0, "Size": 1, "Style": 2, "Configuration": 3}

// sortProduct puts the children in a stable order, independent of the service's.
func sortProduct(p *erp.Product) {
	slices.SortFunc(p.DimensionValues, func(a, b erp.DimensionValue) int {
		return cmp.Or(cmp.Compare(dimensionRank[a.Dimension], dimensionRank[b.Dimension]), cmp.Compare(a.Dimension, b.Dimension),
			cmp.Compare(a.DisplayOrder, b.DisplayOrder), cmp.Compare(a.Value, b.Value))
	})
	slices.SortFunc(p.Variants, func(a, b erp.Variant) int {
		return cmp.Or(cmp.Compare(a.VariantNumber, b.VariantNumber), cmp.Compare(a.Color, b.Color), cmp.Compare(a.Size, b.Size),
			cmp.Compare(a.Style, b.Style), cmp.Compare(a.Configuration, b.Configuration))
	})
	slices.SortFunc(p.Translations, func(a, b erp.Translation) int { return cmp.Compare(a.Language, b.Language) })
	slices.SortFunc(p.Attachments, func(a, b erp.Attachment) int {
		return cmp.Or(cmp.Compare(a.DisplayOrder, b.DisplayOrder), cmp.Compare(a.ID, b.ID))
	})
	slices.SortFunc(p.Categories, func(a, b erp.ProductCategory) int {
		return cmp.Or(cmp.Compare(a.DisplayOrder, b.DisplayOrder), cmp.Compare(a.ID, b.ID))
	})
	slices.SortFunc(p.Related, func(a, b erp.RelatedProduct) int {
		return cmp.Or(cmp.Compare(a.DisplayOrder, b.DisplayOrder), cmp.Compare(a.ItemNumber, b.ItemNumber), cmp.Compare(a.RelationType, b.RelationType))
	})
	slices.SortFunc(p.Barcodes, func(a, b erp.Barcode) int { return cmp.Compare(a.Barcode, b.Barcode) })
	slices.SortFunc(p.UnitConversions, func(a, b erp.UnitConversion) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	slices.SortFunc(p.Prices, func(a, b erp.PriceAgreement) int { return cmp.Compare(a.RecID, b.RecID) })
	slices.SortFunc(p.LineDiscounts, func(a, b erp.LineDiscount) int { return cmp.Compare(a.RecID, b.RecID) })
}

// sortedUnique returns s sorted without duplicates; nil when empty.
func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
