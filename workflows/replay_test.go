package workflows

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays histories recorded from real runs on the Temporal dev
// server (go test ./e2e -run 'TestRebuildEqualsTheERP|TestCustomerRebuildEqualsTheERP'
// -record-history): a change to the workflows that would break running imports fails here.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("want recorded histories in testdata/, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h, err := client.HistoryFromJSON(bytes.NewReader(raw), client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(ProductImport)
			r.RegisterWorkflow(CustomerImport)
			opts := worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: recordedID(h)}}
			if err := r.ReplayWorkflowHistoryWithOptions(nil, h, opts); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// recordedID returns the workflow id a history was recorded under, as far as the workflow's
// commands depend on it: a rebuild names its company-wide child "<its id>-company-wide"; ""
// (the replayer's own) otherwise.
func recordedID(h *historypb.History) string {
	for _, ev := range h.GetEvents() {
		if a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil {
			return strings.TrimSuffix(a.GetWorkflowId(), "-company-wide")
		}
	}
	return ""
}
