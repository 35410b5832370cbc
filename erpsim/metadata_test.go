package erpsim

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/store"
)

// csdlDoc reads a CSDL document the way any OData v4 client does: edmx:Edmx /
// edmx:DataServices / Schema, with its entity types and its container's entity sets.
type csdlDoc struct {
	Version string `xml:"Version,attr"`
	Schemas []struct {
		Namespace string     `xml:"Namespace,attr"`
		Types     []csdlType `xml:"EntityType"`
		Sets      []csdlSet  `xml:"EntityContainer>EntitySet"`
	} `xml:"DataServices>Schema"`
}

type csdlType struct {
	Name string `xml:"Name,attr"`
	Keys []struct {
		Name string `xml:"Name,attr"`
	} `xml:"Key>PropertyRef"`
	Props []struct {
		Name string `xml:"Name,attr"`
		Type string `xml:"Type,attr"`
	} `xml:"Property"`
}

type csdlSet struct {
	Name string `xml:"Name,attr"`
	Type string `xml:"EntityType,attr"`
}

// TestMetadataDescribesEveryCollection: GET /data/$metadata is an OData v4 CSDL document, as
// D365's: every collection the service serves is an EntitySet of the container, its EntityType
// has the collection's key and every field; stock D365 has no DeletedRecords; it needs the token.
func TestMetadataDescribesEveryCollection(t *testing.T) {
	for _, stock := range []bool{false, true} {
		e := newTestERP(t, generate.Config{}, Config{Behaviour: store.Behaviour{NoBumps: stock, NoDeletionLog: stock}})
		status, h, b := e.do("GET", "/data/$metadata", nil)
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/xml") {
			t.Fatalf("GET $metadata: %d %s %.200s", status, h.Get("Content-Type"), b)
		}
		var doc csdlDoc
		if err := xml.Unmarshal(b, &doc); err != nil || doc.Version != "4.0" || len(doc.Schemas) != 1 {
			t.Fatalf("not a CSDL 4.0 document (%v): %.300s", err, b)
		}
		sch := doc.Schemas[0]
		served := 0
		for _, tb := range store.NewSchema().Tables {
			i := slices.IndexFunc(sch.Sets, func(s csdlSet) bool { return s.Name == tb.Name })
			if tb.Name == store.DeletedRecords && stock {
				if i >= 0 {
					t.Errorf("stock D365 lists the deletion log")
				}
				continue
			}
			served++
			if i < 0 {
				t.Errorf("no entity set %s", tb.Name)
				continue
			}
			typ := strings.TrimPrefix(sch.Sets[i].Type, sch.Namespace+".")
			j := slices.IndexFunc(sch.Types, func(et csdlType) bool { return et.Name == typ })
			if j < 0 {
				t.Errorf("set %s: no entity type %s", tb.Name, sch.Sets[i].Type)
				continue
			}
			et := sch.Types[j]
			var keys, props []string
			for _, k := range et.Keys {
				keys = append(keys, k.Name)
			}
			for _, p := range et.Props {
				props = append(props, p.Name)
				if !strings.HasPrefix(p.Type, "Edm.") {
					t.Errorf("%s.%s: type %q", tb.Name, p.Name, p.Type)
				}
			}
			var fields []string
			for _, f := range tb.Fields {
				fields = append(fields, f.Name)
			}
			if !slices.Equal(keys, tb.Key) || !slices.Equal(props, fields) {
				t.Errorf("%s: key %v properties %v; want key %v fields %v", tb.Name, keys, props, tb.Key, fields)
			}
		}
		if len(sch.Sets) != served {
			t.Errorf("%d entity sets, want %d", len(sch.Sets), served)
		}
		e.token = ""
		if status, _, _ := e.do("GET", "/data/$metadata", nil); status != http.StatusUnauthorized {
			t.Errorf("$metadata without a token: %d", status)
		}
	}
}
