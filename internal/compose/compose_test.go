package compose

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type file struct {
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Ports       []string          `yaml:"ports"`
	Expose      []string          `yaml:"expose"`
	Profiles    []string          `yaml:"profiles"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Restart     string            `yaml:"restart"`
	DependsOn   dependsOn         `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	StopGracePeriod string `yaml:"stop_grace_period"`
}

// dependsOn is depends_on in either of compose's forms: a list of services (started), or a map
// of services to their condition.
type dependsOn map[string]struct {
	Condition string `yaml:"condition"`
}

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	if n.Kind == yaml.SequenceNode {
		var names []string
		if err := n.Decode(&names); err != nil {
			return err
		}
		for _, name := range names {
			(*d)[name] = struct {
				Condition string `yaml:"condition"`
			}{"service_started"}
		}
		return nil
	}
	return n.Decode((*map[string]struct {
		Condition string `yaml:"condition"`
	})(d))
}

// binary is the erpsync binary a command runs: its first word, or for `sh -c "... exec NAME
// ..."` the word after exec.
func binary(command []string) string {
	if len(command) == 3 && command[0] == "sh" && command[1] == "-c" {
		if _, after, ok := strings.Cut(command[2], "exec "); ok {
			return strings.Fields(after)[0]
		}
	}
	if len(command) == 0 {
		return ""
	}
	return command[0]
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func versions(t *testing.T, root string) map[string]string {
	f, err := os.Open(filepath.Join(root, "versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if k, val, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			v[k] = val
		}
	}
	return v
}

func TestComposeFile(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c file
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	for _, want := range []string{"elasticsearch", "temporal", "temporal-ui", "postgresql", "worker", "erpsim"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("service %s is missing", want)
		}
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatalf("the services build from ./Dockerfile: %v", err)
	}
	hostPorts := map[string]string{}
	for name, s := range c.Services {
		if s.Build != nil {
			if s.Build != "." {
				t.Errorf("%s builds from %v; the project has one Dockerfile at the root", name, s.Build)
			}
			if len(s.Command) == 0 {
				t.Errorf("%s has no command", name)
				continue
			}
			// The command is one of the binaries the Dockerfile builds: ./worker, ./starter or ./cmd/NAME.
			bin := binary(s.Command)
			dir := filepath.Join(root, "cmd", bin)
			if bin == "worker" || bin == "starter" {
				dir = filepath.Join(root, bin)
			}
			if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
				t.Errorf("%s runs %q, but %s/main.go does not exist", name, bin, dir)
			}
			if !strings.Contains(string(dockerfile), "./cmd/...") || !strings.Contains(string(dockerfile), "./worker") {
				t.Errorf("the Dockerfile does not build every command")
			}
		}
		for _, p := range s.Ports {
			parts := strings.Split(p, ":") // [IP:]HOST:CONTAINER
			host := parts[max(0, len(parts)-2)]
			if other, ok := hostPorts[host]; ok {
				t.Errorf("host port %s is used by %s and %s", host, other, name)
			}
			hostPorts[host] = name
		}
	}
	v := versions(t, root)
	for svc, want := range map[string]string{
		"elasticsearch": "elasticsearch:" + v["ELASTICSEARCH_VERSION"],
		"temporal":      ":" + v["TEMPORAL_SERVER_VERSION"],
		"temporal-ui":   ":" + v["TEMPORAL_UI_VERSION"],
		"postgresql":    ":" + v["POSTGRES_VERSION"],
	} {
		if !strings.HasSuffix(c.Services[svc].Image, want) {
			t.Errorf("%s runs %q; versions.env pins %q", svc, c.Services[svc].Image, want)
		}
	}
}

func load(t *testing.T) (file, string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c file
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	return c, string(raw)
}

