package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/erpsync/erpsync/search"
)

// esNode is an Elasticsearch node of one test's own, for tests that kill it or block it: the
// distribution scripts/services.sh installs (ERPSYNC_CACHE, default /var/cache/erpsync), on free
// ports, with its data in a directory of its own, run as the unprivileged user services.sh runs
// the shared node as (Elasticsearch refuses root), with services.sh's settings and a 512 MB heap.
// The shared node on ELASTICSEARCH_URL is never touched.
type esNode struct {
	t    testing.TB
	home string
	dir  string
	URL  string
	cmd  *exec.Cmd
}

// startESNode starts a node and waits until it answers; it is stopped and its data removed when
// the test ends.
func startESNode(t testing.TB) *esNode {
	t.Helper()
	version := versionsEnv(t, "ELASTICSEARCH_VERSION")
	cache := os.Getenv("ERPSYNC_CACHE")
	if cache == "" {
		cache = "/var/cache/erpsync"
	}
	n := &esNode{t: t, home: filepath.Join(cache, "elasticsearch-"+version)}
	if _, err := os.Stat(filepath.Join(n.home, "bin", "elasticsearch")); err != nil {
		t.Fatalf("this test starts an Elasticsearch node of its own from the distribution scripts/services.sh installs, and there is none at %s: run `scripts/services.sh up es` (make test does) on a machine with the cache", n.home)
	}
	dir, err := os.MkdirTemp("", "erpsync-esnode-")
	if err != nil {
		t.Fatal(err)
	}
	n.dir = dir
	t.Cleanup(func() { n.stop(); _ = os.RemoveAll(dir) })
	for _, d := range []string{"config", "data", "logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.CopyFS(filepath.Join(dir, "config"), os.DirFS(filepath.Join(n.home, "config"))); err != nil {
		t.Fatalf("copy the distribution's config: %v", err)
	}
	httpPort, transportPort := freePort(t), freePort(t)
	n.URL = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	yml := fmt.Sprintf(`# A node of one test's own (e2e/esnode_test.go), with the settings of scripts/services.sh.
cluster.name: erpsync-test-%d
node.name: erpsync-test-%d
network.host: 127.0.0.1
http.port: %d
transport.port: %d
discovery.type: single-node
path.data: %s
path.logs: %s
xpack.security.enabled: false
action.destructive_requires_name: false
cluster.routing.allocation.disk.threshold_enabled: false
`, httpPort, httpPort, httpPort, transportPort, filepath.Join(dir, "data"), filepath.Join(dir, "logs"))
	if err := os.WriteFile(filepath.Join(dir, "config", "elasticsearch.yml"), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		u, err := user.Lookup(esUser())
		if err != nil {
			t.Fatalf("user %s, which runs Elasticsearch, does not exist: run `scripts/services.sh up es` once (it creates it): %v", esUser(), err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Chown(p, uid, gid)
		}); err != nil {
			t.Fatal(err)
		}
	}
	n.start()
	return n
}

// esUser is the unprivileged user that runs Elasticsearch (scripts/services.sh).
func esUser() string {
	if u := os.Getenv("ERPSYNC_ES_USER"); u != "" {
		return u
	}
	return "erpsync"
}

// start starts the node's process (again, after kill) and waits until it answers.
func (n *esNode) start() {
	n.t.Helper()
	javaHome := os.Getenv("ES_JAVA_HOME")
	if javaHome == "" {
		java, err := exec.LookPath("java")
		if err != nil {
			n.t.Fatal("java not found: Elasticsearch needs a JDK 17 or later")
		}
		if java, err = filepath.EvalSymlinks(java); err != nil {
			n.t.Fatal(err)
		}
		javaHome = filepath.Dir(filepath.Dir(java))
	}
	args := []string{"env", "ES_JAVA_HOME=" + javaHome, "ES_PATH_CONF=" + filepath.Join(n.dir, "config"),
		"ES_TMPDIR=" + filepath.Join(n.dir, "tmp"), "ES_JAVA_OPTS=-Xms512m -Xmx512m", filepath.Join(n.home, "bin", "elasticsearch")}
	if os.Getuid() == 0 {
		args = append([]string{"runuser", "-u", esUser(), "--"}, args...)
	}
	log, err := os.OpenFile(filepath.Join(n.dir, "logs", "stdout.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	// A process group of its own: the launcher starts the server as a child JVM, and a kill
	// must reach both.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start Elasticsearch: %v", err)
	}
	n.cmd = cmd
	start := time.Now()
	for time.Since(start) < 2*time.Minute {
		if n.healthy() {
			n.t.Logf("Elasticsearch node %s up in %s", n.URL, time.Since(start).Round(100*time.Millisecond))
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	n.t.Fatalf("the Elasticsearch node at %s did not answer within 2 minutes; its log:\n%s", n.URL, n.logTail())
}

func (n *esNode) healthy() bool {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get(n.URL + "/_cluster/health?wait_for_status=yellow&timeout=1s")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// kill kills the node with SIGKILL, as a crash or an OOM killer would, and waits until it is
// gone.
func (n *esNode) kill() {
	n.t.Helper()
	if n.cmd == nil {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	_ = n.cmd.Wait()
	n.cmd = nil
	for deadline := time.Now().Add(30 * time.Second); n.healthy(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			n.t.Fatal("the killed Elasticsearch node still answers")
		}
	}
}

// stop stops the node for good.
func (n *esNode) stop() {
	if n.cmd == nil {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	n.cmd = nil
}

// client returns a client of the node.
func (n *esNode) client() *elasticsearch.Client {
	n.t.Helper()
	es, err := search.NewClient(search.Config{URL: n.URL})
	if err != nil {
		n.t.Fatal(err)
	}
	return es
}

// logTail is the end of the node's output, for failures.
func (n *esNode) logTail() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "logs", "stdout.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// freePort returns a TCP port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// versionsEnv reads a pinned version from versions.env at the repository's root.
func versionsEnv(t testing.TB, key string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && k == key {
			return v
		}
	}
	t.Fatalf("versions.env has no %s", key)
	return ""
}

// blockWrites sets or lifts a write block on the indexes matching pattern, as an operator (or
// Elasticsearch itself, at the flood-stage disk watermark) would.
func blockWrites(t testing.TB, es *elasticsearch.Client, pattern string, on bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	value := "null"
	if on {
		value = "true"
	}
	res, err := es.Indices.PutSettings(strings.NewReader(`{"index.blocks.write":`+value+`}`),
		es.Indices.PutSettings.WithIndex(pattern), es.Indices.PutSettings.WithContext(ctx))
	if err != nil {
		t.Fatalf("index.blocks.write=%s on %s: %v", value, pattern, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		t.Fatalf("index.blocks.write=%s on %s: %s", value, pattern, res.String())
	}
}
