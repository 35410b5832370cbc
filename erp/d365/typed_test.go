package d365

import (
	"context"

	"github.com/erpsync/erpsync/erp"
)

// Typed reads of one entity for the tests: Read with the records' values as T.

func (c *Client) Products(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.Product], error) {
	return typed[erp.Product](c.Read(ctx, erp.Products, r))
}

func (c *Client) Customers(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.Customer], error) {
	return typed[erp.Customer](c.Read(ctx, erp.Customers, r))
}

func (c *Client) Contacts(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.Contact], error) {
	return typed[erp.Contact](c.Read(ctx, erp.Contacts, r))
}

func (c *Client) SalesReps(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.SalesRep], error) {
	return typed[erp.SalesRep](c.Read(ctx, erp.SalesReps, r))
}

func (c *Client) Categories(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.Category], error) {
	return typed[erp.Category](c.Read(ctx, erp.Categories, r))
}

func (c *Client) LineDiscounts(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.LineDiscountAgreement], error) {
	return typed[erp.LineDiscountAgreement](c.Read(ctx, erp.LineDiscounts, r))
}

func (c *Client) Activations(ctx context.Context, r erp.ReadRequest) (erp.Page[erp.Activation], error) {
	return typed[erp.Activation](c.Read(ctx, erp.Activations, r))
}

func typed[T any](p erp.Page[erp.Record], err error) (erp.Page[T], error) {
	out := erp.Page[T]{Rejected: p.Rejected, Missing: p.Missing, Gone: p.Gone, Next: p.Next, Done: p.Done, Requests: p.Requests}
	for _, r := range p.Records {
		out.Records = append(out.Records, r.Value.(T))
	}
	return out, err
}

// D365's collection names, as the tests name them.
const (
	collReleasedProducts = erp.ReleasedProducts
	collTranslations     = erp.ProductTranslations
	collPrices           = erp.SalesPriceAgreements
	collCustomers        = erp.CustomersV3
	collContacts         = erp.ContactPersonsV2
)
