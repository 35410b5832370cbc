package generate

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/erpsync/erpsync/erpsim/store"
)

// customerDiscountGroups are the customers' line discount groups (CustomersV3.LineDiscountCode).
var customerDiscountGroups = []string{"Reseller", "Key", "Trade"}

// itemDiscountGroup is the item line discount group of the products of a top category
// (SalesLineDiscountProductGroupCode): "FURN", "ELEC", ...
func itemDiscountGroup(top int) string { return strings.ToUpper(topCategories[top][0][:4]) }

// demo is a kind of customer the demo catalog shows (`make dev`): each sees prices from another
// kind of trade agreement. The first customers of the first company are one of each; the first
// customer of the third company sees none at all (its company does not activate the relations
// for all customers).
type demo int

const (
	demoGroupPrice    demo = iota // price group Wholesale: the group's prices
	demoCustomerPrice             // net prices of its own on every fourth item
	demoGroupDiscount             // line discount group Reseller: the group's discounts
	demoAllCustomers              // no groups: only the agreements for all customers
	demoOnHold                    // on hold: no prices
	demoNone                      // no agreement applies: base prices
)

// demoKind returns the demo kind of the i-th customer of the ci-th company, if it has one.
func demoKind(ci, i int) (demo, bool) {
	switch {
	case ci == 0 && i <= int(demoOnHold):
		return demo(i), true
	case ci == 2 && i == 0:
		return demoNone, true
	}
	return 0, false
}

// demoAccount returns the account of the company's demo customer of kind k. Demo customers are
// a company's first (demoKind), so only those are looked at: it is asked for every product.
func demoAccount(c company, accounts []string, k demo) (string, bool) {
	for i, a := range accounts[:min(len(accounts), int(demoOnHold)+1)] {
		if d, ok := demoKind(c.index, i); ok && d == k {
			return a, true
		}
	}
	return "", false
}

// randomAccounts are the accounts that random customer-specific agreements may name: not the
// demo customers, whose prices must stay what their kind says.
func randomAccounts(ci int, accounts []string) []string {
	var out []string
	for i, a := range accounts {
		if _, ok := demoKind(ci, i); !ok {
			out = append(out, a)
		}
	}
	return out
}

func (k demo) priceGroup(groups []string) string {
	if k != demoGroupPrice {
		return ""
	}
	if slices.Contains(groups, "Wholesale") {
		return "Wholesale"
	}
	return groups[0]
}

func (k demo) discountGroup() string {
	if k == demoGroupDiscount {
		return "Reseller"
	}
	return ""
}

func (k demo) hold() string {
	if k == demoOnHold {
		return "All"
	}
	return "No"
}

// activation returns the PriceParameters values of the ci-th company, in the order of
// store.ActivationFields: the first company searches every relation; the second not the
// all-items discounts for one customer or for everybody; the third none of the relations for all
// customers; further companies a random choice.
func activation(ci int, rng *rand.Rand) []any {
	off := map[int][]string{
		1: {"SalesLineAccountAll", "SalesLineAllAll"},
		2: {"SalesPriceAllItem", "SalesLineAllItem", "SalesLineAllGroup", "SalesLineAllAll"},
	}
	out := make([]any, len(store.ActivationFields))
	for i, f := range store.ActivationFields {
		on := !slices.Contains(off[ci], f)
		if ci > 2 {
			on = rng.IntN(5) > 0
		}
		out[i] = map[bool]string{true: "Yes", false: "No"}[on]
	}
	return out
}

// discountLine is one SalesLineDiscountAgreements row to generate.
type discountLine struct {
	item, itemRel       string // ItemCode and the item number or item discount group
	account, accountRel string // AccountCode and the customer account or line discount group
	currency, unit      string
	pct1, pct2, amount  json.Number
	fromQty, toQty      int64  // FromQuantity (0: 1) and ToQuantity (0: open)
	from, to            string // validity ("": open)
	findNext            string // "Yes" or "No" ("": Yes)
}

func (g *gen) discount(c company, d discountLine, stamp time.Time) error {
	g.discID++
	var itemNumber, itemGroup, custAccount, custGroup string
	switch d.item {
	case "Table":
		itemNumber = d.itemRel
	case "GroupId":
		itemGroup = d.itemRel
	}
	switch d.account {
	case "Table":
		custAccount = d.accountRel
	case "GroupId":
		custGroup = d.accountRel
	}
	or := func(n json.Number) json.Number {
		if n == "" {
			return "0"
		}
		return n
	}
	from, to, findNext := d.from, d.to, d.findNext
	if from == "" {
		from = store.NoDateFrom
	}
	if to == "" {
		to = store.NoDateTo
	}
	if findNext == "" {
		findNext = "Yes"
	}
	return g.insert(store.SalesLineDiscountAgreements, c.id, g.discID, d.item, itemNumber, itemGroup, "", "", "", "",
		d.account, custAccount, custGroup, d.currency, or(d.pct1), or(d.pct2), or(d.amount), d.unit,
		dec(max(d.fromQty, 1), 0), dec(d.toQty, 0), from, to, findNext, stamp)
}

// groupDiscounts generates the company's line discounts that are not for one item, stored once:
// item discount group x customer discount group (2-8 %), item discount group for everybody
// (1-3 %), all items and an item discount group for a few customers, all items for one customer
// group, and a volume discount for everybody from 100 pieces.
func (g *gen) groupDiscounts(rng *rand.Rand, c company, accounts []string) error {
	stamp := g.tick()
	findNext := func() string {
		if rng.IntN(4) == 0 {
			return "No"
		}
		return "Yes"
	}
	for top := range topCategories {
		ig := itemDiscountGroup(top)
		for k, cg := range customerDiscountGroups {
			if rng.IntN(2) == 0 && !(top == 0 && k == 0) {
				continue
			}
			d := discountLine{item: "GroupId", itemRel: ig, account: "GroupId", accountRel: cg, currency: c.currency,
				pct1: dec(int64(20+5*rng.IntN(13)), 1), findNext: findNext()}
			if cg == "Trade" {
				d.pct2 = dec(2, 0) // a tiered second percentage
			}
			if err := g.discount(c, d, stamp); err != nil {
				return err
			}
		}
		if top == 0 || rng.IntN(2) == 0 {
			if err := g.discount(c, discountLine{item: "GroupId", itemRel: ig, account: "All", currency: c.currency,
				pct1: dec(int64(1+rng.IntN(3)), 0), findNext: findNext()}, stamp); err != nil {
				return err
			}
		}
	}
	if err := g.discount(c, discountLine{item: "All", account: "GroupId", accountRel: "Key", currency: c.currency,
		pct1: dec(2, 0), findNext: findNext()}, stamp); err != nil {
		return err
	}
	others := randomAccounts(c.index, accounts)
	for range min(2, len(others)) {
		if err := g.discount(c, discountLine{item: "All", account: "Table", accountRel: others[rng.IntN(len(others))],
			currency: c.currency, pct1: dec(15, 1), findNext: findNext()}, stamp); err != nil {
			return err
		}
		if err := g.discount(c, discountLine{item: "GroupId", itemRel: itemDiscountGroup(rng.IntN(len(topCategories))), account: "Table",
			accountRel: others[rng.IntN(len(others))], currency: c.currency, pct1: dec(4, 0), findNext: findNext()}, stamp); err != nil {
			return err
		}
	}
	return g.discount(c, discountLine{item: "All", account: "All", currency: c.currency, pct1: dec(1, 0), fromQty: 100,
		findNext: "Yes"}, stamp)
}
