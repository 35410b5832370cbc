package compose

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type file struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Build   any      `yaml:"build"`
		Command []string `yaml:"command"`
		Ports   []string `yaml:"ports"`
	} `yaml:"services"`
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
			bin := s.Command[0]
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
			host, _, _ := strings.Cut(p, ":")
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
