// Package document turns ERP records into the search documents the storefront queries: a pure,
// deterministic mapping with one document type per root entity.
//
// Every document carries the same envelope: id (= the Elasticsearch _id, see ID), company (lower
// case), key (as the ERP spells it), modified_at (the ERP's ModifiedDateTime), deleted (always
// false when built from a record), the digest of the ERP rows it was built from and the hash of
// its content (Encode). A builder fails only for a value no document can hold (a number beyond
// the range of a double, see FromProduct): the caller dead-letters that record and goes on.
// Documents hold finite numbers only. What Elasticsearch rejects is dead-lettered by the index
// layer.
package document

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/webshop"
)

// ID returns the document id of a root record: the company in lower case, a colon, and the key
// as the ERP spells it ("usmf:1000").
func ID(company, key string) string { return strings.ToLower(company) + ":" + key }

// Version returns the external version of a record last modified at modified: microseconds
// since the Unix epoch. It never goes down while the ERP bumps ModifiedDateTime on every change,
// so a replayed or late write never replaces a newer one (docs/design.md rule 4).
//
// Elasticsearch refuses a negative external version, and for the whole bulk request, not for
// the one item: D365's "no date" (1900-01-01) would be one. Stamps before 1970-01-02 (a day
// after the epoch; no ERP stamps a change then) therefore count in seconds since 0001-01-01
// instead: that keeps their order among themselves at a second's resolution, and every one of
// them (at most 62,135,683,199) stays below the version of every later stamp (at least
// 86,400,000,000), which keep their microseconds. Stamps before year 1 get version 0.
func Version(modified time.Time) int64 {
	if s := modified.Unix(); s < versionFloorUnix {
		return max(0, s-yearOneUnix)
	}
	return modified.UnixMicro()
}

const (
	// versionFloorUnix is 1970-01-02T00:00:00Z, the first stamp whose version is its
	// microseconds since the epoch.
	versionFloorUnix = 86400
	// yearOneUnix is 0001-01-01T00:00:00Z.
	yearOneUnix = -62135596800
)

// Build returns the search document of r, by its entity: FromProduct, FromCustomer,
// FromContact, FromSalesRep, FromCategory, FromLineDiscount or FromActivation, with the record's
// digest. The result is a pointer to the document.
func Build(r erp.Record, o Options) (any, error) {
	d, err := build(r, o)
	if err != nil {
		return nil, err
	}
	d.envelope().SourceDigest = r.Digest
	return d, nil
}

// enveloped is a pointer to a document.
type enveloped interface{ envelope() *Envelope }

func (e *Envelope) envelope() *Envelope { return e }

func build(r erp.Record, o Options) (enveloped, error) {
	d, err := buildOf(r, o)
	if err != nil {
		return nil, err
	}
	d.envelope().Webshops, _ = webshop.Of(o.Webshops, r)
	return d, nil
}

// Indexed reports whether r's document belongs in the index: always, unless webshops decide its
// entity (webshop.Of) and none of them takes it. The import deletes the document of a record that
// is not (or no longer) indexed where the index holds one.
func Indexed(r erp.Record, o Options) bool {
	ids, decided := webshop.Of(o.Webshops, r)
	return !decided || len(ids) > 0
}

func buildOf(r erp.Record, o Options) (enveloped, error) {
	switch v := r.Value.(type) {
	case erp.Product:
		d, err := FromProduct(v, o)
		if err != nil {
			return nil, err
		}
		return &d, nil
	case erp.Customer:
		d := FromCustomer(v)
		return &d, nil
	case erp.Contact:
		d := FromContact(v)
		return &d, nil
	case erp.SalesRep:
		d := FromSalesRep(v)
		return &d, nil
	case erp.Category:
		d := FromCategory(v)
		return &d, nil
	case erp.LineDiscountAgreement:
		d := FromLineDiscount(v)
		return &d, nil
	case erp.Activation:
		d := FromActivation(v)
		return &d, nil
	}
	return nil, fmt.Errorf("no document for a %s record of type %T", r.Entity, r.Value)
}

