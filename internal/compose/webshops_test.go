package compose

import (
	"flag"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/config"
)

// TestComposeWebshops: the worker and the storefront of compose read the same webshops file
// (deploy/compose-webshops.yaml, mounted as their ERPSYNC_CONFIG), which the storefront's
// configuration accepts; each webshop's token secret file is a compose secret the storefront is
// given, filled from a variable that compose requires (.env), so the storefront starts with
// every secret it verifies tokens with.
func TestComposeWebshops(t *testing.T) {
	c, raw := load(t)
	const mounted = "/etc/erpsync/webshops.yaml"
	for _, name := range []string{"worker", "storefront"} {
		s := c.Services[name]
		if !slices.Contains(s.Volumes, "./deploy/compose-webshops.yaml:"+mounted+":ro") {
			t.Errorf("%s does not mount deploy/compose-webshops.yaml at %s: %v", name, mounted, s.Volumes)
		}
		if got := s.Environment["ERPSYNC_CONFIG"]; got != mounted {
			t.Errorf("%s: ERPSYNC_CONFIG=%q, want %s", name, got, mounted)
		}
	}
	// The worker's environment comes through the x-erpsync-env anchor.
	if !strings.Contains(raw, "  ERPSYNC_CONFIG: "+mounted) {
		t.Errorf("the worker's environment does not set ERPSYNC_CONFIG")
	}

	cfg, set := config.ForStorefront()
	fs := flag.NewFlagSet("storefront", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := map[string]string{"ERPSYNC_CONFIG": filepath.Join(repoRoot(t), "deploy", "compose-webshops.yaml"), "XDG_CONFIG_HOME": t.TempDir()}
	if _, err := set.Parse(fs, nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatalf("the storefront does not accept deploy/compose-webshops.yaml: %v", err)
	}
	if len(cfg.Webshops) == 0 {
		t.Fatal("deploy/compose-webshops.yaml names no webshop")
	}
	sf := c.Services["storefront"]
	for _, w := range cfg.Webshops {
		dir, secret := path.Split(w.TokenSecretFile)
		switch {
		case dir != "/run/secrets/":
			t.Errorf("webshop %s: token-secret-file %s is not a compose secret (/run/secrets/<name>)", w.ID, w.TokenSecretFile)
		case !slices.Contains(sf.Secrets, secret):
			t.Errorf("webshop %s: the storefront is not given the secret %s", w.ID, secret)
		case c.Secrets[secret].Environment == "" || !strings.Contains(raw, "${"+c.Secrets[secret].Environment+":?"):
			t.Errorf("webshop %s: secret %s comes from %q, which compose does not require", w.ID, secret, c.Secrets[secret].Environment)
		}
	}
}
