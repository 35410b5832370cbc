package health

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestReadyWhenTheWorkerStartedAndElasticsearchAnsweredRecently(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	r := NewReady(func() time.Time { return now })
	r.Require("temporal worker", 0)
	r.Require("elasticsearch", 30*time.Second)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "metrics") })
	h := Handler(r, metrics)

	if code, body := get(t, h, "/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("/healthz: %d %q, want 200: the process answers", code, body)
	}
	if code, body := get(t, h, "/readyz"); code != 503 || !strings.Contains(body, "elasticsearch: not yet") || !strings.Contains(body, "temporal worker: not yet") {
		t.Fatalf("/readyz before anything: %d %q, want 503 naming both", code, body)
	}
	r.OK("temporal worker")
	r.OK("elasticsearch")
	if code, body := get(t, h, "/readyz"); code != 200 {
		t.Fatalf("/readyz: %d %q, want 200", code, body)
	}
	// One failed ping within the window is not an outage; silence past it is.
	now = now.Add(20 * time.Second)
	r.Fail("elasticsearch", errors.New("connection refused"))
	if code, body := get(t, h, "/readyz"); code != 200 {
		t.Fatalf("/readyz 20 s after the last answer: %d %q, want 200", code, body)
	}
	now = now.Add(20 * time.Second)
	if code, body := get(t, h, "/readyz"); code != 503 || !strings.Contains(body, "elasticsearch: last ok 40s ago: connection refused") {
		t.Fatalf("/readyz 40 s after the last answer: %d %q, want 503 with the reason", code, body)
	}
	r.OK("elasticsearch")
	r.Fail("temporal worker", errors.New("stopping"))
	if code, body := get(t, h, "/readyz"); code != 503 || !strings.Contains(body, "temporal worker: down: stopping") {
		t.Fatalf("/readyz while stopping: %d %q, want 503", code, body)
	}
	if code, body := get(t, h, "/metrics"); code != 200 || body != "metrics" {
		t.Fatalf("/metrics: %d %q, want the metrics handler", code, body)
	}
}
