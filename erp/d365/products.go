package d365

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/erpsync/erpsync/erp"
)

// product is a root being assembled.
type product struct {
	*root
	p erp.Product
}

// childRows are the child rows of one page, by collection, gathered concurrently.
type childRows struct {
	mu     sync.Mutex
	byColl map[string][]row
	// categories are the categories assigned in the page, by company and id.
	categories map[companyKey]row
	// allPrices are the ItemCode=All price lines of each company.
	allPrices map[string][]row
}

func (cr *childRows) add(coll string, rows []row) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.byColl[coll] = append(cr.byColl[coll], rows...)
}

// Products reads one page of released products with their children: dimension values, variants,
// translations, attachments, categories, related products, bar codes, order settings and price
// agreements (the item's own lines and the company's ItemCode=All lines).
func (c *Client) Products(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.Product], error) {
	var n counter
	var page erp.Page[erp.Product]
	coll := c.colls[collReleasedProducts]
	roots, size, err := c.readRoots(ctx, &n, coll, "ItemNumber", r)
	if err != nil {
		return page, err
	}
	products := make([]*product, len(roots))
	index := map[companyKey]*product{}
	for i, rt := range roots {
		pr := &product{root: rt}
		k, rw := &rt.chk, rt.row
		pr.p = erp.Product{
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
		}
		products[i] = pr
		if rt.cur.Key != "" {
			index[companyKey{rt.cur.Company, rt.cur.Key}] = pr
		}
	}
	cr, err := c.productChildren(ctx, &n, roots)
	if err != nil {
		return page, fmt.Errorf("read children of %s page: %w", coll.name, err)
	}
	attachProductChildren(index, cr)
	for _, pr := range products {
		if !pr.chk.ok() {
			page.Rejected = append(page.Rejected, rejection(erp.Products, pr.root))
			continue
		}
		sortProduct(&pr.p)
		page.Records = append(page.Records, pr.p)
	}
	page.Next, page.Done = pageEnd(roots, size, r.After)
	page.Requests = n.value()
	return page, nil
}

