package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"gopkg.in/yaml.v3"

	"github.com/erpsync/erpsync/search"
)

// ESNode is an Elasticsearch node of one test's own, for tests that kill it, block it or need
// security on: the distribution scripts/services.sh installs ($ERPSYNC_CACHE/elasticsearch-
// <version>), on free ports, with its data in a directory of its own, run as the unprivileged
// user services.sh runs the shared node as when the test runs as root (Elasticsearch refuses
// root), with a 512 MB heap. It is stopped and its data removed when the test ends. The shared
// node on ELASTICSEARCH_URL is never touched.
type ESNode struct {
	URL string
	// Password is every user's password on a secured node (StartSecuredElasticsearch), "" on a
	// node with security off.
	Password string

	t     testing.TB
	home  string
	dir   string
	env   []string
	runAs *user.User
	cmd   *exec.Cmd
}

// AdminUser is a superuser of every secured node.
const AdminUser = "admin"

// StartElasticsearch starts a node with security off and waits until it answers.
func StartElasticsearch(t testing.TB) *ESNode {
	t.Helper()
	n := newNode(t, "xpack.security.enabled: false\naction.destructive_requires_name: false\n")
	n.Start()
	return n
}

// StartSecuredElasticsearch starts a node with security on and waits until it answers. roles
// are defined in the node's roles.yml; users (name -> role) and AdminUser are users of the file
// realm (the users and users_roles files), all with the node's Password. Elasticsearch's own
// security APIs cannot make them here: API keys, native users and native roles live in the
// .security index, whose mapping needs the pattern_capture token filter of the analysis-common
// module, which the test distribution lacks ("Unknown filter type [pattern_capture] for
// [email]").
func StartSecuredElasticsearch(t testing.TB, roles map[string]search.Privileges, users map[string]string) *ESNode {
	t.Helper()
	n := newNode(t, "xpack.security.enabled: true\nxpack.security.http.ssl.enabled: false\nxpack.security.transport.ssl.enabled: false\n")
	conf := filepath.Join(n.dir, "config")
	write(t, filepath.Join(conf, "roles.yml"), rolesYAML(t, roles))
	// One password for every user: elasticsearch-users hashes it once (bcrypt), and the hash is
	// written for each user.
	n.Password = "pw-" + randomHex(8)
	hash := n.bcryptHash(n.Password)
	var usersFile, rolesFile strings.Builder
	fmt.Fprintf(&usersFile, "%s:%s\n", AdminUser, hash)
	byRole := map[string][]string{"superuser": {AdminUser}}
	for u, r := range users {
		fmt.Fprintf(&usersFile, "%s:%s\n", u, hash)
		byRole[r] = append(byRole[r], u)
	}
	for r, us := range byRole {
		slices.Sort(us)
		fmt.Fprintf(&rolesFile, "%s:%s\n", r, strings.Join(us, ","))
	}
	write(t, filepath.Join(conf, "users"), usersFile.String())
	write(t, filepath.Join(conf, "users_roles"), rolesFile.String())
	n.chown()
	n.Start()
	return n
}

