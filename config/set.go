// Package config is erpsync's configuration: every setting of every binary is declared once, with
// its config-file key, environment variable, flag, default and help, and read through koanf from
// the defaults, an optional YAML or TOML file, the environment and the command line, each
// overriding the one before (flags > environment > file > defaults).
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// FileEnv and FileFlag name the config file.
const (
	FileEnv  = "ERPSYNC_CONFIG"
	FileFlag = "config"
)

// Env looks up an environment variable, as os.LookupEnv does. An empty value counts as unset.
type Env func(name string) (string, bool)

// OSEnv is the process's environment.
var OSEnv Env = os.LookupEnv

// Setting is one setting, declared once: the file key, the environment variables and flags that
// set it, its default and help, and where its value goes.
type Setting struct {
	// Key is the setting's place in the config file, "section.name": in YAML
	// `section: {name: value}`, in TOML `[section] name = value`.
	Key string
	// Env lists the environment variables that set it. The first is the documented one; the
	// others are older names still read (the first one set wins).
	Env []string
	// Flag is the flag's name without dashes; Aliases are older names still accepted.
	Flag    string
	Aliases []string
	// Default is the value when nothing sets it, as text Value.Set reads ("" leaves the zero
	// value). DefaultText, when set, is what --help says instead (a default derived from other
	// settings).
	Default     string
	DefaultText string
	// Help says what the setting does, in a sentence or two.
	Help string
	// Secret settings are redacted when the configuration is printed.
	Secret bool
	// Value is where the value goes.
	Value Value
	// Check, if set, reports what is wrong with the value once every setting is read.
	Check func() error
}

// Set is the settings of one binary. Declare them with Add, then Parse. A Set is used by one
// goroutine.
type Set struct {
	// Program names the binary in messages and in print's header.
	Program string

	settings []*Setting
	titles   map[string]string
	order    []string // sections in declaration order
	derive   []func() error
	checks   []func() error

	file     string            // the config file read, if any
	origins  map[string]string // key -> where the value came from
	given    map[string]string // key -> the text given, for messages
	explicit map[string]bool   // keys given by a flag, the environment or the file
	env      Env               // the environment Parse read, for Derive steps
}

// NewSet returns an empty Set for program.
func NewSet(program string) *Set {
	return &Set{Program: program, titles: map[string]string{}, origins: map[string]string{}, given: map[string]string{}, explicit: map[string]bool{}}
}

// Section declares the title --help shows above the settings whose keys start with name+".".
func (s *Set) Section(name, title string) {
	if _, ok := s.titles[name]; !ok {
		s.order = append(s.order, name)
	}
	s.titles[name] = title
}

// Add declares settings. It panics on a setting without a key, value or section, or a key, flag or
// variable declared twice: those are programming errors. A key is section.name, or the name of
// a section alone for a setting that is the whole section (webshops: a list).
func (s *Set) Add(settings ...*Setting) {
	for _, st := range settings {
		section, _, ok := strings.Cut(st.Key, ".")
		if !ok {
			_, ok = st.Value.(structured)
		}
		if !ok || st.Value == nil {
			panic(fmt.Sprintf("config: setting %q needs a section.name key and a value", st.Key))
		}
		if _, ok := s.titles[section]; !ok {
			panic(fmt.Sprintf("config: setting %q: section %q is not declared", st.Key, section))
		}
		for _, o := range s.settings {
			if o.Key == st.Key || (st.Flag != "" && slices.Contains(o.flags(), st.Flag)) ||
				slices.ContainsFunc(st.Env, func(e string) bool { return slices.Contains(o.Env, e) }) {
				panic(fmt.Sprintf("config: setting %q repeats a key, flag or variable of %q", st.Key, o.Key))
			}
		}
		s.settings = append(s.settings, st)
	}
}

// Derive adds a step that runs after every value is read and before the checks: a default that
// depends on other settings. Steps run in the order they were added.
func (s *Set) Derive(f func() error) { s.derive = append(s.derive, f) }

// Check adds a check across settings, run after every setting's own check.
func (s *Set) Check(f func() error) { s.checks = append(s.checks, f) }

// Settings returns the declared settings in declaration order.
func (s *Set) Settings() []*Setting { return slices.Clone(s.settings) }

// Lookup returns the setting with key.
func (s *Set) Lookup(key string) (*Setting, bool) {
	for _, st := range s.settings {
		if st.Key == key {
			return st, true
		}
	}
	return nil, false
}

// File returns the config file that was read, or "".
func (s *Set) File() string { return s.file }

// Origin says where the value of the setting with key came from: "default", "$NAME", "--flag",
// the file's name, or what a Derive step said.
func (s *Set) Origin(key string) string {
	if o := s.origins[key]; o != "" {
		return o
	}
	return "default"
}

