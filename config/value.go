package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/webshop"
)

// Value is where a setting's value goes. Set parses text: a flag, an environment variable, a
// default, or a scalar of the config file. Get returns the value as the config file would hold
// it (print writes it back out as YAML). Every Value below satisfies flag.Getter.
type Value interface {
	Set(text string) error
	String() string
	Get() any
}

// structured is a Value that also takes a file's lists or maps as they are, not as text.
type structured interface {
	Value
	setAny(v any) error
}

// String returns a Value that stores text in p.
func String(p *string) Value { return (*stringValue)(p) }

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(strings.TrimSpace(s)); return nil }
func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Get() any           { return string(*v) }

// Int returns a Value that stores a whole number in p.
func Int(p *int) Value { return (*intValue)(p) }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want a whole number")
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Get() any       { return int(*v) }

// Int64 returns a Value that stores a whole number in p.
func Int64(p *int64) Value { return (*int64Value)(p) }

type int64Value int64

func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("want a whole number")
	}
	*v = int64Value(n)
	return nil
}
func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *int64Value) Get() any       { return int64(*v) }

// Float returns a Value that stores a number in p.
func Float(p *float64) Value { return (*floatValue)(p) }

type floatValue float64

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("want a number")
	}
	*v = floatValue(f)
	return nil
}
func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *floatValue) Get() any       { return float64(*v) }

// Bool returns a Value that stores true or false in p. It reads true, false, 1, 0, yes and no,
// and a flag of it may stand alone (--plain-http).
func Bool(p *bool) Value { return (*boolValue)(p) }

type boolValue bool

func (v *boolValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes":
		*v = true
	case "false", "0", "no":
		*v = false
	default:
		return errors.New("want true or false")
	}
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) Get() any         { return bool(*v) }
func (v *boolValue) IsBoolFlag() bool { return true }

// Duration returns a Value that stores a duration such as 30s, 5m or 1h30m in p.
func Duration(p *time.Duration) Value { return (*durationValue)(p) }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return errors.New("want a duration such as 30s, 5m or 1h")
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Get() any       { return time.Duration(*v).String() }

// List returns a Value that stores a list in p: comma-separated text, or a list in the file.
// Blank items are dropped.
func List(p *[]string) Value { return &listValue{p} }

type listValue struct{ p *[]string }

func (v *listValue) Set(s string) error {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	*v.p = out
	return nil
}

func (v *listValue) setAny(x any) error {
	items, ok := x.([]any)
	if !ok {
		return errors.New("want a list")
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := scalarText(it)
		if err != nil {
			return fmt.Errorf("list item: %w", err)
		}
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	*v.p = out
	return nil
}

func (v *listValue) String() string { return strings.Join(*v.p, ",") }
func (v *listValue) Get() any {
	if len(*v.p) == 0 {
		return []string{}
	}
	return slices.Clone(*v.p)
}

// Map returns a Value that stores a map of text in p: "key=value,key=value", or a map in the
// file.
func Map(p *map[string]string) Value { return &mapValue{p} }

type mapValue struct{ p *map[string]string }

func (v *mapValue) Set(s string) error {
	m := map[string]string{}
	for pair := range strings.SplitSeq(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		k, val, ok := strings.Cut(pair, "=")
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		if !ok || k == "" || val == "" {
			return fmt.Errorf("%q: want key=value pairs separated by commas", pair)
		}
		m[k] = val
	}
	*v.p = nilIfEmpty(m)
	return nil
}

func (v *mapValue) setAny(x any) error {
	in, ok := x.(map[string]any)
	if !ok {
		return errors.New("want a map")
	}
	m := map[string]string{}
	for k, val := range in {
		s, err := scalarText(val)
		if err != nil || strings.TrimSpace(s) == "" {
			return fmt.Errorf("key %s: want a text value", k)
		}
		m[k] = strings.TrimSpace(s)
	}
	*v.p = nilIfEmpty(m)
	return nil
}

func nilIfEmpty[K comparable, V any](m map[K]V) map[K]V {
	if len(m) == 0 {
		return nil
	}
	return m
}

func (v *mapValue) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(*v.p)) {
		parts = append(parts, k+"="+(*v.p)[k])
	}
	return strings.Join(parts, ",")
}

func (v *mapValue) Get() any {
	if *v.p == nil {
		return map[string]string{}
	}
	return maps.Clone(*v.p)
}

// Maps returns a Value that stores a map of maps in p: "outer.inner=value,...", or a map of
// maps in the file.
func Maps(p *map[string]map[string]string) Value { return &mapsValue{p} }

type mapsValue struct{ p *map[string]map[string]string }

func (v *mapsValue) Set(s string) error {
	m := map[string]map[string]string{}
	for pair := range strings.SplitSeq(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		k, val, ok := strings.Cut(pair, "=")
		outer, inner, dotted := strings.Cut(strings.TrimSpace(k), ".")
		val = strings.TrimSpace(val)
		if !ok || !dotted || outer == "" || inner == "" || val == "" {
			return fmt.Errorf("%q: want outer.inner=value pairs separated by commas", pair)
		}
		if m[outer] == nil {
			m[outer] = map[string]string{}
		}
		m[outer][inner] = val
	}
	*v.p = nilIfEmpty(m)
	return nil
}

func (v *mapsValue) setAny(x any) error {
	in, ok := x.(map[string]any)
	if !ok {
		return errors.New("want a map of maps")
	}
	m := map[string]map[string]string{}
	for outer, inner := range in {
		var one map[string]string
		if err := (&mapValue{&one}).setAny(inner); err != nil {
			return fmt.Errorf("%s: %w", outer, err)
		}
		if one != nil {
			m[outer] = one
		}
	}
	*v.p = nilIfEmpty(m)
	return nil
}