// newNode prepares a node's directory and configuration with the given security settings.
func newNode(t testing.TB, security string) *ESNode {
	t.Helper()
	home, err := esHome()
	if err != nil {
		t.Fatalf("an Elasticsearch node of the test's own: %v", err)
	}
	java, err := javaHome()
	if err != nil {
		t.Fatalf("an Elasticsearch node of the test's own: %v", err)
	}
	runAs, err := esUser()
	if err != nil {
		t.Fatalf("an Elasticsearch node of the test's own: %v", err)
	}
	dir, err := os.MkdirTemp("", "erpsync-esnode-")
	if err != nil {
		t.Fatal(err)
	}
	n := &ESNode{t: t, home: home, dir: dir, runAs: runAs}
	t.Cleanup(func() { n.Stop(); _ = os.RemoveAll(dir) })
	// The node runs as another user when the test runs as root: it must reach its directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "config")
	if err := copyDir(filepath.Join(home, "config"), conf); err != nil {
		t.Fatalf("copy the distribution's config: %v", err)
	}
	for _, d := range []string{"data", "logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	httpPort, transportPort := freePort(t), freePort(t)
	n.URL = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	write(t, filepath.Join(conf, "elasticsearch.yml"), fmt.Sprintf(`# A node of one test's own (internal/testenv/esnode.go), plain http on the loopback interface.
cluster.name: erpsync-test-%d
node.name: erpsync-test-%d
network.host: 127.0.0.1
http.port: %d
transport.port: %d
discovery.type: single-node
path.data: %s
path.logs: %s
cluster.routing.allocation.disk.threshold_enabled: false
%s`, httpPort, httpPort, httpPort, transportPort, filepath.Join(dir, "data"), filepath.Join(dir, "logs"), security))
	n.env = []string{"ES_JAVA_HOME=" + java, "ES_PATH_CONF=" + conf, "ES_TMPDIR=" + filepath.Join(dir, "tmp"), "ES_JAVA_OPTS=-Xms512m -Xmx512m"}
	n.chown()
	return n
}

// Start starts the node's process (again, after Kill) and waits until it answers.
func (n *ESNode) Start() {
	n.t.Helper()
	log, err := os.OpenFile(filepath.Join(n.dir, "logs", "stdout.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	defer log.Close()
	cmd := n.command(filepath.Join(n.home, "bin", "elasticsearch"))
	cmd.Stdout, cmd.Stderr = log, log
	// A process group of its own: the launcher starts the server as a child JVM, and a kill
	// must reach both.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start Elasticsearch: %v", err)
	}
	n.cmd = cmd
	start := time.Now()
	for time.Since(start) < 3*time.Minute {
		if n.Healthy() {
			n.t.Logf("Elasticsearch node %s up in %s", n.URL, time.Since(start).Round(100*time.Millisecond))
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	n.t.Fatalf("the Elasticsearch node at %s did not answer within 3 minutes; its log:\n%s", n.URL, n.LogTail())
}

// Healthy reports whether the node answers with a yellow or green cluster.
func (n *ESNode) Healthy() bool {
	req, err := http.NewRequest(http.MethodGet, n.URL+"/_cluster/health?wait_for_status=yellow&timeout=1s", nil)
	if err != nil {
		return false
	}
	if n.Password != "" {
		req.SetBasicAuth(AdminUser, n.Password)
	}
	res, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// Kill kills the node with SIGKILL, as a crash or an OOM killer would, and waits until it is
// gone.
func (n *ESNode) Kill() {
	n.t.Helper()
	if n.cmd == nil {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	_ = n.cmd.Wait()
	n.cmd = nil
	for deadline := time.Now().Add(30 * time.Second); n.Healthy(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			n.t.Fatal("the killed Elasticsearch node still answers")
		}
	}
}

// Stop stops the node (SIGTERM, then SIGKILL after 20 s).
func (n *ESNode) Stop() {
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

// Client returns a client of the node that authenticates as user with the node's Password
// (none for "").
func (n *ESNode) Client(t testing.TB, user string) *elasticsearch.Client {
	t.Helper()
	cfg := search.Config{URL: n.URL}
	if user != "" {
		cfg.Username, cfg.Password = user, n.Password
	}
	es, err := search.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// LogTail is the end of the node's output, for failures.
func (n *ESNode) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "logs", "stdout.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// command runs one of the distribution's programs with the node's environment, as the node's
// user.
func (n *ESNode) command(name string, args ...string) *exec.Cmd {
	if n.runAs != nil {
		return exec.Command("runuser", append([]string{"-u", n.runAs.Username, "--", "env"}, append(n.env, append([]string{name}, args...)...)...)...)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), n.env...)
	return cmd
}

// chown gives the node's directory to the user it runs as.
func (n *ESNode) chown() {
	if n.runAs == nil {
		return
	}
	uid, _ := strconv.Atoi(n.runAs.Uid)
	gid, _ := strconv.Atoi(n.runAs.Gid)
	if err := filepath.WalkDir(n.dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		n.t.Fatal(err)
	}
}

// bcryptHash returns the file realm's hash of password, made by the distribution's own
// elasticsearch-users tool.
func (n *ESNode) bcryptHash(password string) string {
	n.t.Helper()
	const seed = "erpsync-hash-seed"
	n.chown()
	cmd := n.command(filepath.Join(n.home, "bin", "elasticsearch-users"), "useradd", seed, "-p", password, "-r", "superuser")
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("elasticsearch-users useradd: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(n.dir, "config", "users"))
	if err != nil {
		n.t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if h, ok := strings.CutPrefix(strings.TrimSpace(line), seed+":"); ok {
			return h
		}
	}
	n.t.Fatalf("elasticsearch-users wrote no hash for %s:\n%s", seed, b)
	return ""
}

// BlockWrites sets or lifts a write block on the indexes matching pattern, as an operator (or
// Elasticsearch itself, at the flood-stage disk watermark) would.
func BlockWrites(t testing.TB, es *elasticsearch.Client, pattern string, on bool) {
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

// esHome returns the installed test distribution of the version in versions.env.
func esHome() (string, error) {
	version, err := PinnedVersion("ELASTICSEARCH_VERSION")
	if err != nil {
		return "", err
	}
	cache := os.Getenv("ERPSYNC_CACHE")
	if cache == "" {
		cache = "/var/cache/erpsync"
	}
	home := filepath.Join(cache, "elasticsearch-"+version)
	if _, err := os.Stat(filepath.Join(home, "bin", "elasticsearch")); err != nil {
		return "", fmt.Errorf("Elasticsearch %s is not installed in %s (%v): %s", version, home, err, howToStart)
	}
	return home, nil
}

// PinnedVersion reads a pinned version (ELASTICSEARCH_VERSION, ...) from versions.env at the
// repository's root.
func PinnedVersion(key string) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	versions := filepath.Join(filepath.Dir(file), "..", "..", "versions.env")
	f, err := os.Open(versions)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), key+"="); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no %s in %s", key, versions)
}

func javaHome() (string, error) {
	if h := os.Getenv("ES_JAVA_HOME"); h != "" {
		return h, nil
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("no java on PATH and no ES_JAVA_HOME: install a JDK 17 or later")
	}
	real, err := filepath.EvalSymlinks(java)
	if err != nil {
		return "", err
	}
	return filepath.Dir(filepath.Dir(real)), nil
}

// esUser returns the user to run Elasticsearch as when the test runs as root (it refuses root),
// as scripts/services.sh: ERPSYNC_ES_USER, default erpsync; nil otherwise.
func esUser() (*user.User, error) {
	if os.Getuid() != 0 {
		return nil, nil
	}
	name := os.Getenv("ERPSYNC_ES_USER")
	if name == "" {
		name = "erpsync"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("user %s, who runs Elasticsearch, does not exist (scripts/services.sh up creates it): %w", name, err)
	}
	return u, nil
}

func rolesYAML(t testing.TB, roles map[string]search.Privileges) string {
	t.Helper()
	type indices struct {
		Names      []string `yaml:"names"`
		Privileges []string `yaml:"privileges"`
	}
	type role struct {
		Cluster []string  `yaml:"cluster"`
		Indices []indices `yaml:"indices"`
	}
	out := map[string]role{}
	for name, p := range roles {
		r := role{Cluster: p.Cluster}
		if r.Cluster == nil {
			r.Cluster = []string{}
		}
		for _, ip := range p.Indices {
			r.Indices = append(r.Indices, indices(ip))
		}
		out[name] = r
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func write(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}
