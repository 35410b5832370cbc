package storefront

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/shopper"
	"github.com/erpsync/erpsync/webshop"
)

// KindGuest is the kind of shopper of a request without a shopper token.
const KindGuest = "guest"

// Codes of the refusals (403) of a shopper the index does not let shop.
const (
	// RefusedBlocked: the customer acted for is on hold (OnHoldStatus other than No or Never).
	RefusedBlocked = "blocked"
	// RefusedUnknown: the account, contact or agent is not in the index (deleted, or never
	// there).
	RefusedUnknown = "unknown_account"
	// RefusedNotInWebshop: the webshop's filters do not take the account.
	RefusedNotInWebshop = "not_in_webshop"
	// RefusedNotYours: a contact or agent asked for a customer it may not act for.
	RefusedNotYours = "not_your_customer"
)

// acting is whom a request shops as: its webshop, who the shopper token names (none for a
// guest) and the customer whose prices apply, all read from the index, never taken from the
// client.
type acting struct {
	shop webshop.Webshop
	// who is the token's shopper; its Kind is "" for a guest.
	who shopper.Identity
	// whoName is the name of the contact or agent the token names.
	whoName string
	// customer is the price context of the customer acted for: the token's customer, the
	// contact's customer, the customer an agent chose, or else the webshop's template customer
	// (a guest, an agent who chose none).
	customer Shopper
	// name is that customer's name; template is true when it is the template customer.
	name     string
	template bool
	// rep is an agent's document: its customers are the ones it may act for.
	rep *document.SalesRep
}

// kind is the shopper's kind as the API names it.
func (a *acting) kind() string { return cmp.Or(string(a.who.Kind), KindGuest) }

// bearer returns the shopper token of r's Authorization header ("Bearer <token>"), "" when there
// is none.
func bearer(r *http.Request) (string, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", nil
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", apiError(http.StatusUnauthorized, "invalid_token", "Authorization: want \"Bearer <shopper token>\"")
	}
	return strings.TrimSpace(tok), nil
}

