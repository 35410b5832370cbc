package erpsim

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/erpsync/erpsync/erpsim/store"
)

// metadataNamespace is the CSDL namespace of D365 F&O's data entities.
const metadataNamespace = "Microsoft.Dynamics.DataEntities"

// csdl is the part of an OData v4 CSDL XML document ($metadata) the simulator serves: an entity
// type per collection (its key and properties) and an entity set per collection in one
// container, as D365 F&O's /data/$metadata has them.
type csdl struct {
	XMLName  xml.Name `xml:"edmx:Edmx"`
	Version  string   `xml:"Version,attr"`
	EdmxNS   string   `xml:"xmlns:edmx,attr"`
	Services struct {
		Schema csdlSchema `xml:"Schema"`
	} `xml:"edmx:DataServices"`
}

type csdlSchema struct {
	Namespace string           `xml:"Namespace,attr"`
	NS        string           `xml:"xmlns,attr"`
	Types     []csdlEntityType `xml:"EntityType"`
	Container struct {
		Name string          `xml:"Name,attr"`
		Sets []csdlEntitySet `xml:"EntitySet"`
	} `xml:"EntityContainer"`
}

type csdlEntityType struct {
	Name string `xml:"Name,attr"`
	Key  struct {
		Refs []csdlRef `xml:"PropertyRef"`
	} `xml:"Key"`
	Properties []csdlProperty `xml:"Property"`
}

type csdlRef struct {
	Name string `xml:"Name,attr"`
}

type csdlProperty struct {
	Name     string `xml:"Name,attr"`
	Type     string `xml:"Type,attr"`
	Nullable string `xml:"Nullable,attr"`
}

type csdlEntitySet struct {
	Name       string `xml:"Name,attr"`
	EntityType string `xml:"EntityType,attr"`
}

// edmType is the OData type of a field of the simulator's schema.
func edmType(f store.Field) string {
	switch f.Type {
	case store.Int:
		if strings.HasSuffix(f.Name, "RecId") {
			return "Edm.Int64"
		}
		return "Edm.Int32"
	case store.Decimal:
		return "Edm.Decimal"
	case store.Date:
		return "Edm.Date"
	case store.DateTime:
		return "Edm.DateTimeOffset"
	}
	return "Edm.String"
}

// metadata serves GET /data/$metadata: the CSDL document of every collection the simulator
// serves, from its schema. Each entity type is named like its set (D365 names types in the
// singular, CustomerV3 for CustomersV3), enums are strings (D365 declares enum types), and
// every property is Nullable="false", as the store keeps no nulls; docs/erp-model.md says so.
func (h *dataHandler) metadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET")
		return
	}
	var doc csdl
	doc.Version = "4.0"
	doc.EdmxNS = "http://docs.oasis-open.org/odata/ns/edmx"
	s := &doc.Services.Schema
	s.Namespace, s.NS = metadataNamespace, "http://docs.oasis-open.org/odata/ns/edm"
	s.Container.Name = "Resources"
	for _, t := range h.served() {
		et := csdlEntityType{Name: t.Name}
		for _, k := range t.Key {
			et.Key.Refs = append(et.Key.Refs, csdlRef{Name: k})
		}
		for _, f := range t.Fields {
			et.Properties = append(et.Properties, csdlProperty{Name: f.Name, Type: edmType(f), Nullable: "false"})
		}
		s.Types = append(s.Types, et)
		s.Container.Sets = append(s.Container.Sets, csdlEntitySet{Name: t.Name, EntityType: metadataNamespace + "." + t.Name})
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("OData-Version", "4.0")
	w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	enc.Encode(doc)
}

// served returns the collections the simulator serves: every table, except the deletion log of
// stock D365.
func (h *dataHandler) served() []*store.Table {
	var out []*store.Table
	for _, t := range h.store.Schema().Tables {
		if t.Name == store.DeletedRecords && h.store.Behaviour().NoDeletionLog {
			continue
		}
		out = append(out, t)
	}
	return out
}
