package generate

import (
	"testing"

	"github.com/erpsync/erpsync/erpsim/store"
)

// TestTemplateCustomers: every company has its webshops' template customer, with the company's
// first price group (Retail), its currency and language, not on hold, in no sales group.
func TestTemplateCustomers(t *testing.T) {
	cfg := Config{Seed: 3, Products: 30, Customers: 9, SalesReps: 3}
	s, _ := generated(t, cfg)
	for _, c := range Defaults().Companies {
		d := describeCompany(c)
		var n int
		err := s.DB().QueryRow(`SELECT COUNT(*) FROM "`+store.Customers+`" WHERE dataAreaId = ? AND CustomerAccount = ? AND DiscountPriceGroupId = 'Retail'
			AND SalesCurrencyCode = ? AND LanguageId = ? AND OnHoldStatus = 'No' AND CommissionSalesGroupId = ''`,
			c, TemplateAccount(c), d.currency, d.lang).Scan(&n)
		if err != nil || n != 1 {
			t.Errorf("%s: %d template customers %s as described (%v)", c, n, TemplateAccount(c), err)
		}
		if !IsTemplate(TemplateAccount(c)) || IsTemplate(c[:2]+"-001") {
			t.Errorf("IsTemplate does not tell %s's template customer from another", c)
		}
	}
}
