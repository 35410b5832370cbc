package visibility_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/visibility"
)

// TestRegisterOnTheDevServer: Register adds the attributes a namespace lacks and is idempotent
// (the dev server is shared: another test or make dev may have registered them already).
func TestRegisterOnTheDevServer(t *testing.T) {
	c := testenv.Temporal(t) // registers them too
	ns := os.Getenv("TEMPORAL_NAMESPACE")
	if ns == "" {
		ns = "default"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 2 {
		if err := visibility.Register(ctx, c, ns); err != nil {
			t.Fatalf("register: %v", err)
		}
	}
	missing, err := visibility.Missing(ctx, c, ns)
	if err != nil || len(missing) > 0 {
		t.Fatalf("after Register: missing %v, %v", missing, err)
	}
}

func TestRunURL(t *testing.T) {
	for _, tc := range []struct{ base, ns, id, run, want string }{
		{"", "default", "product-import-update", "", "http://127.0.0.1:8233/namespaces/default/workflows/product-import-update"},
		{"https://cloud.temporal.io/", "shop.a1b2c", "product-import-update-2026-11-29T10:00:00Z", "r1",
			"https://cloud.temporal.io/namespaces/shop.a1b2c/workflows/product-import-update-2026-11-29T10:00:00Z/r1/history"},
		{"http://ui:8080", "default", "a b/c", "", "http://ui:8080/namespaces/default/workflows/a%20b%2Fc"},
	} {
		if got := visibility.RunURL(tc.base, tc.ns, tc.id, tc.run); got != tc.want {
			t.Errorf("RunURL(%q, %q, %q, %q) = %s, want %s", tc.base, tc.ns, tc.id, tc.run, got, tc.want)
		}
	}
}

func TestHowToRegisterNamesEveryAttribute(t *testing.T) {
	how := visibility.HowToRegister("default")
	for name, typ := range visibility.Attributes() {
		cli := visibility.CLITypes[typ]
		if !strings.Contains(how, "--name "+name+" --type "+cli) || !strings.Contains(how, "--search-attribute "+name+"="+cli) {
			t.Errorf("HowToRegister does not register %s as %s:\n%s", name, cli, how)
		}
	}
}
