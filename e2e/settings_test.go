package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/workflows"
)

// TestWorkerTakesItsSettings starts the worker binary with a config file and an environment, as
// an operator would, and checks what the settings do: ERP_PAGE_SIZE (once without effect) sets
// the roots per page, and the file's languages are the text fields of the index a rebuild
// creates.
func TestWorkerTakesItsSettings(t *testing.T) {
	t.Parallel()
	cat := simtest.Catalog(41)
	cat.Products = 300
	s := newStackWithoutWorker(t, cat, erpsim.Config{}, activities.Settings{})
	bin := buildWorker(t)
	file := filepath.Join(t.TempDir(), "erpsync.yaml")
	err := os.WriteFile(file, []byte(fmt.Sprintf(`
temporal:
  task-queue: %s
index:
  prefix: %s
  languages: {en: standard, de: standard}
erp:
  url: %s
  client-id: %s
log:
  level: warn
  format: console
worker:
  metrics-addr: 127.0.0.1:0
`, s.queue, s.prefix, s.sim.URL, s.sim.ClientID)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 70
	cmd := exec.Command(bin, "--config", file)
	cmd.Env = append(os.Environ(), "ERP_CLIENT_SECRET="+s.sim.ClientSecret, fmt.Sprintf("ERP_PAGE_SIZE=%d", pageSize),
		"XDG_CONFIG_HOME="+t.TempDir())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	res := s.wait(s.start(workflows.ProductImportName, workflows.ImportInput{Mode: activities.Rebuild}))
	c := res.Of(erp.Products).Counts
	// 300 products are fewer than a partition holds (10,000): one stream, in pages of 70: four
	// full pages and one of 20, which ends the read.
	if want := (cat.Products + pageSize - 1) / pageSize; c.Pages != want || c.Read != cat.Products {
		t.Errorf("rebuild with ERP_PAGE_SIZE=%d: %d pages, %d read; want %d pages of %d products", pageSize, c.Pages, c.Read, want, cat.Products)
	}

	res2, err := s.es.Indices.GetMapping(s.es.Indices.GetMapping.WithIndex(s.index.Alias(erp.Products)))
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Body.Close()
	var m map[string]struct {
		Mappings struct {
			Properties map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"properties"`
		} `json:"mappings"`
	}
	if err := json.NewDecoder(res2.Body).Decode(&m); err != nil || len(m) != 1 {
		t.Fatalf("mapping of %s: %v %d indexes", s.index.Alias(erp.Products), err, len(m))
	}
	for _, idx := range m {
		var langs []string
		for l := range idx.Mappings.Properties["name"].Properties {
			langs = append(langs, l)
		}
		slices.Sort(langs)
		if !slices.Equal(langs, []string{"de", "en"}) {
			t.Errorf("the rebuilt index has name fields %v, want de and en (the config file's languages)", langs)
		}
	}
}
