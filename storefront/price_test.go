package storefront

import (
	"slices"
	"testing"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/pricing"
)

// TestQuoterFeedsTheEngine: the quoter hands the engine a document's own lines, the joined line
// discounts and the activation, and reports the engine's answer with the list price and the
// kinds of agreement. (The rules themselves are pricing's, checked against internal/pricecheck;
// the storefront's answers are checked against it through the API in api_test.go.)
func TestQuoterFeedsTheEngine(t *testing.T) {
	p := document.Product{ItemNumber: "1000", Currency: "USD", Unit: "ea", BasePrice: "100", DiscountGroup: "FURN",
		Prices: []document.Price{
			{RecID: 1, AccountCode: erp.AccountGroup, PriceGroup: "Wholesale", Currency: "USD", Price: "90", FromQuantity: "1", ToQuantity: "0", FindNext: true},
			{RecID: 2, AccountCode: erp.AccountAll, Currency: "USD", Price: "95", FromQuantity: "1", ToQuantity: "0", Dimensions: erp.Dimensions{Color: "RED"}},
		},
		LineDiscounts: []document.LineDiscount{
			{RecID: 7, ItemCode: erp.ItemTable, ItemNumber: "1000", AccountCode: erp.AccountCustomer, Customer: "US-009", Currency: "USD",
				Percent1: "10", Percent2: "0", Amount: "0", FromQuantity: "1", ToQuantity: "0", FindNext: true},
		}}
	group := document.LineDiscount{RecID: 40, ItemCode: erp.ItemGroup, ItemGroup: "FURN", AccountCode: erp.AccountGroup, CustomerGroup: "Reseller",
		Currency: "USD", Percent1: "5", Percent2: "0", Amount: "0", FromQuantity: "1", ToQuantity: "0", FindNext: true}
	all := document.LineDiscount{RecID: 41, ItemCode: erp.ItemAll, AccountCode: erp.AccountAll, Currency: "USD",
		Percent1: "2", Percent2: "0", Amount: "0", FromQuantity: "100", ToQuantity: "0", FindNext: true}
	active := pricing.AllActive()
	noGroupDiscount := active
	noGroupDiscount.Set(pricing.LineDiscount, pricing.Relation{Account: pricing.Group, Item: pricing.Group}, false)
	today := PriceQuery{Quantity: "1", Date: "2026-11-27"}
	for _, tc := range []struct {
		name string
		q    Quoter
		pq   PriceQuery
		want Quote
	}{
		{"a group price, then the group's line discount joined from its own document",
			Quoter{Shopper: Shopper{Account: "US-001", PriceGroup: "Wholesale", LineDiscountGroup: "Reseller", Currency: "USD"}, Activation: active,
				Discounts: []document.LineDiscount{group, all}}, today,
			Quote{Available: true, Price: "85.5", Currency: "USD", ListPrice: "100", UnitPrice: "90", Source: SourcePriceGroup, RecID: 1,
				DiscountPercent: "5", DiscountAmount: "4.5", Discounts: []Discount{{RecID: 40, Relation: "SalesLineGroupGroup"}}}},
		{"the activation switches the group's line discount off",
			Quoter{Shopper: Shopper{Account: "US-001", PriceGroup: "Wholesale", LineDiscountGroup: "Reseller", Currency: "USD"}, Activation: noGroupDiscount,
				Discounts: []document.LineDiscount{group}}, today,
			Quote{Available: true, Price: "90", Currency: "USD", ListPrice: "100", UnitPrice: "90", Source: SourcePriceGroup, RecID: 1,
				DiscountPercent: "0", DiscountAmount: "0"}},
		{"the product's own line discount for one customer, and the all-items one from 100 pieces",
			Quoter{Shopper: Shopper{Account: "US-009", Currency: "USD"}, Activation: active, Discounts: []document.LineDiscount{all}},
			PriceQuery{Quantity: "100", Date: "2026-11-27"},
			Quote{Available: true, Price: "88", Currency: "USD", ListPrice: "100", UnitPrice: "100", Source: SourceBase,
				DiscountPercent: "12", DiscountAmount: "12", Discounts: []Discount{{RecID: 7, Relation: "SalesLineAccountItem"}, {RecID: 41, Relation: "SalesLineAllAll"}}}},
		{"a variant's price for all customers",
			Quoter{Activation: active}, PriceQuery{Quantity: "1", Variant: VariantDims{Color: "RED"}},
			Quote{Available: true, Price: "95", Currency: "USD", ListPrice: "100", UnitPrice: "95", Source: SourceAll, RecID: 2,
				DiscountPercent: "0", DiscountAmount: "0"}},
		{"on hold: no price", Quoter{Shopper: Shopper{Account: "US-005", Blocked: true}, Activation: active}, today,
			Quote{Reason: ReasonBlocked}},
		{"another currency without an agreement: no price, no list price",
			Quoter{Shopper: Shopper{Account: "US-002", Currency: "EUR"}, Activation: active}, today,
			Quote{Reason: ReasonNoCurrency, Currency: "EUR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.q.Quote(p, tc.pq)
			if got.Available != tc.want.Available || got.Price != tc.want.Price || got.Currency != tc.want.Currency || got.ListPrice != tc.want.ListPrice ||
				got.UnitPrice != tc.want.UnitPrice || got.Source != tc.want.Source || got.RecID != tc.want.RecID || got.Reason != tc.want.Reason ||
				got.DiscountPercent != tc.want.DiscountPercent || got.DiscountAmount != tc.want.DiscountAmount || !slices.Equal(got.Discounts, tc.want.Discounts) {
				t.Errorf("quote\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}

// TestActivationOf: the activation document's field names turn into the engine's relations.
func TestActivationOf(t *testing.T) {
	a := activationOf([]string{"SalesPriceGroupItem", "SalesLineAllAll", "SalesLineAccountGroup", "NotAField"})
	want := map[string]bool{"SalesPriceGroupItem": true, "SalesLineAllAll": true, "SalesLineAccountGroup": true}
	for _, k := range []pricing.Kind{pricing.SalesPrice, pricing.LineDiscount} {
		for _, r := range pricing.Relations(k) {
			if f := pricing.ParameterField(k, r); a.On(k, r) != want[f] {
				t.Errorf("%s: on %v, want %v", f, a.On(k, r), want[f])
			}
		}
	}
}

func TestHiddenBecause(t *testing.T) {
	for _, tc := range []struct {
		p    document.Product
		want []string
	}{
		{document.Product{CategoryIDs: []string{"A"}}, nil},
		{document.Product{CategoryIDs: []string{"B"}}, []string{HiddenInvisible}},
		{document.Product{}, []string{HiddenInvisible}},
		{document.Product{CategoryIDs: []string{"B", "A"}, SalesStopped: true}, []string{HiddenSalesStopped}},
		{document.Product{Envelope: document.Envelope{Deleted: true}, CategoryIDs: []string{"A"}}, []string{HiddenDeleted}},
	} {
		if got := HiddenBecause(tc.p, []string{"A", "C"}, false); !slices.Equal(got, tc.want) {
			t.Errorf("HiddenBecause(%+v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}
