// Package webshop is a webshop served from erpsync's index: its company, languages, currencies,
// template customer and filters, which records it takes (computed when documents are built), and
// what a change of them costs (docs/webshops.md).
package webshop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/erpsync/erpsync/erp"
)

// Webshop is one webshop on the ERP: Sana's "webshop" of the D365 add-on (Webshop > Common >
// Webshops), whose template customer prices what visitors who are not signed in see.
type Webshop struct {
	// ID names the webshop in tokens, documents (their webshops field) and messages: lower-case
	// letters, digits and dashes.
	ID string `json:"id"`
	// Company is the ERP company (dataAreaId) the webshop sells from, lower case.
	Company string `json:"company"`
	// Languages are the language codes the webshop shows ("en", "de"), each one of the index's
	// languages; DefaultLanguage is the one of a request that asks for none (the first when "").
	Languages       []string `json:"languages"`
	DefaultLanguage string   `json:"default-language,omitempty"`
	// Currencies are the ISO 4217 codes the webshop shows prices in; the first is its default.
	// A customer whose sales currency is not among them sees the default (Sana's rule).
	Currencies []string `json:"currencies"`
	// TemplateCustomer is the account (CustomersV3.CustomerAccount) whose price group, line
	// discount group and agreements price what guests see. It must exist and is always taken by
	// the webshop's customer filter.
	TemplateCustomer string `json:"template-customer"`
	// Products and Customers are the webshop's filters: which records it takes. Zero filters
	// take every record of the company.
	Products  ProductFilter  `json:"products,omitzero"`
	Customers CustomerFilter `json:"customers,omitzero"`
	// TokenSecretFile is a file holding the secret (at least 32 bytes) the webshop's backend
	// signs its shopper tokens with (HS256); the storefront reads it.
	TokenSecretFile string `json:"token-secret-file,omitempty"`
	// Demo are the accounts the demo page's login offers (storefront.demo only).
	Demo Demo `json:"demo,omitzero"`
}

// ProductFilter selects a webshop's products.
type ProductFilter struct {
	// ItemGroups, when set, take only the products whose item group (ReleasedProductsV2's
	// ProductGroupId) is one of them. Decided when documents are built: a change needs a rebuild.
	ItemGroups []string `json:"item-groups,omitempty"`
	// RootCategory, when set, shows only the products in a category at or below it. Decided by
	// the storefront from the category tree (the categories index), so a moved category shows at
	// once and a change needs no rebuild.
	RootCategory string `json:"root-category,omitempty"`
}

// CustomerFilter selects a webshop's customers ("index only the accounts you need"). A customer
// is taken when its customer group (CustomersV3's CustomerGroupId) is one of Groups or its
// account one of Accounts; with neither set, every customer of the company is. Decided when
// documents are built: a change needs a rebuild.
type CustomerFilter struct {
	Groups   []string `json:"groups,omitempty"`
	Accounts []string `json:"accounts,omitempty"`
}

// Demo names one account of each kind for the demo page's login: a customer account, a contact
// person id and a sales representative's personnel number ("" offers none of that kind).
type Demo struct {
	Customer string `json:"customer,omitempty"`
	Contact  string `json:"contact,omitempty"`
	Agent    string `json:"agent,omitempty"`
}

// DefaultLang returns the language of a request that asks for none.
func (w Webshop) DefaultLang() string {
	if w.DefaultLanguage != "" {
		return w.DefaultLanguage
	}
	if len(w.Languages) > 0 {
		return w.Languages[0]
	}
	return ""
}

// DefaultCurrency returns the currency of a shopper whose own the webshop does not show.
func (w Webshop) DefaultCurrency() string {
	if len(w.Currencies) > 0 {
		return w.Currencies[0]
	}
	return ""
}

// Currency returns the currency a shopper whose sales currency is own sees prices in: own when
// the webshop shows it, else the webshop's default. Sana: "If a currency is specified for a
// customer and it is visible in webshop, a customer will see prices in the currency set on the
// customer's form. If currency is not set for a customer, the default one is used."
func (w Webshop) Currency(own string) string {
	if own != "" && slices.Contains(w.Currencies, own) {
		return own
	}
	return w.DefaultCurrency()
}

// Serves reports whether company is the webshop's company (any case).
func (w Webshop) Serves(company string) bool { return strings.EqualFold(w.Company, company) }

