package document

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/webshop"
)

// TestWebshopsOfADocument: a document names the webshops that take its record, its content hash
// changes with them (so an update rewrites it), a record no webshop takes is not indexed, and the
// company-wide documents name none.
func TestWebshopsOfADocument(t *testing.T) {
	shops := []webshop.Webshop{
		{ID: "us", Company: "usmf", TemplateCustomer: "US-WEB"},
		{ID: "us-b2b", Company: "usmf", TemplateCustomer: "US-WEB", Customers: webshop.CustomerFilter{Groups: []string{"10"}}},
	}
	o := Options{Webshops: shops}
	cust := func(group string) erp.Record {
		c := erp.Customer{Company: "usmf", Account: "US-001", Group: group}
		return erp.Record{Ref: erp.Ref{Entity: erp.Customers, Company: "usmf", Key: "US-001"}, Value: c}
	}
	webshopsOf := func(r erp.Record, o Options) ([]string, string) {
		b, hash, err := Encode(r, o)
		if err != nil {
			t.Fatal(err)
		}
		var env Envelope
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		return env.Webshops, hash
	}
	in10, hash10 := webshopsOf(cust("10"), o)
	in20, hash20 := webshopsOf(cust("20"), o)
	if !slices.Equal(in10, []string{"us", "us-b2b"}) || !slices.Equal(in20, []string{"us"}) || hash10 == hash20 {
		t.Errorf("group 10: %v, group 20: %v, hashes equal %v", in10, in20, hash10 == hash20)
	}
	if _, hash := webshopsOf(cust("10"), Options{}); hash == hash10 {
		t.Error("the same customer without webshops has the same content hash")
	}
	if !Indexed(cust("20"), o) || Indexed(cust("20"), Options{Webshops: shops[1:]}) || !Indexed(cust("20"), Options{}) {
		t.Error("a customer outside the only webshop's filter is indexed, or one is not indexed without webshops")
	}
	gb := erp.Record{Ref: erp.Ref{Entity: erp.Products, Company: "gbsi", Key: "1000"}, Value: erp.Product{Company: "gbsi", ItemNumber: "1000"}}
	if Indexed(gb, o) {
		t.Error("a product of a company no webshop sells from is indexed")
	}
	cat := erp.Record{Ref: erp.Ref{Entity: erp.Categories, Company: "usmf", Key: "C01"}, Value: erp.Category{Company: "usmf", ID: "C01"}}
	if ids, _ := webshopsOf(cat, o); ids != nil || !Indexed(cat, o) {
		t.Errorf("a category names %v: company-wide documents serve every webshop of the company", ids)
	}
}
