package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
)

// env is a test's environment.
type env map[string]string

func (e env) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

// minimal is what the worker needs to start at all.
func minimal() env {
	return env{"ERP_URL": "http://127.0.0.1:8088", "ERP_CLIENT_ID": "erpsync", "ERP_CLIENT_SECRET": "s3cret"}
}

func parse(t *testing.T, new func() (*Config, *Set), e env, args ...string) (*Config, *Set, error) {
	t.Helper()
	// No Temporal profile of the machine's user (~/.config/temporalio/temporal.toml) applies.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	c, s := new()
	fs := flag.NewFlagSet(s.Program, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err := s.Parse(fs, args, e.lookup)
	return c, s, err
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrecedence: a flag wins over the environment, the environment over the file, the file
// over the default; print says where each value came from.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, "erpsync.yaml", `
import:
  safety-lag: 10s
  overlap: 2m
  chunk-pages: 7
erp:
  page-size: 300
`)
	e := minimal()
	e["ERPSYNC_CONFIG"] = file
	e["ERPSYNC_OVERLAP"] = "3m"
	e["ERPSYNC_CHUNK_PAGES"] = "8"
	c, s, err := parse(t, ForWorker, e, "--chunk-pages", "9")
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.Import.SafetyLag, c.Import.Overlap, c.Import.ChunkPages, c.Import.PageSize, c.ERP.PageSize, c.Import.MaxDeleteShare}
	want := []any{10 * time.Second, 3 * time.Minute, 9, 300, 300, 0.1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("safety lag, overlap, chunk pages, page size (import, ERP), max delete share = %v, want %v", got, want)
	}
	for key, origin := range map[string]string{"import.safety-lag": "erpsync.yaml", "import.overlap": "$ERPSYNC_OVERLAP",
		"import.chunk-pages": "--chunk-pages", "import.max-delete-share": "default"} {
		if o := s.Origin(key); o != origin {
			t.Errorf("origin of %s: %q, want %q", key, o, origin)
		}
	}
}

// TestTOMLFileAndSectionsOfOtherBinaries: a TOML file works as YAML does, and one file serves
// every binary: the storefront's section does not bother the worker.
func TestTOMLFileAndSectionsOfOtherBinaries(t *testing.T) {
	file := writeFile(t, "erpsync.toml", `
[erp]
url = "https://contoso.operations.dynamics.com"
tenant = "contoso.onmicrosoft.com"
client-id = "app"
client-secret = "x"
companies = ["USMF", "demf"]
collections = { CustomersV3 = "CustomersV2" }
fields = { CustomersV3 = { OrganizationName = "Name" } }

[index]
languages = { en = "english", de = "german" }
replicas = 1

[storefront]
addr = "0.0.0.0:8080"
`)
	c, s, err := parse(t, ForWorker, env{}, "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	if c.ERP.BaseURL != "https://contoso.operations.dynamics.com" || !reflect.DeepEqual(c.ERP.Companies, []string{"USMF", "demf"}) ||
		c.ERP.Names.Collections["CustomersV3"] != "CustomersV2" || c.ERP.Names.Fields["CustomersV3"]["OrganizationName"] != "Name" {
		t.Errorf("erp: %+v", c.ERP)
	}
	if want := []Language{{"de", "german"}, {"en", "english"}}; !reflect.DeepEqual(c.Index.Languages, want) || c.Index.Replicas != 1 {
		t.Errorf("index: %+v", c.Index)
	}
	if !reflect.DeepEqual(c.Import.Document.Languages, []string{"de", "en"}) {
		t.Errorf("the documents' languages %v must be the index's", c.Import.Document.Languages)
	}
	// The tenant derives Entra ID's token URL and the scope of the environment.
	if c.ERP.TokenURL != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token" ||
		c.ERP.Scope != "https://contoso.operations.dynamics.com/.default" {
		t.Errorf("token URL %q, scope %q", c.ERP.TokenURL, c.ERP.Scope)
	}
	if o := s.Origin("erp.token-url"); o != "derived from erp.tenant" {
		t.Errorf("origin of the token URL: %q", o)
	}
}

// TestUnknownKeysAreNamed: a typo in the file is an error that names it.
func TestUnknownKeysAreNamed(t *testing.T) {
	file := writeFile(t, "erpsync.yaml", "erp:\n  url: http://x:1\n  client-id: a\n  client-secret: b\n  pagesize: 10\nelastic:\n  url: x\n")
	_, _, err := parse(t, ForWorker, env{}, "--config", file)
	if err == nil || !strings.Contains(err.Error(), "erp.pagesize") || !strings.Contains(err.Error(), "elastic.url") {
		t.Errorf("unknown keys: %v; want both named", err)
	}
	if _, _, err := parse(t, ForWorker, env{}, "--config", filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a config file that is not there must be an error")
	}
}

// TestEveryVariableOfBeforeStillWorks: the environment variables the binaries, scripts, tests
// and docker-compose.yml used before the one configuration set what they set then.
func TestEveryVariableOfBeforeStillWorks(t *testing.T) {
	e := env{
		"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "ns", "ERPSYNC_TASK_QUEUE": "q",
		"ELASTICSEARCH_URL": "http://es:9200", "ELASTICSEARCH_API_KEY": "k", "ELASTICSEARCH_USERNAME": "u", "ELASTICSEARCH_PASSWORD": "p",
		"ELASTICSEARCH_INSECURE": "true", "ERPSYNC_INDEX_PREFIX": "shop",
		"ERP_URL": "http://erp:8088", "ERP_CLIENT_ID": "id", "ERP_CLIENT_SECRET": "secret", "ERP_TOKEN_URL": "http://erp:8088/token",
		"ERP_SCOPE": "sc", "ERP_COMPANIES": "usmf,demf", "ERP_PAGE_SIZE": "250", "ERP_CONCURRENCY": "3",
		"ERPSYNC_SAFETY_LAG": "2s", "ERPSYNC_OVERLAP": "1m", "ERPSYNC_CHUNK_PAGES": "5", "ERPSYNC_CHANGE_DETECTION": "child-stamps",
		"ERPSYNC_COMPANY_LANGUAGES": "USMF=en-us,demf=de", "ERPSYNC_LOG_LEVEL": "warn", "ERPSYNC_LOG_FORMAT": "console",
		"ERPSYNC_METRICS_ADDR": "0.0.0.0:9464", "ERPSYNC_PPROF_ADDR": "127.0.0.1:6060", "ERPSYNC_BULK_WORKERS": "3", "ERPSYNC_FLUSH_BYTES": "100000",
		"ERPSYNC_MAX_BULK_REQUESTS": "5",
	}
	c, _, err := parse(t, ForWorker, e)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.Temporal.Address, c.Temporal.Namespace, c.Temporal.TaskQueue, c.Elasticsearch.URL, c.Elasticsearch.APIKey,
		c.Elasticsearch.Username, c.Elasticsearch.Password, c.Elasticsearch.Insecure, c.Index.Prefix,
		c.ERP.BaseURL, c.ERP.ClientID, c.ERP.ClientSecret, c.ERP.TokenURL, c.ERP.Scope, c.ERP.Companies, c.Import.PageSize, c.ERP.PageSize, c.ERP.Concurrency,
		c.Import.SafetyLag, c.Import.Overlap, c.Import.ChunkPages, c.Import.Detection, c.Import.Document.CompanyLanguages,
		c.Log.Level, c.Log.Format, c.Worker.MetricsAddr, c.Worker.PprofAddr, c.Index.BulkWorkers, c.Index.FlushBytes, c.Index.MaxBulkRequests}
	want := []any{"temporal:7233", "ns", "q", "http://es:9200", "k", "u", "p", true, "shop",
		"http://erp:8088", "id", "secret", "http://erp:8088/token", "sc", []string{"usmf", "demf"}, 250, 250, 3,
		2 * time.Second, time.Minute, 5, activities.ChildStamps, map[string]string{"USMF": "en-us", "demf": "de"},
		"warn", "console", "0.0.0.0:9464", "127.0.0.1:6060", 3, 100000, 5}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("value %d: %v, want %v", i, got[i], want[i])
		}
	}
	// The page size has one setting; its newer variable wins over the older one.
	e["ERPSYNC_PAGE_SIZE"] = "400"
	if c, _, err := parse(t, ForWorker, e); err != nil || c.Import.PageSize != 400 || c.ERP.PageSize != 400 {
		t.Errorf("ERPSYNC_PAGE_SIZE beside ERP_PAGE_SIZE: %d/%d %v, want 400", c.Import.PageSize, c.ERP.PageSize, err)
	}

	c, _, err = parse(t, ForStarter, env{"ERPSYNC_SCHEDULE_PREFIX": "a-", "ERPSYNC_UPDATE_EVERY": "1m"}, "--rebuild-cron", "0 4 * * *")
	if err != nil || c.Schedules.Prefix != "a-" || c.Schedules.UpdateEvery != time.Minute || c.Schedules.RebuildCron != "0 4 * * *" ||
		c.Schedules.AuditCron != DefaultAuditCron || c.Import.Detection != activities.ParentStamps {
		t.Errorf("starter: %+v %v", c.Schedules, err)
	}
	c, _, err = parse(t, ForStorefront, env{"STOREFRONT_ADDR": "0.0.0.0:1", "STOREFRONT_API_KEY": "key", "STOREFRONT_DEMO": "yes",
		"STOREFRONT_PLAIN_HTTP": "1", "ERPSYNC_WEBSHOPS": oneWebshop})
	if err != nil || c.Storefront != (Storefront{Addr: "0.0.0.0:1", APIKey: "key", Demo: true, PlainHTTP: true}) || len(c.Webshops) != 1 {
		t.Errorf("storefront: %+v %v %v", c.Storefront, c.Webshops, err)
	}
}

// TestEveryProblemAtOnce: every bad value is reported in one error that says where it came from.
func TestEveryProblemAtOnce(t *testing.T) {
	file := writeFile(t, "bad.yaml", "import:\n  overlap: soon\n")
	e := env{"ERPSYNC_CONFIG": file, "ERP_PAGE_SIZE": "20000", "ERPSYNC_CHANGE_DETECTION": "psychic", "ERPSYNC_LANGUAGES": "english"}
	_, _, err := parse(t, ForWorker, e, "--log-level", "loud")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`bad.yaml: import.overlap "`, `ERP_PAGE_SIZE="20000": want 1 to 10000`, `ERPSYNC_CHANGE_DETECTION="psychic"`,
		`ERPSYNC_LANGUAGES`, `--log-level "loud"`, "ERP_URL is empty", "ERP_CLIENT_ID is empty", "ERP_CLIENT_SECRET is empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestHelpListsEverySetting: --help of each binary lists every setting with its key, flag,
// variable and default, from the one declaration.
func TestHelpListsEverySetting(t *testing.T) {
	for _, new := range []func() (*Config, *Set){ForWorker, ForStarter, ForStorefront} {
		_, s := new()
		var out bytes.Buffer
		s.PrintSettings(&out)
		help := out.String()
		for _, st := range s.Settings() {
			for _, want := range append([]string{st.Key, "--" + st.Flag}, prefixed("$", st.Env)...) {
				if !strings.Contains(help, want) {
					t.Errorf("%s --help lacks %s of %s", s.Program, want, st.Key)
				}
			}
			def := st.DefaultText
			if def == "" {
				def = st.Default
			}
			if def != "" && !strings.Contains(strings.Join(strings.Fields(help), " "), "Default: "+def) {
				t.Errorf("%s --help lacks the default %q of %s", s.Program, def, st.Key)
			}
		}
	}
}

func prefixed(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

// TestPrintRedactsSecretsAndReadsBack: print hides every secret, and what it prints is a config
// file that gives the same configuration (with the secrets filled in again).
func TestPrintRedactsSecretsAndReadsBack(t *testing.T) {
	e := minimal()
	e["ELASTICSEARCH_API_KEY"] = "es-key-value"
	e["TEMPORAL_API_KEY"] = "temporal-key-value"
	e["ERP_COLLECTIONS"] = "CustomersV3=CustomersV2"
	e["ERP_FIELDS"] = "CustomersV3.OrganizationName=Name,ReleasedProductsV2.ProductName=Name"
	e["ERPSYNC_LANGUAGES"] = "en=english,de=german"
	e["ERP_COMPANIES"] = "usmf,demf"
	c, s, err := parse(t, ForWorker, e, "--replicas", "2")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := s.Print(&out); err != nil {
		t.Fatal(err)
	}
	printed := out.String()
	for _, secret := range []string{"s3cret", "es-key-value", "temporal-key-value"} {
		if strings.Contains(printed, secret) {
			t.Errorf("print shows a secret:\n%s", printed)
		}
	}
	if n := strings.Count(printed, Redacted); n != 3 {
		t.Errorf("%d redacted values, want 3:\n%s", n, printed)
	}
	if !strings.Contains(printed, "replicas: 2 # --replicas") || !strings.Contains(printed, "url: http://127.0.0.1:8088 # $ERP_URL") {
		t.Errorf("print does not say where values came from:\n%s", printed)
	}
	back := strings.NewReplacer("client-secret: "+Redacted, "client-secret: s3cret",
		"api-key: "+Redacted+" # $ELASTICSEARCH_API_KEY", "api-key: es-key-value",
		"api-key: "+Redacted+" # $TEMPORAL_API_KEY", "api-key: temporal-key-value").Replace(printed)
	again, _, err := parse(t, ForWorker, env{}, "--config", writeFile(t, "printed.yaml", back))
	if err != nil {
		t.Fatalf("the printed configuration does not read back: %v\n%s", err, back)
	}
	if !reflect.DeepEqual(again, c) {
		t.Errorf("read back:\n%+v\nwant\n%+v", *again, *c)
	}
}

// TestLanguages: code=analyzer pairs, codes alone, bad ones named.
func TestLanguages(t *testing.T) {
	var ls []Language
	v := Languages(&ls)
	if err := v.Set("EN=english, de ,nl=dutch"); err != nil || !reflect.DeepEqual(ls, []Language{{"en", "english"}, {"de", "standard"}, {"nl", "dutch"}}) {
		t.Errorf("%v %v", ls, err)
	}
	for _, bad := range []string{"english", "en=", "en,en", "e1=x", "en=a b"} {
		if err := v.Set(bad); err == nil && bad != "en=" {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// TestFlagsBetweenArguments: flags may stand between positional arguments; "--" ends them.
func TestFlagsBetweenArguments(t *testing.T) {
	c, s := ForWorker()
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	pos, err := s.Parse(fs, []string{"config", "--log-level", "debug", "print", "--", "--x"}, minimal().lookup)
	if err != nil || !reflect.DeepEqual(pos, []string{"config", "print", "--x"}) || c.Log.Level != "debug" {
		t.Errorf("positional %q, level %q, %v", pos, c.Log.Level, err)
	}
	_, s = ForWorker()
	fs = flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := s.Parse(fs, []string{"--help"}, minimal().lookup); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}

// TestInsecureIsWarnedAbout: skipping the certificate check works, and is a warning the worker
// and the storefront log at start (and config check shows).
func TestInsecureIsWarnedAbout(t *testing.T) {
	c, _, err := parse(t, ForWorker, minimal())
	if err != nil || len(c.Warnings()) != 0 {
		t.Errorf("without ELASTICSEARCH_INSECURE: %v %v", c.Warnings(), err)
	}
	e := minimal()
	e["ELASTICSEARCH_INSECURE"] = "true"
	c, _, err = parse(t, ForWorker, e)
	if err != nil || !c.Elasticsearch.Insecure || len(c.Warnings()) != 1 || !strings.Contains(c.Warnings()[0], "ELASTICSEARCH_INSECURE") {
		t.Errorf("with ELASTICSEARCH_INSECURE: %v %v", c.Warnings(), err)
	}
	c, _, err = parse(t, ForStorefront, env{"ERPSYNC_WEBSHOPS": oneWebshop})
	if err != nil || len(c.Warnings()) != 1 || !strings.Contains(c.Warnings()[0], "STOREFRONT_API_KEY") {
		t.Errorf("the storefront with the development key: %v %v", c.Warnings(), err)
	}
}

// TestREADMEExampleReads: the production config file the README shows is one the worker reads.
func TestREADMEExampleReads(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## Configuration")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	example, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no YAML example in the README's Configuration section")
	}
	e := env{"ERPSYNC_CONFIG": writeFile(t, "erpsync.yaml", example), "ERP_CLIENT_SECRET": "s"}
	c, _, err := parse(t, ForWorker, e)
	if err != nil {
		t.Fatalf("the README's example: %v\n%s", err, example)
	}
	if c.ERP.TokenURL != "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token" ||
		c.Index.Replicas != 1 || c.Elasticsearch.CloudID == "" || c.Elasticsearch.URL != "" || c.Import.Detection != activities.ChildStamps {
		t.Errorf("the README's example reads as %+v", c)
	}
}

// TestOneFileServesEveryBinary: a file with every binary's sections is read by each, each taking
// its own settings; a key no binary has is still an error.
func TestOneFileServesEveryBinary(t *testing.T) {
	file := writeFile(t, "erpsync.yaml", `
erp:
  url: http://erp:8088
  client-id: a
  client-secret: b
  company-languages: {usmf: en-us}
import:
  change-detection: child-stamps
  safety-lag: 10s
index:
  prefix: shop
  replicas: 1
storefront:
  addr: 0.0.0.0:8080
schedules:
  update-every: 2m
worker:
  metrics-addr: 0.0.0.0:9464
simulator:
  products: 10
webshops:
  - {id: us, company: usmf, languages: [en], currencies: [USD], template-customer: US-WEB, token-secret-file: us.key}
`)
	for _, new := range []func() (*Config, *Set){ForWorker, ForStarter, ForStorefront} {
		c, s, err := parse(t, new, env{"ERPSYNC_CONFIG": file})
		if err != nil {
			t.Errorf("%s: %v", s.Program, err)
			continue
		}
		if c.Index.Prefix != "shop" {
			t.Errorf("%s: prefix %q", s.Program, c.Index.Prefix)
		}
	}
	bad := writeFile(t, "bad.yaml", "storefront:\n  adr: x\n")
	if _, _, err := parse(t, ForStorefront, env{"ERPSYNC_CONFIG": bad}); err == nil || !strings.Contains(err.Error(), "storefront.adr") {
		t.Errorf("a typo in the storefront's section: %v", err)
	}
}

// oneWebshop is a webshop as ERPSYNC_WEBSHOPS holds it.
const oneWebshop = `[{"id":"us","company":"usmf","languages":["en"],"currencies":["USD"],"template-customer":"US-WEB","token-secret-file":"/run/us.key"}]`

// TestWebshops: webshops come from the file as a list of maps (YAML and TOML) or from the
// environment as JSON; they reach the document options; the companies read default to theirs;
// every problem is named with the webshop; print writes them back as the file holds them.
func TestWebshops(t *testing.T) {
	yaml := writeFile(t, "erpsync.yaml", `
webshops:
  - id: us
    company: USMF
    languages: [en]
    currencies: [USD, EUR]
    template-customer: US-WEB
    products: {item-groups: [FURN], root-category: C01}
    customers: {groups: ["10"], accounts: [US-042]}
    token-secret-file: /run/secrets/us.key
    demo: {customer: US-001, contact: CP-US-001-1, agent: "000001"}
  - id: de
    company: demf
    languages: [de, en]
    default-language: de
    currencies: [EUR]
    template-customer: DE-WEB
    token-secret-file: /run/secrets/de.key
`)
	toml := writeFile(t, "erpsync.toml", `
[[webshops]]
id = "us"
company = "USMF"
languages = ["en"]
currencies = ["USD", "EUR"]
template-customer = "US-WEB"
token-secret-file = "/run/secrets/us.key"
products = { item-groups = ["FURN"], root-category = "C01" }
customers = { groups = ["10"], accounts = ["US-042"] }
demo = { customer = "US-001", contact = "CP-US-001-1", agent = "000001" }

[[webshops]]
id = "de"
company = "demf"
languages = ["de", "en"]
default-language = "de"
currencies = ["EUR"]
template-customer = "DE-WEB"
token-secret-file = "/run/secrets/de.key"
`)
	var printed string
	for _, file := range []string{yaml, toml} {
		e := minimal()
		e["ERPSYNC_CONFIG"] = file
		c, s, err := parse(t, ForWorker, e)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		us := c.Webshops[0]
		if len(c.Webshops) != 2 || us.Company != "usmf" || us.Products.RootCategory != "C01" || !reflect.DeepEqual(us.Customers.Accounts, []string{"US-042"}) ||
			us.Demo.Agent != "000001" || c.Webshops[1].DefaultLang() != "de" {
			t.Errorf("%s: webshops %+v", file, c.Webshops)
		}
		if !reflect.DeepEqual(c.Import.Document.Webshops, c.Webshops) {
			t.Errorf("%s: the documents' webshops %v", file, c.Import.Document.Webshops)
		}
		if !reflect.DeepEqual(c.ERP.Companies, []string{"usmf", "demf"}) || s.Origin("erp.companies") != "derived from webshops" {
			t.Errorf("%s: companies read %v (%s), want the webshops'", file, c.ERP.Companies, s.Origin("erp.companies"))
		}
		var out bytes.Buffer
		if err := s.Print(&out); err != nil {
			t.Fatal(err)
		}
		printed = out.String()
	}
	// What print writes is a config file that gives the same webshops.
	if !strings.Contains(printed, "webshops:\n") || !strings.Contains(printed, "template-customer: US-WEB") {
		t.Errorf("print:\n%s", printed)
	}
	e := minimal()
	e["ERPSYNC_CONFIG"] = writeFile(t, "printed.yaml", strings.ReplaceAll(printed, Redacted, "s3cret"))
	again, _, err := parse(t, ForWorker, e)
	if err != nil || len(again.Webshops) != 2 || again.Webshops[0].Demo.Contact != "CP-US-001-1" {
		t.Errorf("the printed file: %+v %v\n%s", again.Webshops, err, printed)
	}
	// Companies named explicitly win.
	e = minimal()
	e["ERPSYNC_CONFIG"], e["ERP_COMPANIES"] = yaml, "usmf"
	if c, _, err := parse(t, ForWorker, e); err != nil || !reflect.DeepEqual(c.ERP.Companies, []string{"usmf"}) {
		t.Errorf("ERP_COMPANIES beside webshops: %v %v", c.ERP.Companies, err)
	}

	// Problems, each with its webshop.
	e = minimal()
	e["ERPSYNC_WEBSHOPS"] = `[{"id":"us","company":"usmf","languages":["xx"],"currencies":["usd"]},{"id":"us","company":"usmf","languages":["en"],"currencies":["USD"],"template-customer":"X"}]`
	_, _, err = parse(t, ForWorker, e)
	for _, want := range []string{"webshop us: language xx is not among the index's languages", `webshop us: currency "usd"`, "webshop us: no template customer",
		"webshop us: the id is given twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	e["ERPSYNC_WEBSHOPS"] = `[{"id":"us","tempalte-customer":"US-WEB"}]`
	if _, _, err := parse(t, ForWorker, e); err == nil || !strings.Contains(err.Error(), `unknown field "tempalte-customer"`) {
		t.Errorf("a misspelt key: %v", err)
	}
	// The storefront needs a webshop, and each its token secret.
	if _, _, err := parse(t, ForStorefront, env{}); err == nil || !strings.Contains(err.Error(), "want at least one webshop") {
		t.Errorf("a storefront without webshops: %v", err)
	}
	if _, _, err := parse(t, ForStorefront, env{"ERPSYNC_WEBSHOPS": strings.Replace(oneWebshop, `,"token-secret-file":"/run/us.key"`, "", 1)}); err == nil ||
		!strings.Contains(err.Error(), "webshop us: no token-secret-file") {
		t.Errorf("a webshop without its token secret: %v", err)
	}
	// A worker without webshops indexes everything, as before.
	if c, _, err := parse(t, ForWorker, minimal()); err != nil || c.Webshops != nil || c.ERP.Companies != nil {
		t.Errorf("a worker without webshops: %v %v %v", c.Webshops, c.ERP.Companies, err)
	}
}

// TestPartitionsAreBoundedByWhatTheERPAllows: a rebuild's partitions in flight times the
// requests each has in flight (erp.concurrency) may not exceed the requests the ERP allows
// (erp.max-concurrent-requests, D365's 52 by default), which the imports are told.
func TestPartitionsAreBoundedByWhatTheERPAllows(t *testing.T) {
	for _, tc := range []struct {
		env        env
		max        int
		partitions int // in flight, when there is no error
		wantErr    string
	}{
		{env{}, 13, 8, ""},
		{env{"ERPSYNC_PARTITIONS": "13"}, 13, 13, ""},
		{env{"ERPSYNC_PARTITIONS": "14"}, 13, 0, "exceed the 52 requests the ERP allows"},
		{env{"ERP_MAX_CONCURRENT_REQUESTS": "8", "ERPSYNC_PARTITIONS": "2"}, 2, 2, ""},
		{env{"ERP_MAX_CONCURRENT_REQUESTS": "8", "ERP_CONCURRENCY": "8", "ERPSYNC_PARTITIONS": "2"}, 1, 0, "want at most 1"},
		// The default of 8 is not refused where the ERP allows fewer: it gives way.
		{env{"ERP_MAX_CONCURRENT_REQUESTS": "16"}, 4, 4, ""},
		{env{"ERP_MAX_CONCURRENT_REQUESTS": "8", "ERP_CONCURRENCY": "8"}, 1, 1, ""},
	} {
		e := minimal()
		for k, v := range tc.env {
			e[k] = v
		}
		c, _, err := parse(t, ForWorker, e)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%v: error %v, want %q", tc.env, err, tc.wantErr)
		}
		if c.Import.MaxPartitions != tc.max {
			t.Errorf("%v: at most %d partitions, want %d", tc.env, c.Import.MaxPartitions, tc.max)
		}
		if tc.wantErr == "" && c.Import.Partitions != tc.partitions {
			t.Errorf("%v: %d partitions in flight, want %d", tc.env, c.Import.Partitions, tc.partitions)
		}
		// The partitions in flight share what the ERP allows (activities.BeginResult.Width).
		want := 52
		if v, ok := tc.env["ERP_MAX_CONCURRENT_REQUESTS"]; ok {
			want, _ = strconv.Atoi(v)
		}
		if c.Import.ERPRequests != want {
			t.Errorf("%v: the ERP allows %d requests, want %d", tc.env, c.Import.ERPRequests, want)
		}
	}
}
