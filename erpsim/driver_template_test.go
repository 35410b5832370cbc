package erpsim

import (
	"context"
	"testing"

	"github.com/erpsync/erpsync/erpsim/generate"
)

// TestTheDriverLeavesTemplateCustomersAlone: a webshop cannot run without its template customer,
// so the change driver never edits or deletes one, while it changes the other customers.
func TestTheDriverLeavesTemplateCustomersAlone(t *testing.T) {
	e := newTestERP(t, generate.Config{Seed: 2, Companies: []string{"usmf"}, Products: 3, Customers: 2, ContactsPerCust: -1, SalesReps: 1}, Config{Seed: 9})
	before := e.get("/data/CustomersV3?$filter=CustomerAccount%20eq%20'US-WEB'")
	if len(before.Value) != 1 {
		t.Fatalf("the template customer: %v", before.Value)
	}
	ctx := context.Background()
	for range 600 {
		if err := e.srv.Driver().Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	after := e.get("/data/CustomersV3?$filter=CustomerAccount%20eq%20'US-WEB'")
	if len(after.Value) != 1 || after.Value[0]["ModifiedDateTime"] != before.Value[0]["ModifiedDateTime"] {
		t.Errorf("the template customer changed: %v, was %v", after.Value, before.Value)
	}
	if st := e.srv.Driver().Stats(); st.Edits+st.Deletes < 100 {
		t.Errorf("the driver made %+v: want it busy", st)
	}
}
