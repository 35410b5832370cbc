package document

import (
	"slices"
	"strings"

	"github.com/erpsync/erpsync/erp"
)

// Customer is the search document of a customer. The storefront reads it server side only to
// learn the shopper's price group, line discount group, currency, language and whether they may
// buy.
type Customer struct {
	Envelope
	Account    string `json:"account"`
	Name       string `json:"name"`
	Group      string `json:"group,omitempty"`
	PriceGroup string `json:"price_group,omitempty"`
	// LineDiscountGroup is the customer line discount group (LineDiscountCode).
	LineDiscountGroup string `json:"line_discount_group,omitempty"`
	Currency          string `json:"currency,omitempty"`
	// Language is the language code ("de"); LanguageID the ERP's id ("de-ch").
	Language   string `json:"language,omitempty"`
	LanguageID string `json:"language_id,omitempty"`
	// OnHold is the ERP's status; Blocked is true when it forbids buying (erp.Customer.Blocked).
	OnHold     string    `json:"on_hold,omitempty"`
	Blocked    bool      `json:"blocked"`
	SalesGroup string    `json:"sales_group,omitempty"`
	Email      string    `json:"email,omitempty"`
	Phone      string    `json:"phone,omitempty"`
	Addresses  []Address `json:"addresses,omitempty"`
	// The customer's sales representatives are not here but on their own documents (SalesRep.Customers):
	// the ERP bumps a representative, not the group's customers, when group membership changes,
	// so a list here would go stale.
}

// Address is a postal address of a customer; Roles are sorted.
type Address struct {
	ID          string   `json:"id"`
	Description string   `json:"description,omitempty"`
	Street      string   `json:"street,omitempty"`
	City        string   `json:"city,omitempty"`
	ZipCode     string   `json:"zip_code,omitempty"`
	State       string   `json:"state,omitempty"`
	Country     string   `json:"country,omitempty"`
	Roles       []string `json:"roles,omitempty"`
	Primary     bool     `json:"primary"`
}

// FromCustomer builds the document of c; addresses come primary first, then by id.
func FromCustomer(c erp.Customer) Customer {
	d := Customer{
		Envelope:          envelope(c.Company, c.Account, c.Modified),
		Account:           c.Account,
		Name:              c.Name,
		Group:             c.Group,
		PriceGroup:        c.PriceGroup,
		LineDiscountGroup: c.LineDiscountGroup,
		Currency:          c.Currency,
		Language:          Language(c.Language),
		LanguageID:        c.Language,
		OnHold:            c.OnHold,
		Blocked:           c.Blocked(),
		SalesGroup:        c.SalesGroup,
		Email:             c.Email,
		Phone:             c.Phone,
	}
	for _, a := range c.Addresses {
		d.Addresses = append(d.Addresses, Address{ID: a.ID, Description: a.Description, Street: a.Street, City: a.City,
			ZipCode: a.ZipCode, State: a.State, Country: a.Country, Roles: sortedUnique(a.Roles), Primary: a.Primary})
	}
	slices.SortFunc(d.Addresses, func(a, b Address) int {
		if a.Primary != b.Primary {
			if a.Primary {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return d
}

// Contact is the search document of a contact person.
type Contact struct {
	Envelope
	// Customer is the account of the contact's customer; CustomerID its document id.
	Customer   string `json:"customer,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
	FirstName  string `json:"first_name,omitempty"`
	LastName   string `json:"last_name,omitempty"`
	// Name is the full name, "First Last".
	Name       string `json:"name,omitempty"`
	JobTitle   string `json:"job_title,omitempty"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Language   string `json:"language,omitempty"`
	LanguageID string `json:"language_id,omitempty"`
}

// FromContact builds the document of c.
func FromContact(c erp.Contact) Contact {
	d := Contact{
		Envelope:   envelope(c.Company, c.ID, c.Modified),
		Customer:   c.Customer,
		FirstName:  c.FirstName,
		LastName:   c.LastName,
		Name:       strings.TrimSpace(c.FirstName + " " + c.LastName),
		JobTitle:   c.JobTitle,
		Email:      c.Email,
		Phone:      c.Phone,
		Language:   Language(c.Language),
		LanguageID: c.Language,
	}
	if c.Customer != "" {
		d.CustomerID = ID(c.Company, c.Customer)
	}
	return d
}

// SalesRep is the search document of a sales representative.
type SalesRep struct {
	Envelope
	PersonnelNumber string `json:"personnel_number"`
	Name            string `json:"name"`
	Email           string `json:"email,omitempty"`
	Phone           string `json:"phone,omitempty"`
	// Groups are the commission sales groups, sorted.
	Groups []string `json:"groups,omitempty"`
	// Customers are the accounts of the customers of those groups, sorted; CustomerIDs their
	// document ids.
	Customers   []string `json:"customers,omitempty"`
	CustomerIDs []string `json:"customer_ids,omitempty"`
}

// FromSalesRep builds the document of r.
func FromSalesRep(r erp.SalesRep) SalesRep {
	d := SalesRep{
		Envelope:        envelope(r.Company, r.PersonnelNumber, r.Modified),
		PersonnelNumber: r.PersonnelNumber,
		Name:            r.Name,
		Email:           r.Email,
		Phone:           r.Phone,
		Groups:          sortedUnique(r.Groups),
		Customers:       sortedUnique(r.Customers),
	}
	for _, c := range d.Customers {
		d.CustomerIDs = append(d.CustomerIDs, ID(r.Company, c))
	}
	return d
}