// IsSet reports whether the setting with key was given by a flag, the environment or the file.
func (s *Set) IsSet(key string) bool { return s.explicit[key] }

// SetDerived sets the setting with key to text, noting how it was derived ("derived from
// erp.tenant"), unless it IsSet. A later SetDerived of the same key wins.
func (s *Set) SetDerived(key, text, how string) error {
	st, ok := s.Lookup(key)
	if !ok {
		return fmt.Errorf("config: no setting %q", key)
	}
	if s.IsSet(key) {
		return nil
	}
	if err := st.Value.Set(text); err != nil {
		return fmt.Errorf("%s (%s): %w", key, how, err)
	}
	s.origins[key] = how
	return nil
}

func (st *Setting) flags() []string {
	if st.Flag == "" {
		return nil
	}
	return append([]string{st.Flag}, st.Aliases...)
}

// rawFlag records a flag's text; the values are set in precedence order after parsing.
type rawFlag struct {
	text   string
	isBool bool
}

func (f *rawFlag) String() string     { return f.text }
func (f *rawFlag) Set(v string) error { f.text = v; return nil }
func (f *rawFlag) IsBoolFlag() bool   { return f.isBool }

// Parse reads the settings. It registers --config and every setting's flags on fs (beside the
// caller's own), parses args (flags may stand before, between and after positional arguments;
// "--" ends them), and sets every value from its default, the config file, the environment and
// the flags, each overriding the one before. Then it runs the Derive steps and the checks. It
// returns the positional arguments, and every problem at once; after --help, flag.ErrHelp.
func (s *Set) Parse(fs *flag.FlagSet, args []string, env Env) ([]string, error) {
	byFlag := map[string]*Setting{}
	for _, st := range s.settings {
		if st.Flag == "" {
			continue
		}
		_, isBool := st.Value.(interface{ IsBoolFlag() bool })
		raw := &rawFlag{isBool: isBool}
		help := st.Help
		if len(st.Env) > 0 {
			help += " ($" + st.Env[0] + ")"
		}
		for _, name := range st.flags() {
			fs.Var(raw, name, help)
			byFlag[name] = st
		}
	}
	configFlag := fs.String(FileFlag, "", "a YAML or TOML file of settings ($"+FileEnv+")")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	fromFlags := map[string]any{}
	flagOrigin := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		if st, ok := byFlag[f.Name]; ok {
			fromFlags[st.Key] = f.Value.String()
			flagOrigin[st.Key] = "--" + f.Name
		}
	})
	return pos, s.resolve(*configFlag, fromFlags, flagOrigin, env)
}

