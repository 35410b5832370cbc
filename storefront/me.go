package storefront

import (
	"net/http"

	"github.com/erpsync/erpsync/shopper"
)

// Me is the answer of GET /api/me: the webshop, who is shopping and whom for, and for a sales
// agent the customers it may act for, a page at a time.
type Me struct {
	Webshop    string   `json:"webshop"`
	Company    string   `json:"company"`
	Languages  []string `json:"languages"`
	Language   string   `json:"language"`
	Currencies []string `json:"currencies"`
	// Shopper is who the shopper token names (kind guest without one).
	Shopper MeShopper `json:"shopper"`
	// Acting is the customer whose prices apply.
	Acting MeAccount `json:"acting"`
	// Customers are an agent's customers: those of its commission sales groups that the webshop
	// takes, by account; nil for other shoppers.
	Customers *CustomerPage `json:"customers,omitempty"`
}

// MeShopper is who a shopper token names.
type MeShopper struct {
	// Kind is guest, customer, contact or agent.
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// MeAccount is the customer a request is priced for.
type MeAccount struct {
	Account  string `json:"account"`
	Name     string `json:"name"`
	Currency string `json:"currency"`
	// Template is true for the webshop's template customer (a guest, an agent who chose no
	// customer).
	Template bool `json:"template,omitempty"`
}

// CustomerPage is one page of customers, by account.
type CustomerPage struct {
	Items   []CustomerRef `json:"items"`
	Total   int64         `json:"total"`
	Page    int           `json:"page"`
	PerPage int           `json:"per_page"`
}

// CustomerRef is what the list of an agent's customers tells about each: account, name and
// whether it is on hold (acting for it is refused).
type CustomerRef struct {
	Account string `json:"account"`
	Name    string `json:"name"`
	Blocked bool   `json:"blocked,omitempty"`
}

// Paging of an agent's customers.
const (
	defaultCustomersPerPage = 50
	maxCustomersPerPage     = 100
)

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lang, err := param(q, "lang", maxLang)
	if err != nil {
		return err
	}
	company, err := param(q, "company", maxCompany)
	if err != nil {
		return err
	}
	perPage, err := intParam(q, "per_page", defaultCustomersPerPage, maxCustomersPerPage)
	if err != nil {
		return err
	}
	// page <= maxWindow / perPage keeps from+size within Elasticsearch's window.
	page, err := intParam(q, "page", 1, maxWindow/perPage)
	if err != nil {
		return err
	}
	a, err := s.act(r, company)
	if err != nil {
		return err
	}
	out := Me{Webshop: a.shop.ID, Company: a.shop.Company, Languages: a.shop.Languages, Language: a.language(lang), Currencies: a.shop.Currencies,
		Shopper: MeShopper{Kind: a.kind(), ID: a.who.ID, Name: a.whoName},
		Acting:  MeAccount{Account: a.customer.Account, Name: a.name, Currency: a.customer.Currency, Template: a.template}}
	if a.who.Kind == shopper.Customer {
		out.Shopper.Name = a.name
	}
	if a.rep != nil {
		if out.Customers, err = s.agentCustomers(r, a, page, perPage); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// agentCustomers returns a page of the customers a.rep may act for: those of its document's list
// (its groups' customers) that are in the webshop and not deleted, by account.
func (s *Server) agentCustomers(r *http.Request, a *acting, page, perPage int) (*CustomerPage, error) {
	out := &CustomerPage{Items: []CustomerRef{}, Page: page, PerPage: perPage}
	if len(a.rep.Customers) == 0 {
		return out, nil
	}
	body := map[string]any{
		"size":             perPage,
		"from":             (page - 1) * perPage,
		"track_total_hits": true,
		"query": map[string]any{"bool": map[string]any{
			"filter":   []any{term("company", a.shop.Company), term("webshops", a.shop.ID), terms("account", a.rep.Customers)},
			"must_not": []any{term("deleted", true)},
		}},
		"sort":    []any{map[string]any{"account": "asc"}},
		"_source": []string{"account", "name", "blocked"},
	}
	var res struct {
		Hits struct {
			Total struct {
				Value int64 `json:"value"`
			} `json:"total"`
			Hits []struct {
				Source CustomerRef `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := s.search(r.Context(), s.customers, body, &res); err != nil {
		return nil, err
	}
	out.Total = res.Hits.Total.Value
	for _, h := range res.Hits.Hits {
		c := h.Source
		if c.Name == "" {
			c.Name = c.Account
		}
		out.Items = append(out.Items, c)
	}
	return out, nil
}
