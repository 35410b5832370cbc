package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/internal/testenv"
)

// TestConfigCheck runs `worker config check` as a user would, against the simulator over HTTP,
// the real Elasticsearch and the Temporal dev server: with the right settings every connection
// is ok; a wrong ERP secret and a wrong collection name are each named precisely, with a
// non-zero exit status.
func TestConfigCheck(t *testing.T) {
	t.Parallel()
	sim := simtest.Start(t, simtest.Catalog(31), erpsim.Config{})
	es := testenv.Elasticsearch(t)
	prefix := testenv.Prefix(t, es)
	bin := buildWorker(t)
	base := []string{
		"ERP_URL=" + sim.URL, "ERP_CLIENT_ID=" + sim.ClientID, "ERP_CLIENT_SECRET=" + sim.ClientSecret,
		"ERPSYNC_INDEX_PREFIX=" + prefix, "TEMPORAL_ADDRESS=" + testenv.TemporalAddress(t),
		"XDG_CONFIG_HOME=" + t.TempDir(), // no Temporal profile of the machine's user
	}
	run := func(extra ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, "config", "check")
		cmd.Env = append(append(os.Environ(), base...), extra...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("worker config check: %v", err)
		}
		return out.String(), cmd.ProcessState.ExitCode()
	}

	out, code := run()
	if code != 0 || strings.Contains(out, "FAIL") {
		t.Errorf("with the right settings: exit %d\n%s", code, out)
	}
	for _, want := range []string{"ok    ERP token", "ok    ERP $metadata", "ok    ERP collection   ReleasedProductsV2 answers",
		"ok    ERP collection   DeletedRecords answers", "ok    Elasticsearch", "security is off", "ok    Temporal", "every connection is ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("with the right settings the check does not say %q:\n%s", want, out)
		}
	}
	modelled := map[string]bool{}
	for _, r := range erp.Roots() {
		for _, c := range r.Collections() {
			modelled[c] = true
		}
	}
	if n := strings.Count(out, "ok    ERP collection"); n != len(modelled)+2 {
		t.Errorf("%d collections ok, want %d (%d of the model, LegalEntities, DeletedRecords):\n%s", n, len(modelled)+2, len(modelled), out)
	}

	out, code = run("ERP_CLIENT_SECRET=not-the-secret")
	if code != 1 {
		t.Errorf("a wrong ERP secret: exit %d, want 1", code)
	}
	for _, want := range []string{"FAIL  ERP token", sim.URL + "/oauth2/token", `client id "erpsync" or its secret is wrong`, "1 problem"} {
		if !strings.Contains(out, want) {
			t.Errorf("a wrong ERP secret: the check does not say %q:\n%s", want, out)
		}
	}

	out, code = run("ERP_COLLECTIONS=CustomersV3=CustomersV9")
	if code != 1 {
		t.Errorf("a wrong collection name: exit %d, want 1", code)
	}
	for _, want := range []string{"FAIL  ERP collection", "CustomersV9 (D365's CustomersV3) is not an entity set of $metadata",
		"closest are CustomersV3", "ERP_COLLECTIONS", "1 problem"} {
		if !strings.Contains(out, want) {
			t.Errorf("a wrong collection name: the check does not say %q:\n%s", want, out)
		}
	}
}
