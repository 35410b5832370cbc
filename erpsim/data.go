package erpsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/erpsync/erpsync/erpsim/odata"
	"github.com/erpsync/erpsync/erpsim/store"
)

// MaxPageSize is the largest page the service returns, as D365 (odata.maxpagesize is capped).
const MaxPageSize = 10_000

// maxBody bounds a request body.
const maxBody = 4 << 20

// dataHandler serves the OData service under /data/.
type dataHandler struct {
	store    *store.Store
	pageSize int
}

func (h *dataHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/data")
	path = strings.TrimPrefix(path, "/")
	switch path {
	case "":
		h.serviceDocument(w, r)
		return
	case "$metadata":
		h.metadata(w, r)
		return
	}
	name, keyText, hasKey, err := splitResource(path)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	t, ok := h.store.Schema().Table(name)
	if name == store.DeletedRecords && h.store.Behaviour().NoDeletionLog {
		ok = false // stock D365 has no deletion log
	}
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no collection %q: see GET /data/ for the list", name))
		return
	}
	if !hasKey {
		switch r.Method {
		case http.MethodGet:
			h.query(w, r, t)
		case http.MethodPost:
			h.create(w, r, t)
		default:
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" is not allowed on a collection: use GET or POST")
		}
		return
	}
	key, err := parseKey(t, keyText)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	switch r.Method {
	case http.MethodGet:
		h.get(w, r, t, key)
	case http.MethodPatch, http.MethodPut:
		h.update(w, r, t, key)
	case http.MethodDelete:
		h.delete(w, r, t, key)
	default:
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" is not allowed on a record: use GET, PATCH or DELETE")
	}
}

// splitResource splits "Coll(key)" into its name and key text.
func splitResource(path string) (name, key string, hasKey bool, err error) {
	i := strings.IndexByte(path, '(')
	if i < 0 {
		if strings.ContainsAny(path, "/)") {
			return "", "", false, fmt.Errorf("bad resource path %q", path)
		}
		return path, "", false, nil
	}
	if !strings.HasSuffix(path, ")") {
		return "", "", false, fmt.Errorf("bad resource path %q: the key must end with ')'", path)
	}
	return path[:i], path[i+1 : len(path)-1], true, nil
}

// parseKey turns a key predicate into a key record of t.
func parseKey(t *store.Table, text string) (store.Record, error) {
	parts, err := odata.ParseKey(text)
	if err != nil {
		return nil, fmt.Errorf("bad key (%s): %w", text, err)
	}
	key := store.Record{}
	for _, p := range parts {
		name := p.Name
		if name == "" {
			if len(t.Key) != 1 {
				return nil, fmt.Errorf("bad key (%s): name the key fields %s", text, strings.Join(t.Key, ", "))
			}
			name = t.Key[0]
		}
		if !t.IsKey(name) {
			return nil, fmt.Errorf("bad key (%s): %q is not a key field of %s (the key is %s)", text, name, t.Name, strings.Join(t.Key, ", "))
		}
		switch p.Value.Kind {
		case odata.LitString:
			key[name] = p.Value.Text
		case odata.LitNumber:
			key[name] = json.Number(p.Value.Text)
		default:
			return nil, fmt.Errorf("bad key (%s): %s value for %q", text, p.Value.Kind, name)
		}
	}
	if len(key) != len(t.Key) {
		return nil, fmt.Errorf("bad key (%s): the key of %s is %s", text, t.Name, strings.Join(t.Key, ", "))
	}
	return key, nil
}