// TakesProduct reports whether the webshop takes product p: its company, and its item group when
// the filter names item groups.
func (w Webshop) TakesProduct(p erp.Product) bool {
	return w.Serves(p.Company) && (len(w.Products.ItemGroups) == 0 || slices.Contains(w.Products.ItemGroups, p.ProductGroup))
}

// TakesCustomer reports whether the webshop takes customer c: its company, and its group or
// account when the filter names any; the template customer always.
func (w Webshop) TakesCustomer(c erp.Customer) bool {
	if !w.Serves(c.Company) {
		return false
	}
	f := w.Customers
	if c.Account == w.TemplateCustomer || len(f.Groups) == 0 && len(f.Accounts) == 0 {
		return true
	}
	return slices.Contains(f.Groups, c.Group) || slices.Contains(f.Accounts, c.Account)
}

// Filters reports whether webshops decide which records of entity e are indexed: products,
// customers, contacts and sales representatives. The company-wide data (categories, line
// discounts for groups, activations) is indexed for every company read.
func Filters(e erp.Entity) bool {
	return e == erp.Products || e == erp.Customers || e == erp.Contacts || e == erp.SalesReps
}

// Of returns the ids of the webshops that take record r, sorted, and whether webshops decide
// its entity at all (Filters; false also when shops is empty: then every record is indexed and
// none names a webshop). A record of such an entity that no webshop takes is not indexed.
// Contacts and sales representatives are taken by every webshop of their company: they act only
// through a customer the webshop takes (the storefront checks it).
func Of(shops []Webshop, r erp.Record) (ids []string, decided bool) {
	if len(shops) == 0 || !Filters(r.Entity) {
		return nil, false
	}
	for _, w := range shops {
		var takes bool
		switch v := r.Value.(type) {
		case erp.Product:
			takes = w.TakesProduct(v)
		case erp.Customer:
			takes = w.TakesCustomer(v)
		default:
			takes = w.Serves(r.Company)
		}
		if takes {
			ids = append(ids, w.ID)
		}
	}
	slices.Sort(ids)
	return ids, true
}

// Companies returns the webshops' companies, each once, in order.
func Companies(shops []Webshop) []string {
	var out []string
	for _, w := range shops {
		if !slices.Contains(out, w.Company) {
			out = append(out, w.Company)
		}
	}
	return out
}

// Find returns the webshop with id.
func Find(shops []Webshop, id string) (Webshop, bool) {
	for _, w := range shops {
		if w.ID == id {
			return w, true
		}
	}
	return Webshop{}, false
}

