package storefront

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/erpsync/erpsync/shopper"
	"github.com/erpsync/erpsync/webshop"
)

// DemoTokenTTL is how long a token of the demo login lives; the demo page asks for a new one
// when the storefront refuses an expired one.
const DemoTokenTTL = 15 * time.Minute

// DemoWebshop is one webshop of the demo login: what it shows and the accounts one may sign in
// as (GET /demo/accounts).
type DemoWebshop struct {
	ID         string        `json:"id"`
	Company    string        `json:"company"`
	Languages  []string      `json:"languages"`
	Currencies []string      `json:"currencies"`
	Accounts   []DemoAccount `json:"accounts"`
}

// DemoAccount is an account of the demo login: a guest, or the webshop's demo customer, contact
// or sales agent (webshop.Demo).
type DemoAccount struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// handleDemoAccounts lists the webshops and their demo accounts, one of each kind: the only
// accounts the demo login signs in as (there is no picker of every customer).
func (s *Server) handleDemoAccounts(w http.ResponseWriter, r *http.Request) error {
	out := struct {
		Webshops []DemoWebshop `json:"webshops"`
	}{Webshops: []DemoWebshop{}}
	for _, shop := range s.cfg.Webshops {
		d := DemoWebshop{ID: shop.ID, Company: shop.Company, Languages: shop.Languages, Currencies: shop.Currencies,
			Accounts: []DemoAccount{{Kind: KindGuest}}}
		for _, a := range demoAccounts(shop) {
			d.Accounts = append(d.Accounts, DemoAccount{Kind: string(a.kind), ID: a.id})
		}
		out.Webshops = append(out.Webshops, d)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type demoAccount struct {
	kind shopper.Kind
	id   string
}

// demoAccounts are the demo accounts of shop that are set, in the order customer, contact, agent.
func demoAccounts(shop webshop.Webshop) []demoAccount {
	var out []demoAccount
	for _, a := range []demoAccount{{shopper.Customer, shop.Demo.Customer}, {shopper.Contact, shop.Demo.Contact}, {shopper.Agent, shop.Demo.Agent}} {
		if a.id != "" {
			out = append(out, a)
		}
	}
	return out
}

// handleDemoToken issues a shopper token for the demo account of the posted kind in the posted
// webshop ({"webshop": "us", "kind": "agent"}), as a webshop's backend would for its signed-in
// user: {"token": "...", "expires": "..."}.
func (s *Server) handleDemoToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Webshop string `json:"webshop"`
		Kind    string `json:"kind"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		return badRequest("want {\"webshop\": \"...\", \"kind\": \"customer|contact|agent\"}")
	}
	shop, ok := webshop.Find(s.cfg.Webshops, in.Webshop)
	if !ok {
		return apiError(http.StatusNotFound, "not_found", "no webshop %q here", in.Webshop)
	}
	for _, a := range demoAccounts(shop) {
		if string(a.kind) != in.Kind {
			continue
		}
		now := s.cfg.Now()
		tok, err := shopper.Issue(s.cfg.TokenSecrets[shop.ID], shop.ID, a.kind, a.id, now, DemoTokenTTL)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"token": tok, "expires": now.Add(DemoTokenTTL).UTC(), "kind": a.kind, "id": a.id})
		return nil
	}
	return apiError(http.StatusNotFound, "not_found", "webshop %s has no demo account of kind %q", shop.ID, in.Kind)
}