// crossCompany reports whether a request's query parameters ask for every company.
func crossCompany(params url.Values) bool {
	return strings.EqualFold(params.Get("cross-company"), "true")
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

func (h *dataHandler) serviceDocument(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
		URL  string `json:"url"`
	}
	doc := struct {
		Context string  `json:"@odata.context"`
		Value   []entry `json:"value"`
	}{Context: baseURL(r) + "/data/$metadata"}
	for _, t := range h.served() {
		doc.Value = append(doc.Value, entry{Name: t.Name, Kind: "EntitySet", URL: t.Name})
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("OData-Version", "4.0")
	json.NewEncoder(w).Encode(doc)
}

// knownOptions are the system query options the service understands.
var knownOptions = map[string]bool{
	"$filter": true, "$orderby": true, "$top": true, "$skip": true, "$select": true,
	"$count": true, "$skiptoken": true, "$format": true,
}

func (h *dataHandler) query(w http.ResponseWriter, r *http.Request, t *store.Table) {
	params := r.URL.Query()
	q := store.Query{Table: t.Name, Top: -1, PageSize: h.pageSize, Stored: true}
	for name := range params {
		if strings.HasPrefix(name, "$") && !knownOptions[name] {
			writeError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("query option %s is not supported", name))
			return
		}
	}
	bad := func(format string, args ...any) {
		writeError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf(format, args...))
	}
	var err error
	if f := params.Get("$filter"); params.Has("$filter") {
		if q.Filter, err = odata.ParseFilter(f); err != nil {
			bad("invalid $filter: %v", err)
			return
		}
	}
	if q.OrderBy, err = odata.ParseOrderBy(params.Get("$orderby")); err != nil {
		bad("invalid $orderby: %v", err)
		return
	}
	if q.Select, err = odata.ParseSelect(params.Get("$select")); err != nil {
		bad("invalid $select: %v", err)
		return
	}
	for _, o := range []struct {
		name string
		dst  *int
	}{{"$top", &q.Top}, {"$skip", &q.Skip}} {
		if v := params.Get(o.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				bad("invalid %s %q: expected a non-negative integer", o.name, v)
				return
			}
			*o.dst = n
		}
	}
	switch c := params.Get("$count"); c {
	case "", "false":
	case "true":
		q.Count = true
	default:
		bad("invalid $count %q: expected true or false", c)
		return
	}
	if !crossCompany(params) {
		q.Company = store.DefaultCompany
	}
	q.After = params.Get("$skiptoken")
	if n, ok := maxPageSize(r.Header.Values("Prefer")); ok {
		q.PageSize = min(n, MaxPageSize)
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(q.PageSize))
	}

	page, err := h.store.Query(r.Context(), q)
	if err != nil {
		storeError(w, err)
		return
	}
	buf := bodies.Get().(*[]byte)
	defer bodies.Put(buf)
	b := (*buf)[:0]
	if need := 256 + len(page.Rows)*512; cap(b) < need {
		b = make([]byte, 0, need)
	}
	b = append(b, `{"@odata.context":`...)
	b = appendString(b, contextURL(r, t.Name, q.Select))
	if page.Count >= 0 {
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, page.Count, 10)
	}
	b = append(b, `,"value":[`...)
	names := rowNames(page.Fields)
	for i, row := range page.Rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRow(b, names, page.Fields, row)
	}
	b = append(b, ']')
	if page.Next != "" {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, nextLink(r, page.Next))
	}
	b = append(b, "}\n"...)
	*buf = b
	writeJSON(w, http.StatusOK, b)
}

// bodies holds the buffers collection answers are built in, for the next answers: a page of
// thousands of records is megabytes, which would otherwise be allocated (and cleared, and
// collected) for every request. A buffer is put back once it is written out (a Write must not
// keep the slice it is given).
var bodies = sync.Pool{New: func() any { return new([]byte) }}

// maxPageSize reads odata.maxpagesize from Prefer headers.
func maxPageSize(prefer []string) (int, bool) {
	for _, h := range prefer {
		for p := range strings.SplitSeq(h, ",") {
			v, ok := strings.CutPrefix(strings.TrimSpace(p), "odata.maxpagesize=")
			if !ok {
				continue
			}
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				return n, true
			}
		}
	}
	return 0, false
}

func contextURL(r *http.Request, name string, sel []string) string {
	u := baseURL(r) + "/data/$metadata#" + name
	if sel != nil {
		u += "(" + strings.Join(sel, ",") + ")"
	}
	return u
}