// TestOnlyTheStorefrontIsPublished: by default only the storefront has a published port, and
// only on 127.0.0.1; the Temporal UI (no login of its own) only with a profile that asks for it,
// also on 127.0.0.1. A port without a host address is published on every interface.
func TestOnlyTheStorefrontIsPublished(t *testing.T) {
	c, _ := load(t)
	published := map[string]bool{}
	for name, s := range c.Services {
		for _, p := range s.Ports {
			parts := strings.Split(p, ":")
			if len(parts) != 3 || parts[0] != "127.0.0.1" {
				t.Errorf("%s publishes %q: bind it to 127.0.0.1 (\"127.0.0.1:HOST:CONTAINER\"), never every interface", name, p)
			}
			if len(s.Profiles) == 0 {
				published[name] = true
			}
		}
	}
	if !published["storefront"] || len(published) != 1 {
		t.Errorf("published by default: %v; want the storefront only", published)
	}
	if ui := c.Services["temporal-ui"]; len(ui.Ports) == 0 || len(ui.Profiles) == 0 {
		t.Errorf("temporal-ui: ports %v, profiles %v; want it published only with a profile", ui.Ports, ui.Profiles)
	}
}

var (
	// reference is a variable reference: ${NAME}, ${NAME:-default}, ${NAME-default},
	// ${NAME:?message}, ${NAME?message}.
	reference = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)
	// secretName is a variable that holds a secret.
	secretName = regexp.MustCompile(`(?i)(PASSWORD|SECRET|API_KEY|_PWD$|TOKEN)`)
)

// TestEverySecretIsRequired: every secret comes from the environment (.env) and compose refuses
// to start without it: ${NAME:?message}, no default, no literal; .env.example names each one.
func TestEverySecretIsRequired(t *testing.T) {
	c, raw := load(t)
	required := map[string]bool{}
	for _, m := range reference.FindAllStringSubmatch(raw, -1) {
		name, op := m[1], m[2]
		if secretName.MatchString(name) && op != ":?" {
			t.Errorf("%s: a secret must be required as ${%s:?message}, no default", m[0], name)
		}
		if op == ":?" {
			required[name] = true
		}
	}
	for svc, s := range c.Services {
		for k, v := range s.Environment {
			if !secretName.MatchString(k) || strings.HasSuffix(k, "_FILE") { // a path to a secret is none
				continue
			}
			if m := reference.FindStringSubmatch(v); m == nil || m[0] != v || m[2] != ":?" {
				t.Errorf("%s: %s=%q: a secret must be exactly ${VAR:?message}", svc, k, v)
			}
		}
	}
	for _, want := range []string{"ELASTIC_PASSWORD", "TEMPORAL_DB_PASSWORD", "ERP_CLIENT_SECRET", "STOREFRONT_API_KEY"} {
		if !required[want] {
			t.Errorf("%s is not required", want)
		}
	}
	example, err := os.ReadFile(filepath.Join(repoRoot(t), ".env.example"))
	if err != nil {
		t.Fatalf(".env.example: %v", err)
	}
	for name := range required {
		if !regexp.MustCompile(`(?m)^#?\s*` + name + `=`).Match(example) {
			t.Errorf(".env.example does not name %s", name)
		}
	}
}

