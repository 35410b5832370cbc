package storefront

import (
	"slices"
	"testing"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
)

func line(rec int64, account, who, price, from, to string) document.Price {
	l := document.Price{RecID: rec, AccountCode: account, Currency: "USD", Price: price, FromQuantity: from, ToQuantity: to}
	switch account {
	case erp.AccountCustomer:
		l.Customer = who
	case erp.AccountGroup:
		l.PriceGroup = who
	}
	return l
}

func with(l document.Price, f func(*document.Price)) document.Price { f(&l); return l }

func TestPriceFor(t *testing.T) {
	cust := Shopper{Account: "US-001", PriceGroup: "Retail", Currency: "USD"}
	base := document.Product{Currency: "USD", BasePrice: "100"}
	product := func(lines ...document.Price) document.Product {
		p := base
		p.Prices = lines
		return p
	}
	today := "2026-11-27"
	tests := []struct {
		name    string
		p       document.Product
		s       Shopper
		q       PriceQuery
		price   string
		source  string
		rec     int64
		reason  string
		comment string
	}{
		{name: "no lines: base price", p: product(), s: cust, price: "100", source: SourceBase},
		{name: "no base price, no lines", p: document.Product{Currency: "USD"}, s: cust, reason: ReasonNoPrice},
		{name: "customer before group before all", s: cust, p: product(
			line(1, erp.AccountAll, "", "80", "1", "0"),
			line(2, erp.AccountGroup, "Retail", "90", "1", "0"),
			line(3, erp.AccountCustomer, "US-001", "95", "1", "0"),
		), price: "95", source: SourceCustomer, rec: 3},
		{name: "group before all even when dearer", s: cust, p: product(
			line(1, erp.AccountAll, "", "80", "1", "0"),
			line(2, erp.AccountGroup, "Retail", "90", "1", "0"),
		), price: "90", source: SourcePriceGroup, rec: 2},
		{name: "another customer's line does not apply", s: cust, p: product(
			line(1, erp.AccountCustomer, "US-002", "10", "1", "0"),
			line(2, erp.AccountGroup, "Wholesale", "20", "1", "0"),
			line(3, erp.AccountAll, "", "99.5", "1", "0"),
		), price: "99.5", source: SourceAll, rec: 3},
		{name: "anonymous gets only All", s: Shopper{}, p: product(
			line(1, erp.AccountCustomer, "US-001", "10", "1", "0"),
			line(2, erp.AccountGroup, "Retail", "20", "1", "0"),
			line(3, erp.AccountAll, "", "99.5", "1", "0"),
		), price: "99.5", source: SourceAll, rec: 3},
		{name: "anonymous without All lines: base", s: Shopper{}, p: product(
			line(2, erp.AccountGroup, "Retail", "20", "1", "0"),
		), price: "100", source: SourceBase},
		{name: "blocked sees nothing", s: Shopper{Account: "US-001", Blocked: true, Currency: "USD"}, p: product(
			line(3, erp.AccountAll, "", "99.5", "1", "0"),
		), reason: ReasonBlocked},
		{name: "quantity break below", s: cust, q: PriceQuery{Quantity: "9"}, p: product(
			line(1, erp.AccountAll, "", "95", "10", "49"),
			line(2, erp.AccountAll, "", "90", "50", "0"),
		), price: "100", source: SourceBase},
		{name: "quantity break from inclusive", s: cust, q: PriceQuery{Quantity: "10"}, p: product(
			line(1, erp.AccountAll, "", "95", "10", "49"),
			line(2, erp.AccountAll, "", "90", "50", "0"),
		), price: "95", source: SourceAll, rec: 1},
		{name: "quantity break to exclusive", s: cust, q: PriceQuery{Quantity: "49"}, p: product(
			line(1, erp.AccountAll, "", "95", "10", "49"),
			line(2, erp.AccountAll, "", "90", "50", "0"),
		), price: "100", source: SourceBase},
		{name: "quantity break open end", s: cust, q: PriceQuery{Quantity: "5000"}, p: product(
			line(1, erp.AccountAll, "", "95", "10", "49"),
			line(2, erp.AccountAll, "", "90", "50", "0"),
		), price: "90", source: SourceAll, rec: 2},
		{name: "fractional quantity", s: cust, q: PriceQuery{Quantity: "48.5"}, p: product(
			line(1, erp.AccountAll, "", "95", "10", "49"),
		), price: "95", source: SourceAll, rec: 1},
		{name: "quantity from 0 covers 1", s: cust, p: product(
			line(1, erp.AccountGroup, "Retail", "1", "0", "0"),
		), price: "1", source: SourcePriceGroup, rec: 1},
		{name: "valid dates inclusive", s: cust, q: PriceQuery{Date: "2026-03-31"}, p: product(
			with(line(1, erp.AccountCustomer, "US-001", "70", "1", "0"), func(l *document.Price) { l.ValidFrom, l.ValidTo = "2026-01-01", "2026-03-31" }),
		), price: "70", source: SourceCustomer, rec: 1},
		{name: "expired line", s: cust, q: PriceQuery{Date: "2026-04-01"}, p: product(
			with(line(1, erp.AccountCustomer, "US-001", "70", "1", "0"), func(l *document.Price) { l.ValidFrom, l.ValidTo = "2026-01-01", "2026-03-31" }),
			line(2, erp.AccountGroup, "Retail", "90", "1", "0"),
		), price: "90", source: SourcePriceGroup, rec: 2},
		{name: "not yet valid", s: cust, q: PriceQuery{Date: today}, p: product(
			with(line(1, erp.AccountCustomer, "US-001", "70", "1", "0"), func(l *document.Price) { l.ValidFrom = "2026-12-01" }),
		), price: "100", source: SourceBase},
		{name: "open-ended from", s: cust, q: PriceQuery{Date: today}, p: product(
			with(line(1, erp.AccountCustomer, "US-001", "70", "1", "0"), func(l *document.Price) { l.ValidTo = "2026-11-27" }),
		), price: "70", source: SourceCustomer, rec: 1},
		{name: "other currency line ignored", s: cust, p: product(
			with(line(1, erp.AccountAll, "", "50", "1", "0"), func(l *document.Price) { l.Currency = "EUR" }),
		), price: "100", source: SourceBase},
		{name: "customer in other currency gets that currency's line", s: Shopper{Account: "US-009", Currency: "EUR"}, p: product(
			line(1, erp.AccountAll, "", "80", "1", "0"),
			with(line(2, erp.AccountAll, "", "88.8", "1", "0"), func(l *document.Price) { l.Currency = "EUR" }),
		), price: "88.8", source: SourceAll, rec: 2},
		{name: "customer in other currency, no line: no price", s: Shopper{Account: "US-009", Currency: "EUR"}, p: product(
			line(1, erp.AccountAll, "", "80", "1", "0"),
		), reason: ReasonNoCurrency},
		{name: "lowest of several at one rank", s: cust, p: product(
			line(1, erp.AccountAll, "", "80", "1", "0"),
			line(2, erp.AccountAll, "", "79.99", "1", "0"),
			line(3, erp.AccountAll, "", "80.01", "1", "0"),
		), price: "79.99", source: SourceAll, rec: 2},
		{name: "equal prices: lowest rec id", s: cust, p: product(
			line(7, erp.AccountAll, "", "80", "1", "0"),
			line(5, erp.AccountAll, "", "80.000", "1", "0"),
		), price: "80.000", source: SourceAll, rec: 5},
		{name: "decimal compare, not text", s: cust, p: product(
			line(1, erp.AccountAll, "", "9.5", "1", "0"),
			line(2, erp.AccountAll, "", "10", "1", "0"),
		), price: "9.5", source: SourceAll, rec: 1},
		{name: "item line before all-items line", s: cust, p: product(
			with(line(1, erp.AccountGroup, "Retail", "1", "0", "0"), func(l *document.Price) { l.AllItems = true }),
			line(2, erp.AccountGroup, "Retail", "90", "1", "0"),
		), price: "90", source: SourcePriceGroup, rec: 2},
		{name: "all-items group line before item All line", s: cust, p: product(
			with(line(1, erp.AccountGroup, "Retail", "100.5", "0", "0"), func(l *document.Price) { l.AllItems = true }),
			line(2, erp.AccountAll, "", "90", "1", "0"),
		), price: "100.5", source: SourcePriceGroup, rec: 1},
		{name: "variant line ignored without variant", s: cust, p: product(
			with(line(1, erp.AccountAll, "", "105", "1", "0"), func(l *document.Price) { l.Color, l.Size = "Red", "L" }),
		), price: "100", source: SourceBase},
		{name: "variant line before generic for the variant", s: cust, q: PriceQuery{Variant: VariantDims{Color: "Red", Size: "L"}}, p: product(
			line(1, erp.AccountAll, "", "80", "1", "0"),
			with(line(2, erp.AccountAll, "", "105", "1", "0"), func(l *document.Price) { l.Color, l.Size = "Red", "L" }),
		), price: "105", source: SourceAll, rec: 2},
		{name: "partial dimensions match", s: cust, q: PriceQuery{Variant: VariantDims{Color: "Red", Size: "L"}}, p: product(
			with(line(2, erp.AccountAll, "", "105", "1", "0"), func(l *document.Price) { l.Color = "Red" }),
		), price: "105", source: SourceAll, rec: 2},
		{name: "other variant's line ignored", s: cust, q: PriceQuery{Variant: VariantDims{Color: "Blue", Size: "L"}}, p: product(
			line(1, erp.AccountAll, "", "80", "1", "0"),
			with(line(2, erp.AccountAll, "", "70", "1", "0"), func(l *document.Price) { l.Color, l.Size = "Red", "L" }),
		), price: "80", source: SourceAll, rec: 1},
		{name: "account precedence before variant", s: cust, q: PriceQuery{Variant: VariantDims{Color: "Red"}}, p: product(
			line(1, erp.AccountGroup, "Retail", "90", "1", "0"),
			with(line(2, erp.AccountAll, "", "70", "1", "0"), func(l *document.Price) { l.Color = "Red" }),
		), price: "90", source: SourcePriceGroup, rec: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			if q.Date == "" {
				q.Date = today
			}
			got := PriceFor(tt.p, tt.s, q)
			if tt.reason != "" {
				if got.Available || got.Reason != tt.reason || got.Price != "" {
					t.Fatalf("got %+v, want no price because %s", got, tt.reason)
				}
				return
			}
			if !got.Available || string(got.Price) != tt.price || got.Source != tt.source || got.RecID != tt.rec {
				t.Fatalf("got %+v, want %s from %s line %d", got, tt.price, tt.source, tt.rec)
			}
		})
	}
}

func TestHiddenBecause(t *testing.T) {
	for _, tc := range []struct {
		p    document.Product
		want []string
	}{
		{document.Product{Visible: true}, nil},
		{document.Product{Visible: false}, []string{HiddenInvisible}},
		{document.Product{Visible: true, SalesStopped: true}, []string{HiddenSalesStopped}},
		{document.Product{Envelope: document.Envelope{Deleted: true}, Visible: true}, []string{HiddenDeleted}},
	} {
		if got := HiddenBecause(tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("HiddenBecause(%+v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}
