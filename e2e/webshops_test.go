package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
)

// TestWorkerRefusesAWebshopWithoutItsTemplateCustomer starts the worker binary against the
// simulator with two webshops, one of whose template customer the ERP does not have: it exits
// at once, naming that webshop and the account, and not the other.
func TestWorkerRefusesAWebshopWithoutItsTemplateCustomer(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(43)
	cat.Products = 30
	s := newStackWithoutWorker(t, cat, erpsim.Config{}, activities.Settings{})
	bin := buildWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--log-format", "console", "--metrics", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "ERPSYNC_TASK_QUEUE="+s.queue, "ERPSYNC_INDEX_PREFIX="+s.prefix, "ERP_URL="+s.sim.URL,
		"ERP_CLIENT_ID="+s.sim.ClientID, "ERP_CLIENT_SECRET="+s.sim.ClientSecret, "XDG_CONFIG_HOME="+t.TempDir(),
		`ERPSYNC_WEBSHOPS=[{"id":"us","company":"usmf","languages":["en"],"currencies":["USD"],"template-customer":"US-WEB"},`+
			`{"id":"de","company":"demf","languages":["de"],"currencies":["EUR"],"template-customer":"DE-GAST"}]`)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the worker did not stop: %s", out)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("the worker ended with %v, want exit status 1:\n%s", err, out)
	}
	if !strings.Contains(string(out), "webshop de: its template customer DE-GAST is not a customer of company demf") ||
		strings.Contains(string(out), "webshop us:") {
		t.Errorf("the worker's message does not name webshop de and DE-GAST alone:\n%s", out)
	}
}