// nextLink is the request's URL with $skiptoken set; $top and $skip are carried by the token.
func nextLink(r *http.Request, token string) string {
	params := r.URL.Query()
	params.Del("$top")
	params.Del("$skip")
	params.Set("$skiptoken", token)
	u := url.URL{Path: r.URL.Path, RawQuery: params.Encode()}
	return baseURL(r) + u.String()
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("OData-Version", "4.0")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func storeError(w http.ResponseWriter, err error) {
	switch store.KindOf(err) {
	case store.Invalid:
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
	case store.NotFound:
		writeError(w, http.StatusNotFound, "NotFound", err.Error())
	case store.Conflict:
		writeError(w, http.StatusConflict, "Conflict", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "InternalServerError", err.Error())
	}
}

// visible reports whether a record of t can be seen by the request (company rule; a shared
// table's rows belong to no company and are seen by every request).
func visible(r *http.Request, t *store.Table, rec store.Record) bool {
	return crossCompany(r.URL.Query()) || t.Shared || rec[store.FieldCompany] == store.DefaultCompany
}

func (h *dataHandler) get(w http.ResponseWriter, r *http.Request, t *store.Table, key store.Record) {
	rec, err := h.store.Get(r.Context(), t.Name, key)
	if err == nil && !visible(r, t, rec) {
		err = store.Errorf(store.NotFound, "no %s record with key (%s) in company %s: add cross-company=true to read other companies",
			t.Name, store.FormatKey(t, rec, true), store.DefaultCompany)
	}
	if err != nil {
		storeError(w, err)
		return
	}
	h.writeRecord(w, r, http.StatusOK, t, rec)
}

func (h *dataHandler) writeRecord(w http.ResponseWriter, r *http.Request, status int, t *store.Table, rec store.Record) {
	b := []byte(`{"@odata.context":`)
	b = appendString(b, baseURL(r)+"/data/$metadata#"+t.Name+"/$entity")
	body := appendRecord(nil, t.Fields, recordValues(t.Fields, rec))
	b = append(b, ',')
	b = append(b, body[1:]...)
	b = append(b, '\n')
	writeJSON(w, status, b)
}

// readBody decodes a JSON object body with exact numbers.
func readBody(r *http.Request) (store.Record, error) {
	d := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	d.UseNumber()
	var in map[string]any
	if err := d.Decode(&in); err != nil {
		return nil, store.Errorf(store.Invalid, "the body must be a JSON object: %v", err)
	}
	if in == nil {
		return nil, store.Errorf(store.Invalid, "the body must be a JSON object")
	}
	rec := store.Record{}
	for k, v := range in {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		rec[k] = v
	}
	return rec, nil
}

func (h *dataHandler) create(w http.ResponseWriter, r *http.Request, t *store.Table) {
	in, err := readBody(r)
	if err != nil {
		storeError(w, err)
		return
	}
	var rec store.Record
	_, err = h.store.Write(r.Context(), func(tx *store.Tx) error {
		rec, err = tx.Create(t.Name, in)
		return err
	})
	if err != nil {
		storeError(w, err)
		return
	}
	w.Header().Set("Location", baseURL(r)+"/data/"+t.Name+"("+store.FormatKey(t, rec, true)+")")
	h.writeRecord(w, r, http.StatusCreated, t, rec)
}

func (h *dataHandler) update(w http.ResponseWriter, r *http.Request, t *store.Table, key store.Record) {
	in, err := readBody(r)
	if err != nil {
		storeError(w, err)
		return
	}
	_, err = h.store.Write(r.Context(), func(tx *store.Tx) error {
		_, err := tx.Update(t.Name, key, in)
		return err
	})
	if err != nil {
		storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *dataHandler) delete(w http.ResponseWriter, r *http.Request, t *store.Table, key store.Record) {
	_, err := h.store.Write(r.Context(), func(tx *store.Tx) error {
		return tx.Delete(t.Name, key)
	})
	if err != nil {
		storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