func (v *mapsValue) String() string {
	var parts []string
	for _, outer := range slices.Sorted(maps.Keys(*v.p)) {
		inner := (*v.p)[outer]
		for _, k := range slices.Sorted(maps.Keys(inner)) {
			parts = append(parts, outer+"."+k+"="+inner[k])
		}
	}
	return strings.Join(parts, ",")
}

func (v *mapsValue) Get() any {
	out := map[string]map[string]string{}
	for k, m := range *v.p {
		out[k] = maps.Clone(m)
	}
	return out
}

// Language is a language of the product texts and the analyzer of its search fields.
type Language struct {
	// Code is the language code of the documents' fields ("en", "de").
	Code string
	// Analyzer is the Elasticsearch analyzer of its text fields ("english", "german"; "standard"
	// needs no plugin).
	Analyzer string
}

// DefaultAnalyzer is a language's analyzer when none is given.
const DefaultAnalyzer = "standard"

// Languages returns a Value that stores languages in p: "en=english,de=german,nl" (a language
// without an analyzer gets DefaultAnalyzer), or in the file a map {en: english, de: german} or a
// list [en, de]. Codes are lower case; the order is kept from text and a list, sorted from a map.
func Languages(p *[]Language) Value { return &languagesValue{p} }

type languagesValue struct{ p *[]Language }

var (
	languageCode = regexp.MustCompile(`^[a-z]{2,3}$`)
	analyzerName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

func (v *languagesValue) Set(s string) error {
	var items []string
	for it := range strings.SplitSeq(s, ",") {
		items = append(items, it)
	}
	return v.setItems(items)
}

func (v *languagesValue) setItems(items []string) error {
	var out []Language
	seen := map[string]bool{}
	for _, it := range items {
		if it = strings.TrimSpace(it); it == "" {
			continue
		}
		code, analyzer, _ := strings.Cut(it, "=")
		l := Language{Code: strings.ToLower(strings.TrimSpace(code)), Analyzer: strings.TrimSpace(analyzer)}
		if l.Analyzer == "" {
			l.Analyzer = DefaultAnalyzer
		}
		if !languageCode.MatchString(l.Code) {
			return fmt.Errorf("%q: want a language code of 2 or 3 letters such as en or de (the documents' field names), optionally =analyzer", it)
		}
		if !analyzerName.MatchString(l.Analyzer) {
			return fmt.Errorf("%q: %q is not an analyzer name", it, l.Analyzer)
		}
		if seen[l.Code] {
			return fmt.Errorf("language %s is given twice", l.Code)
		}
		seen[l.Code] = true
		out = append(out, l)
	}
	*v.p = out
	return nil
}

func (v *languagesValue) setAny(x any) error {
	switch in := x.(type) {
	case []any:
		items := make([]string, 0, len(in))
		for _, it := range in {
			s, err := scalarText(it)
			if err != nil {
				return err
			}
			items = append(items, s)
		}
		return v.setItems(items)
	case map[string]any:
		var items []string
		for _, code := range slices.Sorted(maps.Keys(in)) {
			a, err := scalarText(in[code])
			if err != nil {
				return fmt.Errorf("language %s: %w", code, err)
			}
			items = append(items, code+"="+a)
		}
		return v.setItems(items)
	}
	return errors.New("want a map of language codes to analyzers, or a list of codes")
}

func (v *languagesValue) String() string {
	parts := make([]string, len(*v.p))
	for i, l := range *v.p {
		parts[i] = l.Code + "=" + l.Analyzer
	}
	return strings.Join(parts, ",")
}

func (v *languagesValue) Get() any { return v.String() }

// scalarText returns a file's scalar as text; lists and maps are an error.
func scalarText(x any) (string, error) {
	switch x := x.(type) {
	case string:
		return x, nil
	case nil:
		return "", nil
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x), nil
	case time.Time: // TOML dates
		return x.Format(time.RFC3339Nano), nil
	}
	return "", fmt.Errorf("want a single value, not %T", x)
}

// Webshops returns a Value that stores webshops in p: in the file a list of maps with the keys
// of webshop.Webshop's JSON (id, company, languages, default-language, currencies,
// template-customer, products, customers, token-secret-file, demo), from a flag or the
// environment the same list as JSON. An unknown key is an error.
func Webshops(p *[]webshop.Webshop) Value { return &webshopsValue{p} }

type webshopsValue struct{ p *[]webshop.Webshop }

func (v *webshopsValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		*v.p = nil
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var out []webshop.Webshop
	if err := dec.Decode(&out); err != nil {
		return fmt.Errorf(`want a JSON list of webshops, [{"id":"us","company":"usmf",...}]: %v`, err)
	}
	for i := range out {
		out[i].Company = strings.ToLower(out[i].Company)
	}
	if len(out) == 0 {
		out = nil
	}
	*v.p = out
	return nil
}

func (v *webshopsValue) setAny(x any) error {
	if _, ok := x.([]any); !ok {
		return errors.New("want a list of webshops, each a map with id, company, languages, currencies and template-customer")
	}
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("want a list of webshops: %v", err)
	}
	return v.Set(string(b))
}

func (v *webshopsValue) String() string {
	if len(*v.p) == 0 {
		return ""
	}
	b, _ := json.Marshal(*v.p) // strings and lists of strings: cannot fail
	return string(b)
}

func (v *webshopsValue) Get() any {
	out := []any{}
	if s := v.String(); s != "" {
		_ = json.Unmarshal([]byte(s), &out)
	}
	return out
}