// act works out whom r shops as (see acting) and checks it against the index: the webshop of
// its shopper token (else of webshop=, else the first of company, else the first), company (the
// request's, "" when it names none) the webshop's, and customer= allowed only to a sales agent (one of its customers) or as
// the token's own customer. A token that does not verify is a 401; an account the index does
// not have or hold for the webshop, on hold, or a customer the shopper may not act for, a 403
// with the reason.
func (s *Server) act(r *http.Request, company string) (*acting, error) {
	ctx := r.Context()
	q := r.URL.Query()
	tok, err := bearer(r)
	if err != nil {
		return nil, err
	}
	named, err := param(q, "webshop", maxKey)
	if err != nil {
		return nil, err
	}
	account, err := param(q, "customer", maxKey)
	if err != nil {
		return nil, err
	}
	a := &acting{}
	if tok != "" {
		if a.who, err = s.tokens.Verify(tok); err != nil {
			return nil, apiError(http.StatusUnauthorized, "invalid_token", "shopper token: %s", strings.TrimPrefix(err.Error(), shopper.ErrInvalid.Error()+": "))
		}
		if named != "" && named != a.who.Webshop {
			return nil, badRequest("webshop=%s, but the shopper token is for webshop %s", named, a.who.Webshop)
		}
		named = a.who.Webshop
	}
	if named == "" {
		named = s.cfg.Webshops[0].ID
		for _, w := range s.cfg.Webshops {
			if company != "" && w.Serves(company) {
				named = w.ID
				break
			}
		}
	}
	shop, ok := webshop.Find(s.cfg.Webshops, named)
	if !ok {
		return nil, apiError(http.StatusNotFound, "not_found", "no webshop %q here", named)
	}
	a.shop = shop
	if company != "" && !shop.Serves(company) {
		return nil, badRequest("company %s: webshop %s sells from company %s", company, shop.ID, shop.Company)
	}
	if account != "" && tok == "" {
		return nil, badRequest("customer= alone is not accepted: send the shopper's token (Authorization: Bearer <token>, docs/webshops.md); " +
			"customer= names the customer a sales agent's token acts for")
	}
	switch a.who.Kind {
	case "":
		err = s.actAsTemplate(ctx, a)
	case shopper.Customer:
		if account != "" && account != a.who.ID {
			return nil, apiError(http.StatusForbidden, RefusedNotYours, "customer %s shops for itself only, not for %s", a.who.ID, account)
		}
		err = s.actFor(ctx, a, a.who.ID)
	case shopper.Contact:
		err = s.actAsContact(ctx, a, account)
	case shopper.Agent:
		err = s.actAsAgent(ctx, a, account)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// actAsTemplate prices as the webshop's template customer.
func (s *Server) actAsTemplate(ctx context.Context, a *acting) error {
	err := s.actFor(ctx, a, a.shop.TemplateCustomer)
	var he *httpError
	if errors.As(err, &he) && he.Status == http.StatusForbidden {
		return apiError(http.StatusServiceUnavailable, "unavailable", "webshop %s cannot price for guests: its template customer: %s", a.shop.ID, he.Message)
	}
	a.template = err == nil
	return err
}

// actAsContact acts for the contact's own customer; account, when set, must be it.
func (s *Server) actAsContact(ctx context.Context, a *acting, account string) error {
	var c document.Contact
	found, err := s.get(ctx, s.contacts, a.shop.Company, a.who.ID, []string{"customer", "name", "deleted", "webshops"}, &c)
	if err != nil {
		return fmt.Errorf("read contact: %w", err)
	}
	if !found || c.Deleted {
		return apiError(http.StatusForbidden, RefusedUnknown, "contact %s is not a contact person of company %s (deleted, or never indexed)", a.who.ID, a.shop.Company)
	}
	if !slices.Contains(c.Webshops, a.shop.ID) {
		return apiError(http.StatusForbidden, RefusedNotInWebshop, "contact %s is not in webshop %s", a.who.ID, a.shop.ID)
	}
	a.whoName = c.Name
	if c.Customer == "" {
		return apiError(http.StatusForbidden, RefusedUnknown, "contact %s belongs to no customer", a.who.ID)
	}
	if account != "" && account != c.Customer {
		return apiError(http.StatusForbidden, RefusedNotYours, "contact %s acts for its own customer %s only, not for %s", a.who.ID, c.Customer, account)
	}
	return s.actFor(ctx, a, c.Customer)
}

// actAsAgent acts for account, one of the customers of the agent's commission sales groups; for
// the template customer when account is "".
func (s *Server) actAsAgent(ctx context.Context, a *acting, account string) error {
	var rep document.SalesRep
	found, err := s.get(ctx, s.salesReps, a.shop.Company, a.who.ID, []string{"name", "groups", "customers", "deleted", "webshops"}, &rep)
	if err != nil {
		return fmt.Errorf("read sales representative: %w", err)
	}
	if !found || rep.Deleted {
		return apiError(http.StatusForbidden, RefusedUnknown, "sales agent %s is not a sales representative of company %s (deleted, or never indexed)", a.who.ID, a.shop.Company)
	}
	if !slices.Contains(rep.Webshops, a.shop.ID) {
		return apiError(http.StatusForbidden, RefusedNotInWebshop, "sales agent %s is not in webshop %s", a.who.ID, a.shop.ID)
	}
	a.whoName, a.rep = rep.Name, &rep
	if account == "" {
		return s.actAsTemplate(ctx, a)
	}
	if !slices.Contains(rep.Customers, account) {
		return apiError(http.StatusForbidden, RefusedNotYours, "sales agent %s may act for the customers of its sales groups (%s) only, not for %s",
			a.who.ID, strings.Join(rep.Groups, ", "), account)
	}
	return s.actFor(ctx, a, account)
}

// actFor reads the price context of account in the webshop's company from the customers index:
// it must be there, in the webshop, and not on hold.
func (s *Server) actFor(ctx context.Context, a *acting, account string) error {
	var c document.Customer
	found, err := s.get(ctx, s.customers, a.shop.Company, account,
		[]string{"account", "name", "price_group", "line_discount_group", "currency", "language", "blocked", "on_hold", "deleted", "webshops"}, &c)
	if err != nil {
		return fmt.Errorf("read customer: %w", err)
	}
	switch {
	case !found || c.Deleted:
		return apiError(http.StatusForbidden, RefusedUnknown, "customer %s is not a customer of company %s (deleted, or never indexed)", account, a.shop.Company)
	case !slices.Contains(c.Webshops, a.shop.ID):
		return apiError(http.StatusForbidden, RefusedNotInWebshop, "customer %s is not in webshop %s (its customer filter does not take it)", account, a.shop.ID)
	case c.Blocked:
		return apiError(http.StatusForbidden, RefusedBlocked, "customer %s is on hold (OnHoldStatus %s): it cannot shop", account, c.OnHold)
	}
	a.customer = Shopper{Account: c.Account, PriceGroup: c.PriceGroup, LineDiscountGroup: c.LineDiscountGroup,
		Currency: a.shop.Currency(c.Currency), Language: c.Language}
	a.name = cmp.Or(c.Name, c.Account)
	return nil
}

// language picks the text language: the requested one, else the customer's (not the template
// customer's: a guest reads the webshop's), each only when the webshop shows it, else the
// webshop's default.
func (a *acting) language(requested string) string {
	langs := []string{document.Language(requested)}
	if !a.template {
		langs = append(langs, a.customer.Language)
	}
	for _, l := range langs {
		if l != "" && slices.Contains(a.shop.Languages, l) {
			return l
		}
	}
	return a.shop.DefaultLang()
}

// CheckWebshops reads every webshop's template customer from the index and reports, naming the
// webshop and the account, each that is missing, deleted, not taken for the webshop or on hold:
// guests are priced as it (docs/webshops.md), so the storefront does not start without it. An
// index built by a worker with other webshops (or none) fails here too.
func (s *Server) CheckWebshops(ctx context.Context) error {
	var errs []error
	for _, shop := range s.cfg.Webshops {
		a := &acting{shop: shop}
		err := s.actFor(ctx, a, shop.TemplateCustomer)
		var he *httpError
		if errors.As(err, &he) {
			err = fmt.Errorf("webshop %s: its template customer %s: %s; run the customers import with these webshops "+
				"(starter run customers --mode rebuild) or set template-customer to an account the index holds", shop.ID, shop.TemplateCustomer, he.Message)
		} else if err != nil {
			err = fmt.Errorf("webshop %s: read its template customer %s: %w", shop.ID, shop.TemplateCustomer, err)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
