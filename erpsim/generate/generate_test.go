package generate

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/erpsim/store"
)

func generated(t *testing.T, cfg Config) (*store.Store, Stats) {
	t.Helper()
	s, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	stats, err := Run(context.Background(), s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, stats
}

// digest hashes every record of every collection in key order.
func digest(t *testing.T, s *store.Store) string {
	h := sha256.New()
	for _, tb := range s.Schema().Tables {
		page, err := s.Query(context.Background(), store.Query{Table: tb.Name, Top: -1, PageSize: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(h, tb.Name, page.Rows)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, Products: 200, Customers: 20, SalesReps: 6}
	a, _ := generated(t, cfg)
	b, _ := generated(t, cfg)
	if digest(t, a) != digest(t, b) {
		t.Error("the same seed gave different data")
	}
	cfg.Seed = 43
	c, _ := generated(t, cfg)
	if digest(t, a) == digest(t, c) {
		t.Error("another seed gave the same data")
	}
}

func TestCatalogContents(t *testing.T) {
	s, stats := generated(t, Config{Seed: 1, Products: 600, Customers: 60, SalesReps: 30})
	for _, tb := range s.Schema().Tables {
		if tb.Name != store.DeletedRecords && stats.Records[tb.Name] == 0 {
			t.Errorf("no %s generated", tb.Name)
		}
	}
	if got := stats.Records[store.ReleasedProducts]; got != 600 {
		t.Errorf("%d products, want 600", got)
	}
	count := func(table, where string) int {
		t.Helper()
		var n int
		if err := s.DB().QueryRow(`SELECT COUNT(*) FROM "` + table + `" WHERE ` + where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for what, n := range map[string]int{
		"invisible categories":            count(store.ProductCategories, `IsVisibleInWebshop = 'No'`),
		"sales-stopped items":             count(store.ItemDefaultOrderSettings, `IsSalesStopped = 'Yes'`),
		"masters":                         count(store.ReleasedProducts, `ProductSubType = 'ProductMaster'`),
		"variant prices":                  count(store.SalesPriceAgreements, `ProductColorId <> ''`),
		"customer prices":                 count(store.SalesPriceAgreements, `AccountCode = 'Table'`),
		"foreign currency prices":         count(store.SalesPriceAgreements, `PriceCurrencyCode <> 'USD' AND dataAreaId = 'usmf'`),
		"German descriptions":             count(store.ProductTranslations, `LanguageId = 'de' AND ProductDescription LIKE '%Garantie%'`),
		"blocked customers":               count(store.Customers, `OnHoldStatus NOT IN ('No','Never')`),
		"dated price validity":            count(store.SalesPriceAgreements, `PriceApplicableFromDate <> '1900-01-01'`),
		"quantity breaks":                 count(store.SalesPriceAgreements, `FromQuantity <> '1' AND FromQuantity <> '0'`),
		"reps in two groups":              count(store.CommissionSalesRepresentatives, `PersonnelNumber IN (SELECT PersonnelNumber FROM CommissionSalesRepresentatives GROUP BY dataAreaId, PersonnelNumber HAVING COUNT(*) > 1)`),
		"delivery addresses":              count(store.CustomerPostalAddresses, `AddressLocationRoles = 'Delivery'`),
		"data sheets (attachments)":       count(store.ProductAttachments, `DocumentType = 'File'`),
		"prices without find next":        count(store.SalesPriceAgreements, `WillSearchContinue = 'No'`),
		"discounts without find next":     count(store.SalesLineDiscountAgreements, `WillSearchContinue = 'No'`),
		"discount amounts":                count(store.SalesLineDiscountAgreements, `DiscountAmount <> '0'`),
		"second discount percentages":     count(store.SalesLineDiscountAgreements, `DiscountPercentage2 <> '0'`),
		"dated discounts":                 count(store.SalesLineDiscountAgreements, `DiscountApplicableFromDate <> '1900-01-01'`),
		"items in a discount group":       count(store.ReleasedProducts, `SalesLineDiscountProductGroupCode <> ''`),
		"customers in a discount group":   count(store.Customers, `LineDiscountCode <> ''`),
		"customers without a price group": count(store.Customers, `DiscountPriceGroupId = ''`),
		"deactivated relations":           count(store.PriceParameters, `SalesLineAllAll = 'No'`),
		"pallet conversions":              count(store.ProductUnitOfMeasureConversions, `FromUnitSymbol = 'pallet'`),
		// A conversion is the shared product's: products released by several companies have one.
		"conversions of products released in demf and gbsi": count(store.ProductUnitOfMeasureConversions,
			`ProductNumber IN (SELECT ProductNumber FROM ReleasedProductsV2 WHERE dataAreaId = 'demf') AND
			 ProductNumber IN (SELECT ProductNumber FROM ReleasedProductsV2 WHERE dataAreaId = 'gbsi')`),
	} {
		if n == 0 {
			t.Errorf("no %s", what)
		}
	}
	// Sales prices are item specific, as in D365: no "all items" price lines.
	if n := count(store.SalesPriceAgreements, `ItemCode <> 'Table' OR ItemNumber = ''`); n != 0 {
		t.Errorf("%d sales price lines not for one item", n)
	}
	// Line discounts in every relation of item code x account code.
	for _, item := range []string{"Table", "GroupId", "All"} {
		for _, account := range []string{"Table", "GroupId", "All"} {
			if count(store.SalesLineDiscountAgreements, `ItemCode = '`+item+`' AND AccountCode = '`+account+`'`) == 0 {
				t.Errorf("no line discount for item code %s, account code %s", item, account)
			}
		}
	}
	if n := count(store.PriceParameters, `1`); n != 3 {
		t.Errorf("%d activation rows, want one per company", n)
	}
	// The demo customers (erpsim/README.md).
	for where, acct := range map[string]string{
		`DiscountPriceGroupId = 'Wholesale' AND LineDiscountCode = ''`:                "US-001",
		`DiscountPriceGroupId = '' AND LineDiscountCode = ''`:                         "US-002",
		`DiscountPriceGroupId = '' AND LineDiscountCode = 'Reseller'`:                 "US-003",
		`DiscountPriceGroupId = '' AND LineDiscountCode = '' AND OnHoldStatus = 'No'`: "US-004",
		`OnHoldStatus = 'All'`: "US-005",
	} {
		if count(store.Customers, `dataAreaId = 'usmf' AND CustomerAccount = '`+acct+`' AND `+where) != 1 {
			t.Errorf("demo customer %s is not %s", acct, where)
		}
	}
	if count(store.SalesPriceAgreements, `CustomerAccountNumber = 'US-002' AND PriceApplicableToDate = '2154-12-31'`) == 0 {
		t.Error("demo customer US-002 has no net prices of its own")
	}
	if n := count(store.SalesPriceAgreements, `CustomerAccountNumber IN ('US-001','US-003','US-004','US-005','GB-001')`) +
		count(store.SalesLineDiscountAgreements, `CustomerAccountNumber IN ('US-001','US-002','US-003','US-004','US-005','GB-001')`); n != 0 {
		t.Errorf("%d agreement lines for demo customers whose kind has none", n)
	}
	// Every bar code is a valid EAN-13.
	rows, err := s.DB().Query(`SELECT Barcode FROM ProductBarcodes`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		rows.Scan(&code)
		if len(code) != 13 || strings.Trim(code, "0123456789") != "" || eanCheck(code[:12]) != int(code[12]-'0') {
			t.Errorf("bad EAN-13 %q", code)
		}
	}
}

func TestEANCheck(t *testing.T) {
	// 4006381333931 is a well-known valid EAN-13.
	if got := eanCheck("400638133393"); got != 1 {
		t.Errorf("check digit %d, want 1", got)
	}
}

// TestChildQueriesUseForeignKeyIndexes checks the plan of the connector's child reads after a
// load: "ItemNumber in (...)" must seek the foreign-key index, not walk the company.
func TestChildQueriesUseForeignKeyIndexes(t *testing.T) {
	s, _ := generated(t, Config{Seed: 1, Products: 900, Customers: 30, SalesReps: 6})
	for table, order := range map[string]string{
		store.SalesPriceAgreements:       "RecordId",
		store.ProductBarcodes:            "Barcode",
		store.ProductTranslations:        "ItemNumber, LanguageId",
		store.ProductCategoryAssignments: "ItemNumber, CategoryId",
	} {
		rows, err := s.DB().Query(`EXPLAIN QUERY PLAN SELECT * FROM "` + table + `" WHERE "dataAreaId" = 'usmf' AND "ItemNumber" IN ('1000','1001','1002') ORDER BY ` + order + ` LIMIT 10001`)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var a, b, c int
			var d string
			rows.Scan(&a, &b, &c, &d)
			plan = append(plan, d)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); !strings.Contains(p, "ItemNumber=?") {
			t.Errorf("%s: plan %q does not seek by ItemNumber", table, p)
		}
	}
}