var (
	idPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}$`)
)

// Validate reports every problem of shops at once: ids (lower-case letters, digits and dashes,
// unique), companies, languages (codes, among indexLanguages when that is set), the default
// language among them, ISO 4217 currencies, a template customer.
func Validate(shops []Webshop, indexLanguages []string) error {
	var errs []error
	seen := map[string]bool{}
	for i, w := range shops {
		name := w.ID
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("webshop %s: %s", name, fmt.Sprintf(format, args...)))
		}
		switch {
		case !idPattern.MatchString(w.ID):
			bad("id %q: want lower-case letters, digits and dashes (at most 32)", w.ID)
		case seen[w.ID]:
			bad("the id is given twice")
		}
		seen[w.ID] = true
		if w.Company == "" || w.Company != strings.ToLower(w.Company) {
			bad("company %q: want the ERP company (dataAreaId) in lower case, e.g. usmf", w.Company)
		}
		if len(w.Languages) == 0 {
			bad("no languages: want at least one, e.g. [en]")
		}
		for _, l := range w.Languages {
			switch {
			case !languagePattern.MatchString(l):
				bad("language %q: want a code of 2 or 3 lower-case letters, e.g. en", l)
			case len(indexLanguages) > 0 && !slices.Contains(indexLanguages, l):
				bad("language %s is not among the index's languages (%s): documents carry no texts in it", l, strings.Join(indexLanguages, ", "))
			}
		}
		if w.DefaultLanguage != "" && !slices.Contains(w.Languages, w.DefaultLanguage) {
			bad("default language %s is not among its languages (%s)", w.DefaultLanguage, strings.Join(w.Languages, ", "))
		}
		if len(w.Currencies) == 0 {
			bad("no currencies: want at least one ISO 4217 code, e.g. [USD]")
		}
		for _, c := range w.Currencies {
			if !currencyPattern.MatchString(c) {
				bad("currency %q: want an ISO 4217 code such as USD", c)
			}
		}
		if strings.TrimSpace(w.TemplateCustomer) == "" {
			bad("no template customer: want the account whose prices guests see (Sana: product indexing fails without one)")
		}
	}
	return errors.Join(errs...)
}

// Fingerprints returns, for every webshop, a digest of what decides which records of entity e
// it takes: its company and its filter of e (and for customers its template customer, which the
// filter always takes). A webshop whose fingerprint changed since the index was built, or that
// is new or gone, makes the index a mix of two configurations: it needs a rebuild. An entity
// webshops do not decide has no fingerprints (nil).
func Fingerprints(shops []Webshop, e erp.Entity) map[string]string {
	if len(shops) == 0 || !Filters(e) {
		return nil
	}
	out := make(map[string]string, len(shops))
	for _, w := range shops {
		what := struct {
			Company  string          `json:"company"`
			Items    []string        `json:"item_groups,omitempty"`
			Filter   *CustomerFilter `json:"customers,omitempty"`
			Template string          `json:"template,omitempty"`
		}{Company: w.Company}
		switch e {
		case erp.Products:
			what.Items = sortedCopy(w.Products.ItemGroups)
		case erp.Customers:
			what.Filter = &CustomerFilter{Groups: sortedCopy(w.Customers.Groups), Accounts: sortedCopy(w.Customers.Accounts)}
			what.Template = w.TemplateCustomer
		}
		b, _ := json.Marshal(what) // plain strings: cannot fail
		sum := sha256.Sum256(b)
		out[w.ID] = hex.EncodeToString(sum[:8])
	}
	return out
}

func sortedCopy(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// Changes describes how the fingerprints now differ from built (those the index was built
// with), one phrase per webshop in id order: "webshop demf is new", "webshop usmf's customer
// filter or company changed", "webshop gbsi was removed". None when they agree.
func Changes(e erp.Entity, built, now map[string]string) []string {
	var out []string
	what := map[erp.Entity]string{erp.Products: "product filter or company", erp.Customers: "customer filter, template customer or company"}[e]
	if what == "" {
		what = "company"
	}
	ids := make([]string, 0, len(built)+len(now))
	for id := range built {
		ids = append(ids, id)
	}
	for id := range now {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		b, wasBuilt := built[id]
		n, isNow := now[id]
		switch {
		case !wasBuilt:
			out = append(out, fmt.Sprintf("webshop %s is new", id))
		case !isNow:
			out = append(out, fmt.Sprintf("webshop %s was removed", id))
		case b != n:
			out = append(out, fmt.Sprintf("webshop %s's %s changed", id, what))
		}
	}
	return out
}

// Lookup reads root records by key from the ERP (erp.Source's Lookup).
type Lookup interface {
	Lookup(ctx context.Context, e erp.Entity, keys []erp.Ref) (erp.Page[erp.Record], error)
}

// CheckTemplates reads every webshop's template customer from the ERP and reports, naming the
// webshop and the account, each one the ERP does not have or holds on hold: Sana's D365 add-on
// wants the template customer to exist in the Customers table, and product indexing fails
// without one (docs/webshops.md). The worker does not start with such a webshop.
func CheckTemplates(ctx context.Context, erpSide Lookup, shops []Webshop) error {
	if len(shops) == 0 {
		return nil
	}
	keys := make([]erp.Ref, 0, len(shops))
	for _, w := range shops {
		keys = append(keys, erp.Ref{Entity: erp.Customers, Company: w.Company, Key: w.TemplateCustomer})
	}
	got, err := erpSide.Lookup(ctx, erp.Customers, keys)
	if err != nil {
		return fmt.Errorf("read the webshops' template customers: %w", err)
	}
	found := map[erp.Ref]erp.Customer{}
	for _, r := range got.Records {
		if c, ok := r.Value.(erp.Customer); ok {
			found[erp.Ref{Entity: erp.Customers, Company: strings.ToLower(r.Company), Key: r.Key}] = c
		}
	}
	var errs []error
	for i, w := range shops {
		c, ok := found[erp.Ref{Entity: erp.Customers, Company: strings.ToLower(keys[i].Company), Key: keys[i].Key}]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("webshop %s: its template customer %s is not a customer of company %s in the ERP (CustomersV3): "+
				"guests are priced as that customer; set template-customer to an existing account", w.ID, w.TemplateCustomer, w.Company))
		case c.Blocked():
			errs = append(errs, fmt.Errorf("webshop %s: its template customer %s of company %s is on hold (OnHoldStatus %s): guests would see no prices",
				w.ID, w.TemplateCustomer, w.Company, c.OnHold))
		}
	}
	return errors.Join(errs...)
}
