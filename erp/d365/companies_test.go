package d365

import (
	"context"
	"testing"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/store"
)

func TestCountAndCompanyLanguages(t *testing.T) {
	t.Parallel()
	s := newSim(t, smallCatalog())
	c := s.client(t, nil)
	ctx := context.Background()

	for _, e := range erp.Entities {
		n, err := c.Count(ctx, e, erp.ReadRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var read int
		for r := (erp.ReadRequest{PageSize: 7}); ; {
			keys, err := c.Keys(ctx, erp.KeyRequest{Entity: e, After: r.After, PageSize: 50})
			if err != nil {
				t.Fatal(err)
			}
			read += len(keys.Records)
			if keys.Done {
				break
			}
			r.After = keys.Next
		}
		if n != read || n == 0 {
			t.Errorf("%s: Count says %d, the keys are %d", e, n, read)
		}
	}
	// A count after a cursor counts what a read after it returns.
	p, err := c.Products(ctx, erp.ReadRequest{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := c.Count(ctx, erp.Products, erp.ReadRequest{})
	rest, err := c.Count(ctx, erp.Products, erp.ReadRequest{After: p.Next})
	if err != nil || rest != all-10 {
		t.Fatalf("after the first page of 10 of %d: Count = %d, %v", all, rest, err)
	}

	langs, err := c.CompanyLanguages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, r := range s.rows(t, store.LegalEntities) {
		want[r["LegalEntityId"].(string)] = r["LanguageId"].(string)
	}
	if len(langs) == 0 || len(langs) != len(want) {
		t.Fatalf("company languages %v, want %v", langs, want)
	}
	for co, l := range want {
		if langs[co] != l {
			t.Errorf("%s: language %q, want %q", co, langs[co], l)
		}
	}
}
