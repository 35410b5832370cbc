package pricecheck

import (
	"slices"
	"testing"
)

// Hand-worked examples of docs/pricing.md, so that the checker is checked on its own too.
func TestExamples(t *testing.T) {
	product := Row{"ItemNumber": "1000", "SalesPrice": "100", "SalesCurrencyCode": "USD", "SalesUnitSymbol": "ea",
		"SalesLineDiscountProductGroupCode": "FURN"}
	customer := Row{"CustomerAccount": "US-001", "DiscountPriceGroupId": "Wholesale", "LineDiscountCode": "Reseller",
		"SalesCurrencyCode": "USD", "OnHoldStatus": "No"}
	all := Row{}
	for _, r := range append(slices.Clone(priceRelations), lineRelations...) {
		all[r.field] = "Yes"
	}
	price := func(rec, account, group, p, next string) Row {
		return Row{"RecordId": rec, "ItemCode": "Table", "ItemNumber": "1000", "AccountCode": account, "PriceCustomerGroupCode": group,
			"PriceCurrencyCode": "USD", "Price": p, "FromQuantity": "1", "ToQuantity": "0", "WillSearchContinue": next}
	}
	disc := func(rec, item, account, p1, p2, amount, next string) Row {
		return Row{"RecordId": rec, "ItemCode": item, "LineDiscountProductGroupCode": map[string]string{"GroupId": "FURN"}[item],
			"ItemNumber": map[string]string{"Table": "1000"}[item], "AccountCode": account,
			"LineDiscountCustomerGroupCode": map[string]string{"GroupId": "Reseller"}[account], "DiscountCurrencyCode": "USD",
			"DiscountPercentage1": p1, "DiscountPercentage2": p2, "DiscountAmount": amount, "FromQuantity": "1", "WillSearchContinue": next}
	}
	// (100 - 20) x 0.9 x 0.95 = 68.4; 10 % then 5 % is 14.5 %.
	a, err := Expect(Data{Product: product, Customer: customer, Activation: all,
		Discounts: []Row{disc("1", "All", "All", "10", "5", "20", "Yes")}}, Ask{Date: "2026-06-01"})
	if err != nil || a.Price != "100" || a.Net != "68.4" || a.DiscountPercent != "14.5" {
		t.Errorf("tiered: %+v %v", a, err)
	}
	// The group's price 80 stops (no Find next) before the price for all customers, 70.
	a, _ = Expect(Data{Product: product, Customer: customer, Activation: all,
		Prices: []Row{price("1", "All", "", "70", "Yes"), price("2", "GroupId", "Wholesale", "80", "No")}}, Ask{})
	if a.Price != "80" || a.PriceRec != "2" || !a.PriceStopped {
		t.Errorf("stop: %+v", a)
	}
	// With Find next the lowest wins; deactivating the all-customers relation brings 80 back.
	a, _ = Expect(Data{Product: product, Customer: customer, Activation: all,
		Prices: []Row{price("1", "All", "", "70", "Yes"), price("2", "GroupId", "Wholesale", "80", "Yes")}}, Ask{})
	if a.Price != "70" || a.PricesVisited != 2 {
		t.Errorf("find next: %+v", a)
	}
	off := Row{}
	for k, v := range all {
		off[k] = v
	}
	off["SalesPriceAllItem"] = "No"
	a, _ = Expect(Data{Product: product, Customer: customer, Activation: off,
		Prices: []Row{price("1", "All", "", "70", "Yes"), price("2", "GroupId", "Wholesale", "80", "Yes")}}, Ask{})
	if a.Price != "80" || !slices.Equal(a.Inactive, []string{"SalesPriceAllItem"}) {
		t.Errorf("deactivated: %+v", a)
	}
	// Find next accumulates discounts across relations: 2 % (group x group) + 3 % (all x all).
	a, _ = Expect(Data{Product: product, Customer: customer, Activation: all,
		Discounts: []Row{disc("7", "All", "All", "3", "", "", "Yes"), disc("9", "GroupId", "GroupId", "2", "", "", "Yes")}}, Ask{})
	if a.Net != "95" || !slices.Equal(a.Discounts, []string{"9", "7"}) {
		t.Errorf("accumulated: %+v", a)
	}
	for in, want := range map[string]string{"0": "0", "12.50": "12.5", "-0.125": "-0.125", "7": "7"} {
		n, err := fixed(in)
		if err != nil || text(n) != want {
			t.Errorf("text(fixed(%s)) = %s, want %s (%v)", in, text(n), want, err)
		}
	}
}