// productChildren reads the children of a page of products: one request per child collection
// and company (more if the item list does not fit one URL), at most Config.Concurrency at once.
func (c *Client) productChildren(ctx context.Context, n *counter, roots []*root) (*childRows, error) {
	cr := &childRows{byColl: map[string][]row{}, categories: map[companyKey]row{}, allPrices: map[string][]row{}}
	companies, keys := keysByCompany(roots)
	var tasks []func(context.Context) error
	byItem := func(d365, field string, cond func(*collection) string) {
		coll := c.colls[d365]
		for _, co := range companies {
			tasks = append(tasks, func(ctx context.Context) error {
				condText := ""
				if cond != nil {
					condText = cond(coll)
				}
				rows, err := c.fetchIn(ctx, n, coll, co, condText, field, keys[co], nil)
				if err != nil {
					return err
				}
				cr.add(d365, rows)
				return nil
			})
		}
	}
	// The slowest first: prices and categories take two requests or the most rows.
	byItem(collPrices, "ItemNumber", func(coll *collection) string { return coll.f("ItemCode") + " eq 'Table'" })
	for _, co := range companies {
		coll := c.colls[collPrices]
		tasks = append(tasks, func(ctx context.Context) error {
			rows, err := c.fetchWhere(ctx, n, coll, co, coll.f("ItemCode")+" eq 'All'")
			if err != nil {
				return err
			}
			cr.mu.Lock()
			cr.allPrices[co] = rows
			cr.mu.Unlock()
			return nil
		})
	}
	for _, co := range companies {
		assign, cats := c.colls[collCategoryAssignment], c.colls[collCategories]
		tasks = append(tasks, func(ctx context.Context) error {
			rows, err := c.fetchIn(ctx, n, assign, co, "", "ItemNumber", keys[co], nil)
			if err != nil {
				return err
			}
			cr.add(collCategoryAssignment, rows)
			var ids []string
			seen := map[string]bool{}
			for _, rw := range rows {
				if id := rw.text("CategoryId"); id != "" && !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
			catRows, err := c.fetchIn(ctx, n, cats, co, "", "CategoryId", ids, nil)
			if err != nil {
				return err
			}
			cr.mu.Lock()
			for _, rw := range catRows {
				id := rw.text("CategoryId")
				cr.categories[companyKey{co, id}] = rw
			}
			cr.mu.Unlock()
			return nil
		})
	}
	byItem(collVariants, "ItemNumber", nil)
	byItem(collTranslations, "ItemNumber", nil)
	byItem(collBarcodes, "ItemNumber", nil)
	byItem(collAttachments, "ItemNumber", nil)
	byItem(collDimensionValues, "ProductMasterNumber", nil)
	byItem(collRelated, "ItemNumber", nil)
	byItem(collOrderSettings, "ItemNumber", nil)
	if err := c.parallel(ctx, tasks); err != nil {
		return nil, err
	}
	return cr, nil
}

// owner returns the product a child row belongs to, by its company and item field.
func owner(index map[companyKey]*product, rw row, field string) *product {
	co := rw.text(fCompany)
	item := rw.text(field)
	return index[companyKey{co, item}]
}

// attachProductChildren puts each child row into its product, checking it with the product's
// checker so that a bad child rejects its product.
func attachProductChildren(index map[companyKey]*product, cr *childRows) {
	for _, rw := range cr.byColl[collDimensionValues] {
		if pr := owner(index, rw, "ProductMasterNumber"); pr != nil {
			k := &pr.chk
			pr.p.DimensionValues = append(pr.p.DimensionValues, erp.DimensionValue{
				Dimension:    k.str(rw, "ProductDimension"),
				Value:        k.str(rw, "DimensionValueId"),
				Description:  k.str(rw, "Description"),
				DisplayOrder: int(k.int(rw, "DisplayOrder")),
			})
		}
	}
	for _, rw := range cr.byColl[collVariants] {
		if pr := owner(index, rw, "ItemNumber"); pr != nil {
			k := &pr.chk
			pr.p.Variants = append(pr.p.Variants, erp.Variant{
				Dimensions:    dimensions(k, rw),
				VariantNumber: k.str(rw, "ProductVariantNumber"),
				Name:          k.str(rw, "ProductName"),
				Description:   k.str(rw, "ProductDescription"),
			})
		}
	}
	for _, rw := range cr.byColl[collTranslations] {
		if pr := owner(index, rw, "ItemNumber"); pr != nil {
			k := &pr.chk
			pr.p.Translations = append(pr.p.Translations, erp.Translation{
				Language:    k.str(rw, "LanguageId"),
				Name:        k.str(rw, "ProductName"),
				Description: k.str(rw, "ProductDescription"),
			})
		}
	}
	for _, rw := range cr.byColl[collAttachments] {
		if pr := owner(index, rw, "ItemNumber"); pr != nil {
			k := &pr.chk
			pr.p.Attachments = append(pr.p.Attachments, erp.Attachment{
				ID:           k.str(rw, "AttachmentId"),
				DocumentType: k.str(rw, "DocumentType"),
				FileName:     k.str(rw, "FileName"),
				Title:        k.str(rw, "Title"),
				URL:          k.str(rw, "Url"),
				DefaultImage: k.yes(rw, "IsDefaultImage"),
				DisplayOrder: int(k.int(rw, "DisplayOrder")),
			})
		}
	}
	for _, rw := range cr.byColl[collCategoryAssignment] {
		pr := owner(index, rw, "ItemNumber")
		if pr == nil {
			continue
		}
		k := &pr.chk
		pc := erp.ProductCategory{ID: k.str(rw, "CategoryId"), DisplayOrder: int(k.int(rw, "DisplayOrder"))}
		// An assignment to a category that is gone keeps its id and is not visible.
		if cat, ok := cr.categories[companyKey{pr.p.Company, pc.ID}]; ok {
			pc.Name = k.str(cat, "CategoryName")
			pc.ParentID = k.str(cat, "ParentCategoryId")
			pc.Visible = k.yes(cat, "IsVisibleInWebshop")
		}
		pr.p.Categories = append(pr.p.Categories, pc)
	}
	for _, rw := range cr.byColl[collRelated] {
		if pr := owner(index, rw, "ItemNumber"); pr != nil {
			k := &pr.chk
			pr.p.Related = append(pr.p.Related, erp.RelatedProduct{
				ItemNumber:   k.str(rw, "RelatedItemNumber"),
				RelationType: k.str(rw, "RelationType"),
				DisplayOrder: int(k.int(rw, "DisplayOrder")),
			})
		}
	}
	for _, rw := range cr.byColl[collBarcodes] {
		if pr := owner(index, rw, "ItemNumber"); pr != nil {
			k := &pr.chk
			pr.p.Barcodes = append(pr.p.Barcodes, erp.Barcode{
				Dimensions: dimensions(k, rw),
				Barcode:    k.str(rw, "Barcode"),
				Setup:      k.str(rw, "BarcodeSetupId"),
				Default:    k.yes(rw, "IsDefaultScannedBarcode"),
			})
		}
	}
	for _, rw := range cr.byColl[collOrderSettings] {
		if pr := owner(index, rw, "ItemNumber"); pr != nil {
			k := &pr.chk
			pr.p.OrderSettings = &erp.OrderSettings{
				MinimumQuantity:  k.dec(rw, "SalesMinimumQuantity"),
				MaximumQuantity:  k.dec(rw, "SalesMaximumQuantity"),
				MultipleQuantity: k.dec(rw, "SalesMultipleQuantity"),
				StandardQuantity: k.dec(rw, "SalesStandardQuantity"),
				SalesStopped:     k.yes(rw, "IsSalesStopped"),
			}
		}
	}
	for _, rw := range cr.byColl[collPrices] {
		if pr := owner(index, rw, "ItemNumber"); pr != nil {
			pr.p.Prices = append(pr.p.Prices, price(&pr.chk, rw))
		}
	}
	// The company's ItemCode=All lines belong to each of its products: read them once per
	// company and give their problems to every product they would reach.
	for co, rows := range cr.allPrices {
		var k checker
		prices := make([]erp.PriceAgreement, len(rows))
		for i, rw := range rows {
			prices[i] = price(&k, rw)
		}
		for key, pr := range index {
			if key.company != co {
				continue
			}
			pr.p.Prices = append(pr.p.Prices, prices...)
			pr.chk.problems = append(pr.chk.problems, k.problems...)
		}
	}
}

func dimensions(k *checker, rw row) erp.Dimensions {
	return erp.Dimensions{
		Color:         k.str(rw, "ProductColorId"),
		Size:          k.str(rw, "ProductSizeId"),
		Style:         k.str(rw, "ProductStyleId"),
		Configuration: k.str(rw, "ProductConfigurationId"),
	}
}

func price(k *checker, rw row) erp.PriceAgreement {
	itemCode := k.str(rw, "ItemCode")
	return erp.PriceAgreement{
		RecID:           k.int(rw, "AgreementRecId"),
		AllItems:        itemCode == "All",
		Dimensions:      dimensions(k, rw),
		AccountCode:     k.str(rw, "AccountCode"),
		CustomerAccount: k.str(rw, "CustomerAccountNumber"),
		PriceGroup:      k.str(rw, "PriceCustomerGroupCode"),
		Currency:        k.currency(rw, "PriceCurrencyCode", false, true),
		Price:           k.dec(rw, "Price"),
		Unit:            k.str(rw, "QuantityUnitSymbol"),
		FromQuantity:    k.dec(rw, "FromQuantity"),
		ToQuantity:      k.dec(rw, "ToQuantity"),
		ValidFrom:       k.str(rw, "PriceApplicableFromDate"),
		ValidTo:         k.str(rw, "PriceApplicableToDate"),
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
	slices.SortFunc(p.Prices, func(a, b erp.PriceAgreement) int { return cmp.Compare(a.RecID, b.RecID) })
}
