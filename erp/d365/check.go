package d365

import (
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/failure"
)

// This file checks a configuration against the service before any import runs: the token, the
// service's $metadata, and one row of every collection the client reads.

// Collection is one collection the client reads.
type Collection struct {
	// D365 is D365's public name; Name the environment's (Config.Names), usually the same.
	D365, Name string
	// Fields are the fields the client filters, orders and links by, in the environment's
	// names: what $metadata must list for the collection to be read at all. (A field a reader
	// only decodes, when missing, costs a dead letter per record, not the read.)
	Fields []string
}

// Collections returns every collection the client reads: the model's in model order, then the
// company list and the deletion log.
func (c *Client) Collections() []Collection {
	fields := map[string][]string{
		erp.LegalEntities:  {"LegalEntityId", "LanguageId"},
		erp.DeletedRecords: {fCompany, fModified, "RecId", "EntityName", "RecordKey", "DeletedDateTime"},
	}
	var order []string
	add := func(coll string, fs ...string) {
		if _, ok := fields[coll]; !ok {
			order = append(order, coll)
		}
		for _, f := range fs {
			if f != "" && !slices.Contains(fields[coll], f) {
				fields[coll] = append(fields[coll], f)
			}
		}
	}
	for _, r := range erp.Roots() {
		add(r.Collection, fCompany, fModified, r.Key)
		for _, ch := range r.Children {
			if !ch.Shared {
				add(ch.Collection, fCompany)
			}
			add(ch.Collection, fModified)
			add(ch.Collection, ch.Key...)
			add(ch.Collection, ch.Select...)
			if ch.Link != nil {
				add(ch.Collection, ch.Link.From)
				add(r.Collection, ch.Link.RootField(&r))
			}
			if ch.Via != nil {
				add(ch.Collection, ch.Via.From)
				if via, ok := r.Child(ch.Via.Child); ok {
					add(via.Collection, ch.Via.To)
				}
			}
			if ch.When != nil {
				add(ch.Collection, ch.When.Field)
			}
		}
	}
	order = append(order, erp.LegalEntities, erp.DeletedRecords)
	out := make([]Collection, 0, len(order))
	for _, d := range order {
		coll := c.colls[d]
		named := make([]string, len(fields[d]))
		for i, f := range fields[d] {
			named[i] = coll.f(f)
		}
		out = append(out, Collection{D365: d, Name: coll.name, Fields: named})
	}
	return out
}

// Token fetches a bearer token: it checks the token URL, the client id and the secret. Its
// errors say which is wrong where the token endpoint says so.
func (c *Client) Token(ctx context.Context) error {
	_, err := c.tokens.token(ctx)
	return err
}

// Metadata is what the service's $metadata (its CSDL document) says about its entity sets.
type Metadata struct {
	// props maps each entity set to the property names of its entity type.
	props map[string][]string
}

// Sets returns the entity sets, sorted.
func (m *Metadata) Sets() []string {
	out := make([]string, 0, len(m.props))
	for s := range m.props {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Properties returns the property names of the entity set's type; ok is false when there is no
// such set.
func (m *Metadata) Properties(set string) (props []string, ok bool) {
	props, ok = m.props[set]
	return props, ok
}

// Metadata reads the service's $metadata (GET /data/$metadata, an OData CSDL XML document; a
// real D365's has thousands of entity sets and is read as a stream).
func (c *Client) Metadata(ctx context.Context) (*Metadata, error) {
	const op = "read $metadata"
	token, err := c.tokens.token(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.data+"$metadata", nil)
	if err != nil {
		return nil, failure.E(failure.Invalid, op, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/xml")
	// The document of a real environment is large: no time limit but ctx's.
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return nil, failure.E(failure.Unavailable, op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(op, resp)
	}
	m, err := parseMetadata(resp.Body)
	if err != nil {
		return nil, failure.E(failure.Invalid, op, err)
	}
	return m, nil
}

// parseMetadata reads the entity types and entity sets of a CSDL document, by local element
// names (the namespaces differ between OData versions).
func parseMetadata(r io.Reader) (*Metadata, error) {
	d := xml.NewDecoder(r)
	types := map[string][]string{} // qualified and bare type name -> properties
	sets := map[string]string{}    // set -> type
	var namespace, typ string
	var props []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a CSDL document: %w", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "Schema":
				namespace = attr(el, "Namespace")
			case "EntityType":
				typ, props = attr(el, "Name"), nil
			case "Property":
				if typ != "" {
					props = append(props, attr(el, "Name"))
				}
			case "EntitySet":
				sets[attr(el, "Name")] = attr(el, "EntityType")
			}
		case xml.EndElement:
			if el.Name.Local == "EntityType" && typ != "" {
				types[namespace+"."+typ] = props
				types[typ] = props
				typ = ""
			}
		}
	}
	if len(sets) == 0 {
		return nil, errors.New("no entity sets in the $metadata document")
	}
	m := &Metadata{props: map[string][]string{}}
	for set, t := range sets {
		m.props[set] = types[t]
	}
	return m, nil
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// CheckCollection reports what keeps coll from being read: a name that is no entity set of
// meta (with the closest ones it has), fields its type lacks, or the service's answer to a
// request for one row. meta may be nil when $metadata could not be read.
func (c *Client) CheckCollection(ctx context.Context, meta *Metadata, coll Collection) error {
	named := coll.Name
	if coll.Name != coll.D365 {
		named = fmt.Sprintf("%s (D365's %s)", coll.Name, coll.D365)
	}
	if meta != nil {
		props, ok := meta.Properties(coll.Name)
		if !ok {
			sets := meta.Sets()
			return failure.E(failure.NotFound, "check "+coll.Name, fmt.Errorf("collection %s is not an entity set of $metadata; of its %d sets the closest are %s",
				named, len(sets), strings.Join(Closest(coll.Name, sets, 5), ", ")))
		}
		var missing []string
		for _, f := range coll.Fields {
			if !slices.Contains(props, f) {
				missing = append(missing, f)
			}
		}
		if len(missing) > 0 {
			var near []string
			for _, f := range missing {
				near = append(near, f+" (closest: "+strings.Join(Closest(f, props, 3), ", ")+")")
			}
			return failure.E(failure.Invalid, "check "+coll.Name, fmt.Errorf("collection %s lacks fields erpsync reads by: %s",
				named, strings.Join(near, "; ")))
		}
	}
	cc := c.colls[coll.D365]
	u := c.url(cc, param{"cross-company", "true"}, param{"$top", "1"})
	var n counter
	if _, err := c.get(ctx, "read one row of "+coll.Name, u, 0, &n); err != nil {
		return err
	}
	return nil
}

// Closest returns up to n of names nearest to name, case-insensitively, by edit distance.
func Closest(name string, names []string, n int) []string {
	type scored struct {
		name string
		d    int
	}
	all := make([]scored, len(names))
	for i, s := range names {
		all[i] = scored{s, distance(strings.ToLower(name), strings.ToLower(s))}
	}
	slices.SortFunc(all, func(a, b scored) int { return cmp.Or(cmp.Compare(a.d, b.d), strings.Compare(a.name, b.name)) })
	out := make([]string, 0, n)
	for _, s := range all[:min(n, len(all))] {
		out = append(out, s.name)
	}
	return out
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