// TestElasticsearchCredentials: the elastic superuser's password reaches Elasticsearch and the
// one-shot es-keys only. The worker and the storefront read API keys of their own from volumes
// of their own that es-keys fills; the storefront's allows read on the aliases it queries
// (products, the company-wide categories, line discounts and activations, customers) and
// nothing else, the worker's no more than managing the prefix's indexes.
func TestElasticsearchCredentials(t *testing.T) {
	c, _ := load(t)
	for name, s := range c.Services {
		for k, v := range s.Environment {
			uses := k == "ELASTIC_PASSWORD" || k == "ELASTICSEARCH_PASSWORD" || k == "ELASTICSEARCH_USERNAME" || strings.Contains(v, "ELASTIC_PASSWORD")
			if uses && name != "elasticsearch" && name != "es-keys" {
				t.Errorf("%s gets %s=%s: only elasticsearch and es-keys may use the elastic user", name, k, v)
			}
		}
	}
	keys := c.Services["es-keys"]
	for _, svc := range []string{"worker", "storefront"} {
		s := c.Services[svc]
		volume := svc + "-es-key"
		if !slices.Contains(s.Volumes, volume+":/run/es-key:ro") || !slices.Contains(keys.Volumes, volume+":/keys/"+svc) {
			t.Errorf("%s: volumes %v, es-keys %v; want %s filled by es-keys and mounted read-only", svc, s.Volumes, keys.Volumes, volume)
		}
		if s.Environment["ELASTICSEARCH_API_KEY_FILE"] != "/run/es-key/key" {
			t.Errorf("%s: ELASTICSEARCH_API_KEY_FILE=%q; want its key read from /run/es-key/key", svc, s.Environment["ELASTICSEARCH_API_KEY_FILE"])
		}
		for other := range c.Services {
			if other != svc && other != "es-keys" && slices.ContainsFunc(c.Services[other].Volumes, func(v string) bool { return strings.HasPrefix(v, volume+":") }) {
				t.Errorf("%s mounts %s, the key of %s", other, volume, svc)
			}
		}
	}

	roles := keyRoles(t)
	type indices struct {
		Names      []string `json:"names"`
		Privileges []string `json:"privileges"`
	}
	type role struct {
		Cluster []string  `json:"cluster"`
		Indices []indices `json:"indices"`
	}
	var sf, worker map[string]role
	if err := json.Unmarshal([]byte(roles["erpsync-storefront"]), &sf); err != nil {
		t.Fatalf("storefront role descriptors %s: %v", roles["erpsync-storefront"], err)
	}
	if err := json.Unmarshal([]byte(roles["erpsync-worker"]), &worker); err != nil {
		t.Fatalf("worker role descriptors %s: %v", roles["erpsync-worker"], err)
	}
	for _, r := range sf {
		if len(r.Cluster) != 0 {
			t.Errorf("storefront key: cluster privileges %v, want none", r.Cluster)
		}
		for _, ix := range r.Indices {
			for _, n := range ix.Names {
				if !slices.Contains([]string{"erpsync-products", "erpsync-categories", "erpsync-linediscounts", "erpsync-activations", "erpsync-customers"}, n) {
					t.Errorf("storefront key reaches %s: only the aliases the storefront queries", n)
				}
			}
			if !slices.Equal(ix.Privileges, []string{"read"}) {
				t.Errorf("storefront key: privileges %v, want read only", ix.Privileges)
			}
		}
	}
	if len(sf) != 1 || len(worker) != 1 {
		t.Errorf("want one role per key: storefront %v, worker %v", sf, worker)
	}
	for _, r := range worker {
		for _, p := range r.Cluster {
			if p != "monitor" {
				t.Errorf("worker key: cluster privilege %s, want monitor at most", p)
			}
		}
		for _, ix := range r.Indices {
			if !slices.Equal(ix.Names, []string{"erpsync-*"}) || slices.Contains(ix.Privileges, "all") {
				t.Errorf("worker key: %v on %v; want named privileges on the prefix's indexes only", ix.Privileges, ix.Names)
			}
		}
	}
}

// keyRoles reads the role descriptors of each key scripts/compose-es-keys.sh creates, with the
// default prefix: `key NAME FILE "JSON"` lines, shell escapes undone.
func keyRoles(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "compose-es-keys.sh"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?ms)^key (\S+) \S+ "(.*?[^\\])"$`).FindAllStringSubmatch(string(raw), -1) {
		js := strings.NewReplacer(`\"`, `"`, "$prefix", "erpsync", "\n", "").Replace(m[2])
		out[m[1]] = js
	}
	if out["erpsync-storefront"] == "" || out["erpsync-worker"] == "" {
		t.Fatalf("scripts/compose-es-keys.sh: keys %v, want erpsync-storefront and erpsync-worker", out)
	}
	return out
}
