package storefront

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/erpsync/erpsync/erp"
)

// Bounds of the API's inputs. A request beyond one is a 400 in the API's error format, before
// anything reaches Elasticsearch.
const (
	// maxQuery is the length of a search text, in characters.
	maxQuery = 200
	// maxPrefix is the length of an autocomplete prefix, in characters.
	maxPrefix = 100
	// maxCompany is the length of a company id. D365 F&O's dataAreaId holds 4 characters (the
	// CDM definitions of its entities: "dataareaid", maxLength 4); the bound leaves room for
	// other ERPs.
	maxCompany = 16
	// maxKey is the length of an item number, customer account or variant number. D365's ItemId
	// and CustAccount hold 20 characters and are often extended; 100 leaves room for that.
	maxKey = 100
	// maxFacetValues is how many values one facet may select; maxFacetValue is the length of
	// one. The API offers at most 100 values per facet.
	maxFacetValues = 100
	maxFacetValue  = 100
	// maxNumber is the length of a decimal parameter (price_min, price_max, quantity), and
	// maxAmount its largest value: more than any price or quantity, small enough that a double
	// holds it without loss of order.
	maxNumber = 32
	maxAmount = 1e15
	// maxAfter is the length of a next token: three sort values.
	maxAfter = 2048
	// maxLang is the length of a language code ("de", "en-us").
	maxLang = 16
)

// param returns the parameter name of q, trimmed, when it is valid UTF-8 without control
// characters and at most max characters long; otherwise a 400.
func param(q url.Values, name string, max int) (string, error) {
	return checkText(name, strings.TrimSpace(q.Get(name)), max)
}

// checkText checks one value as param does.
func checkText(name, v string, max int) (string, error) {
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return "", badRequest("%s: control characters or invalid UTF-8", name)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return "", badRequest("%s is longer than %d characters", name, max)
	}
	return v, nil
}

// checkCompany checks a company id (from a parameter or the path) and returns it in lower case.
func checkCompany(v string) (string, error) {
	c, err := checkText("company", strings.TrimSpace(v), maxCompany)
	return strings.ToLower(c), err
}

// amountParam reads a decimal parameter between 0 and maxAmount; nil when it is absent.
func amountParam(q url.Values, name string) (*erp.Decimal, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return nil, nil
	}
	if len(v) > maxNumber {
		return nil, badRequest("%s is longer than %d characters", name, maxNumber)
	}
	d, err := erp.ParseDecimal(v)
	if err != nil {
		return nil, badRequest("%s must be a decimal number such as 12.50", name)
	}
	if f, _ := strconv.ParseFloat(d.String(), 64); strings.HasPrefix(string(d), "-") || math.IsInf(f, 0) || f > maxAmount {
		return nil, badRequest("%s must be between 0 and %.0f", name, float64(maxAmount))
	}
	return &d, nil
}

// intParam reads a whole number between 1 and max; def when it is absent.
func intParam(q url.Values, name string, def, max int) (int, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, badRequest("%s must be a whole number from 1 to %d", name, max)
	}
	return n, nil
}