// parseInterspersed parses fs's flags wherever they stand among the positional arguments; after
// "--" everything is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (s *Set) resolve(configFile string, fromFlags map[string]any, flagOrigin map[string]string, env Env) error {
	var errs []error
	clear(s.origins)
	clear(s.given)
	clear(s.explicit)
	s.env = env
	for _, st := range s.settings {
		if st.Default == "" {
			continue
		}
		if err := st.Value.Set(st.Default); err != nil {
			panic(fmt.Sprintf("config: default %q of %s: %v", st.Default, st.Key, err))
		}
	}

	k := koanf.New(".")
	s.file = ""
	if configFile == "" {
		configFile = lookup(env, FileEnv)
	}
	fileKeys := map[string]bool{}
	if configFile != "" {
		s.file = configFile
		fk, err := loadFile(configFile)
		if err != nil {
			return err
		}
		if err := s.unknownKeys(fk); err != nil {
			errs = append(errs, err)
		}
		for _, st := range s.settings {
			if fk.Exists(st.Key) {
				fileKeys[st.Key] = true
			}
		}
		if err := k.Merge(fk); err != nil {
			return fmt.Errorf("config file %s: %w", configFile, err)
		}
	}

	fromEnv := map[string]any{}
	envOrigin := map[string]string{}
	for _, st := range s.settings {
		for _, name := range st.Env {
			if v := lookup(env, name); v != "" {
				fromEnv[st.Key] = v
				envOrigin[st.Key] = "$" + name
				break
			}
		}
	}
	// Later loads win: the environment over the file, the flags over both.
	for _, layer := range []map[string]any{fromEnv, fromFlags} {
		if err := k.Load(confmap.Provider(layer, "."), nil); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}

	failed := map[string]bool{}
	for _, st := range s.settings {
		switch {
		case flagOrigin[st.Key] != "":
			s.origins[st.Key] = flagOrigin[st.Key]
		case envOrigin[st.Key] != "":
			s.origins[st.Key] = envOrigin[st.Key]
		case fileKeys[st.Key]:
			s.origins[st.Key] = filepath.Base(configFile)
		default:
			continue
		}
		s.explicit[st.Key] = true
		v := k.Get(st.Key)
		if err := set(st, v); err != nil {
			s.given[st.Key] = fmt.Sprint(v)
			failed[st.Key] = true
			errs = append(errs, fmt.Errorf("%s: %w", s.describe(st), err))
		}
	}
	for _, f := range s.derive {
		if err := f(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, st := range s.settings {
		if st.Check == nil || failed[st.Key] {
			continue
		}
		if err := st.Check(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.describe(st), err))
		}
	}
	for _, f := range s.checks {
		if err := f(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func lookup(env Env, name string) string {
	if env == nil {
		return ""
	}
	v, _ := env(name)
	return strings.TrimSpace(v)
}

// set gives a setting the value v from the merged layers: text from a flag or the environment,
// or what the file's parser made of it.
func set(st *Setting, v any) error {
	if sv, ok := st.Value.(structured); ok {
		switch v.(type) {
		case []any, map[string]any:
			return sv.setAny(v)
		}
	}
	text, err := scalarText(v)
	if err != nil {
		return err
	}
	return st.Value.Set(text)
}

// loadFile reads a YAML or TOML config file, by its extension.
func loadFile(path string) (*koanf.Koanf, error) {
	var parser koanf.Parser
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		parser = yaml.Parser()
	case ".toml":
		parser = toml.Parser()
	default:
		return nil, fmt.Errorf("config file %s: want a .yaml, .yml or .toml file", path)
	}
	k := koanf.New(".")
	if err := k.Load(file.Provider(path), parser); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return k, nil
}

// KnownSections are the config file's sections of every erpsync binary: a binary ignores the
// sections of the others, so that one file can serve them all.
var KnownSections = []string{"temporal", "elasticsearch", "index", "erp", "import", "schedules", "log", "worker", "storefront", "simulator", "alerts", "webshops"}

// unknownKeys reports the file's keys that no erpsync binary reads: in this binary's sections,
// keys that are neither its settings nor another binary's; other sections must be known ones.
func (s *Set) unknownKeys(k *koanf.Koanf) error {
	var unknown []string
	for _, key := range k.Keys() {
		section, _, _ := strings.Cut(key, ".")
		if _, mine := s.titles[section]; !mine {
			if !slices.Contains(KnownSections, section) {
				unknown = append(unknown, key)
			}
			continue
		}
		if !s.declares(key) && !sharedKey(key) {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	return fmt.Errorf("config file %s: unknown settings %s (%s --help lists them)", s.file, strings.Join(unknown, ", "), s.Program)
}

// declares reports whether key is one of s's settings, or inside a structured one.
func (s *Set) declares(key string) bool {
	return slices.ContainsFunc(s.settings, func(st *Setting) bool {
		if st.Key == key {
			return true
		}
		_, structured := st.Value.(structured)
		return structured && strings.HasPrefix(key, st.Key+".")
	})
}

var (
	sharedOnce sync.Once
	shared     []*Set
)

// sharedKey reports whether key is a setting of the worker, the starter or the storefront, so
// that one config file can serve all three.
func sharedKey(key string) bool {
	sharedOnce.Do(func() {
		for _, f := range []func() (*Config, *Set){ForWorker, ForStarter, ForStorefront} {
			_, s := f()
			shared = append(shared, s)
		}
	})
	return slices.ContainsFunc(shared, func(s *Set) bool { return s.declares(key) })
}

// describe names where a setting's value came from, for an error message.
func (s *Set) describe(st *Setting) string {
	o := s.Origin(st.Key)
	val, given := s.given[st.Key]
	if !given {
		val = st.Value.String()
	}
	if st.Secret {
		val = "<redacted>"
	}
	switch {
	case strings.HasPrefix(o, "$"):
		return fmt.Sprintf("%s=%q", o[1:], val)
	case strings.HasPrefix(o, "--"):
		return fmt.Sprintf("%s %q", o, val)
	case o == "default":
		return fmt.Sprintf("%s %q (default)", st.Key, val)
	case strings.HasPrefix(o, "derived"):
		return fmt.Sprintf("%s %q (%s)", st.Key, val, o)
	}
	return fmt.Sprintf("%s: %s %q", o, st.Key, val)
}

// Describe names where the value of the setting with key came from, as error messages do:
// ERP_URL="...", --erp-url "...", erpsync.yaml: erp.url "...", or erp.url "..." (default).
func (s *Set) Describe(key string) string {
	st, ok := s.Lookup(key)
	if !ok {
		return key
	}
	return s.describe(st)
}

// sections returns the declared sections in order with their settings.
func (s *Set) sections() map[string][]*Setting {
	m := map[string][]*Setting{}
	for _, st := range s.settings {
		sec, _, _ := strings.Cut(st.Key, ".")
		m[sec] = append(m[sec], st)
	}
	return m
}