// Encode returns the JSON of r's document (Build) and its content hash, which the JSON carries as
// content_hash. The hash covers everything but modified_at, source_digest and content_hash: two
// reads of a record whose document would be the same have the same hash, whatever the stamps of
// the ERP rows (an ERP add-on stamps a product when one of its categories changes, which is no
// longer in its document). The import skips writing a document whose hash the index holds.
// The JSON is one line, as json.Marshal writes it, ready for a bulk request as it is
// (search.IndexJSON); product documents, the bulk of an import, are written without reflection
// (appendProduct), to the byte as json.Marshal writes them.
func Encode(r erp.Record, o Options) (body []byte, hash string, err error) {
	d, err := build(r, o)
	if err != nil {
		return nil, "", err
	}
	env := d.envelope()
	modified := env.ModifiedAt
	env.ModifiedAt, env.SourceDigest, env.ContentHash = time.Time{}, "", ""
	buf := bodies.Get().(*[]byte)
	defer bodies.Put(buf)
	b, err := marshal((*buf)[:0], d)
	if err != nil {
		return nil, "", fmt.Errorf("encode %s %s: %w", r.Entity, ID(r.Company, r.Key), err)
	}
	if cap(b) <= maxKeptBody {
		*buf = b
	}
	sum := sha256.Sum256(b)
	hash = hex.EncodeToString(sum[:16])
	// The envelope comes first and its zero modified_at once: put the volatile fields there.
	i := bytes.Index(b, []byte(zeroModifiedAt))
	if i < 0 {
		return nil, "", fmt.Errorf("encode %s %s: no modified_at in the document", r.Entity, ID(r.Company, r.Key))
	}
	out := make([]byte, 0, len(b)+len(r.Digest)+len(hash)+96)
	out = append(out, b[:i]...)
	out = append(out, `"modified_at":`...)
	if out, err = appendTime(out, modified); err != nil {
		return nil, "", fmt.Errorf("encode %s %s: %w", r.Entity, ID(r.Company, r.Key), err)
	}
	if r.Digest != "" {
		out = append(out, `,"source_digest":`...)
		out = appendString(out, r.Digest) // JSON's quoting: Go's (strconv) writes escapes JSON has not
	}
	out = append(out, `,"content_hash":"`...)
	out = append(out, hash...)
	out = append(out, '"')
	out = append(out, b[i+len(zeroModifiedAt):]...)
	return out, hash, nil
}

// zeroModifiedAt is the modified_at field of a document whose ModifiedAt is zero, as
// json.Marshal writes it.
const zeroModifiedAt = `"modified_at":"0001-01-01T00:00:00Z"`

// DefaultLanguages returns the languages product documents carry when Options.Languages is
// empty: en, de, nl, fr. Search mappings must list the same languages (dynamic: strict rejects
// others).
func DefaultLanguages() []string { return []string{"en", "de", "nl", "fr"} }

// DefaultLanguage is a company's language when Options.CompanyLanguages does not name it.
const DefaultLanguage = "en"

// Options shape the documents. The zero value takes the defaults named on each field. Options
// are read-only for the builders and safe to share.
type Options struct {
	// Languages are the language codes ("en", "de") product texts are kept in, one field per
	// language (default DefaultLanguages()). Translations in other languages are dropped.
	Languages []string
	// CompanyLanguages maps a company (any case) to the ERP language id or code of its own
	// product names and descriptions ("usmf": "en-us", "demf": "de"); DefaultLanguage
	// otherwise.
	CompanyLanguages map[string]string
	// Webshops decide which products, customers, contacts and sales representatives are
	// indexed and name the webshops that take each (Envelope.Webshops; see Indexed). None: every
	// record is indexed and names none.
	Webshops []webshop.Webshop
}

// Langs returns the language codes in effect: Languages, or DefaultLanguages().
func (o Options) Langs() []string {
	if len(o.Languages) == 0 {
		return DefaultLanguages()
	}
	return o.Languages
}

// companyLanguage is the language code of company's own texts.
func (o Options) companyLanguage(company string) string {
	l, ok := o.CompanyLanguages[company]
	if !ok { // any case; the smallest matching key, so that the result is deterministic
		for _, c := range slices.Sorted(maps.Keys(o.CompanyLanguages)) {
			if strings.EqualFold(c, company) {
				l = o.CompanyLanguages[c]
				break
			}
		}
	}
	if code := Language(l); code != "" {
		return code
	}
	return DefaultLanguage
}

// Language maps an ERP language id to the language code documents use: the primary subtag in
// lower case ("en-us" -> "en", "de" -> "de", "zh_Hans" -> "zh"); "" for "".
func Language(id string) string {
	id = strings.ToLower(strings.TrimSpace(id))
	if i := strings.IndexAny(id, "-_"); i >= 0 {
		id = id[:i]
	}
	return id
}

// Envelope is what every document carries.
type Envelope struct {
	// ID is the document's _id (see ID), also a keyword field for sorting with search_after.
	ID string `json:"id"`
	// Company is the dataAreaId in lower case.
	Company string `json:"company"`
	// Key is the record's key as the ERP spells it.
	Key string `json:"key"`
	// ModifiedAt is the ERP's ModifiedDateTime (UTC).
	ModifiedAt time.Time `json:"modified_at"`
	// Deleted is true for a tombstone; documents built from a record are never deleted.
	Deleted bool `json:"deleted"`
	// SourceDigest is the record's erp.Record.Digest: which ERP rows (collection, key,
	// ModifiedDateTime) the document was built from. The audit compares it with the ERP's.
	SourceDigest string `json:"source_digest,omitempty"`
	// ContentHash identifies the rest of the document (see Encode). A read of the record that
	// gives the same hash is not written again, so ModifiedAt and SourceDigest describe the read
	// that last changed the document's content.
	ContentHash string `json:"content_hash,omitempty"`
	// Webshops are the ids of the webshops that take the record (webshop.Of), sorted; absent
	// where no webshops are configured and on the company-wide documents, which every webshop of
	// the company uses.
	Webshops []string `json:"webshops,omitempty"`
}

func envelope(company, key string, modified time.Time) Envelope {
	return Envelope{ID: ID(company, key), Company: strings.ToLower(company), Key: key, ModifiedAt: modified.UTC()}
}

// sortedUnique returns the non-empty strings of ss, sorted and without duplicates; nil when
// none.
func sortedUnique(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
