package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/workflows"
)

func TestWorkflowIDsAreStableAndReadable(t *testing.T) {
	if got := WorkflowID(workflows.ProductImportName, activities.Rebuild); got != "product-import-rebuild" {
		t.Fatalf("got %q", got)
	}
	if got := WorkflowID(workflows.CustomerImportName, activities.Update); got != "customer-import-update" {
		t.Fatalf("got %q", got)
	}
}

func TestProgressLine(t *testing.T) {
	p := workflows.Progress{Phase: "reading products", Expected: 20000, RecordsPerSecond: 1000,
		Totals: activities.Counts{Read: 5000, Indexed: 4990}}
	got := progressLine(p)
	for _, want := range []string{"[#####---------------]", " 25%", "5,000 of 20,000", "ETA 15s", "1000/s", "4,990 indexed", "reading products"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress line %q lacks %q", got, want)
		}
	}
	p.Partitions, p.PartitionsDone, p.PartitionsReading = 12, 5, 4
	if got := progressLine(p); !strings.Contains(got, "partitions: 5 of 12 read, 4 reading") {
		t.Errorf("a partitioned rebuild's progress line %q does not count its partitions", got)
	}
	p.Expected = 0
	p.Paused = true
	got = progressLine(p)
	if strings.Contains(got, "[") || !strings.Contains(got, "5,000 read") || !strings.Contains(got, "PAUSED") {
		t.Errorf("without an expected total: %q", got)
	}
}

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

func TestHelpAndBadInput(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"--help"}, noEnv, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "starter run products|customers") {
		t.Fatalf("--help: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"run", "--help"}, noEnv, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-mode") {
		t.Fatalf("run --help: %v\n%s", err, out.String())
	}
	for _, want := range []string{"ERPSYNC_SCHEDULE_PREFIX", "--update-every", "schedules.rebuild-cron", "TEMPORAL_API_KEY", "ELASTICSEARCH_CLOUD_ID"} {
		out.Reset()
		if _ = run(t.Context(), []string{"--help"}, noEnv, &out); !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %s", want)
		}
	}
	for _, args := range [][]string{{"frobnicate"}, {"run", "orders"}, {"run", "products", "--mode", "sometimes"}, {"run", "products", "--partitions", "-1"}, {"schedules", "explode"},
		{"schedules", "apply", "--change-detection", "psychic"}, {"schedules", "apply", "--update-every", "10ms"}} {
		if err := run(t.Context(), args, noEnv, &out); err == nil {
			t.Errorf("starter %s: want an error", strings.Join(args, " "))
		}
	}
}
