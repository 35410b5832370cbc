package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/simtest"
)

// TestWorkerProbesAndMetrics: a real worker process answers /healthz at once, /readyz with 200
// once its Temporal worker started and Elasticsearch answered, and serves the SDK's metrics
// with service.name; SIGTERM stops it.
func TestWorkerProbesAndMetrics(t *testing.T) {
	t.Parallel()
	s := newStackWithoutWorker(t, simtest.Catalog(33), erpsim.Config{}, activities.Settings{})
	bin := buildWorker(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--log-format", "console", "--metrics", addr)
	cmd.Env = append(os.Environ(), "ERPSYNC_TASK_QUEUE="+s.queue, "ERPSYNC_INDEX_PREFIX="+s.prefix,
		"ERP_URL="+s.sim.URL, "ERP_CLIENT_ID="+s.sim.ClientID, "ERP_CLIENT_SECRET="+s.sim.ClientSecret, "ERPSYNC_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	get := func(path string) (int, string) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	deadline := time.Now().Add(time.Minute)
	var code int
	var body string
	for ; time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, body = get("/readyz"); code == http.StatusOK {
			break
		}
	}
	if code != http.StatusOK {
		t.Fatalf("/readyz: %d %s; want 200 within a minute", code, body)
	}
	if code, body := get("/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{`service_name="erpsync-worker"`, "temporal_", "erpsync_records_total"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the worker exited with %v after SIGTERM", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("the worker did not stop within 45 s of SIGTERM")
	}
}
