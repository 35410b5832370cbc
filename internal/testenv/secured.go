package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
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

// SecuredNode is a private Elasticsearch node with security on, for tests of the secured path:
// credentials, roles and privileges. Every user has the same Password.
type SecuredNode struct {
	URL      string
	Password string
}

// Client returns a client of n that authenticates as user.
func (n *SecuredNode) Client(t testing.TB, user string) *elasticsearch.Client {
	t.Helper()
	es, err := search.NewClient(search.Config{URL: n.URL, Username: user, Password: n.Password})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// AdminUser is a superuser of every SecuredNode.
const AdminUser = "admin"

// StartSecuredElasticsearch starts a node of its own with security on, from the distribution
// `make test` installs (scripts/services.sh: $ERPSYNC_CACHE/elasticsearch-<version>), on free
// ports, as the user scripts/services.sh runs Elasticsearch as when the test runs as root; it is
// stopped and removed when t ends. The shared node is not touched.
//
// roles are defined in the node's roles.yml; users (name -> role) and AdminUser are users of
// the file realm (the users and users_roles files). Elasticsearch's own security APIs cannot
// make them here: API keys, native users and native roles live in the .security index, whose
// mapping needs the pattern_capture token filter of the analysis-common module, which the test
// distribution lacks ("Unknown filter type [pattern_capture] for [email]").
func StartSecuredElasticsearch(t testing.TB, roles map[string]search.Privileges, users map[string]string) *SecuredNode {
	t.Helper()
	home, err := esHome()
	if err != nil {
		t.Fatalf("secured Elasticsearch: %v", err)
	}
	javaHome, err := javaHome()
	if err != nil {
		t.Fatalf("secured Elasticsearch: %v", err)
	}
	dir, err := os.MkdirTemp("", "erpsync-secured-es-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// The node runs as another user when the test runs as root: it must reach its directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "config")
	if err := copyDir(filepath.Join(home, "config"), conf); err != nil {
		t.Fatalf("secured Elasticsearch: copy config: %v", err)
	}
	for _, d := range []string{"data", "logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	httpPort, transportPort := freePort(t), freePort(t)
	yml := fmt.Sprintf(`# A private node of one test: security on, plain http on the loopback interface.
cluster.name: erpsync-secured-test
node.name: secured-1
network.host: 127.0.0.1
http.port: %d
transport.port: %d
discovery.type: single-node
path.data: %s
path.logs: %s
xpack.security.enabled: true
xpack.security.http.ssl.enabled: false
xpack.security.transport.ssl.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
`, httpPort, transportPort, filepath.Join(dir, "data"), filepath.Join(dir, "logs"))
	write(t, filepath.Join(conf, "elasticsearch.yml"), yml)
	write(t, filepath.Join(conf, "roles.yml"), rolesYAML(t, roles))

	runAs, err := esUser()
	if err != nil {
		t.Fatalf("secured Elasticsearch: %v", err)
	}
	if runAs != nil {
		if err := chownAll(dir, runAs); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"ES_JAVA_HOME=" + javaHome, "ES_PATH_CONF=" + conf, "ES_TMPDIR=" + filepath.Join(dir, "tmp"), "ES_JAVA_OPTS=-Xms512m -Xmx512m"}

	// One password for every user: elasticsearch-users hashes it once (bcrypt), and the hash is
	// written for each user.
	password := "pw-" + randomHex(8)
	hash := bcryptHash(t, home, env, runAs, conf, password)
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
	if runAs != nil {
		if err := chownAll(conf, runAs); err != nil {
			t.Fatal(err)
		}
	}

	pidFile := filepath.Join(dir, "es.pid")
	start := command(runAs, env, filepath.Join(home, "bin", "elasticsearch"), "-d", "-p", pidFile)
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("secured Elasticsearch did not start: %v\n%s\n%s", err, out, tail(filepath.Join(dir, "logs", "erpsync-secured-test.log")))
	}
	t.Cleanup(func() { stopNode(t, pidFile) })

	n := &SecuredNode{URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), Password: password}
	admin := n.Client(t, AdminUser)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := admin.Cluster.Health(admin.Cluster.Health.WithContext(ctx), admin.Cluster.Health.WithWaitForStatus("yellow"))
		cancel()
		if err == nil {
			res.Body.Close()
			if !res.IsError() {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("secured Elasticsearch at %s is not healthy after 3 minutes (%v)\n%s", n.URL, err, tail(filepath.Join(dir, "logs", "erpsync-secured-test.log")))
		}
		time.Sleep(time.Second)
	}
}

// esHome returns the installed test distribution of the version in versions.env.
func esHome() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	versions := filepath.Join(filepath.Dir(file), "..", "..", "versions.env")
	f, err := os.Open(versions)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var version string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "ELASTICSEARCH_VERSION="); ok {
			version = v
		}
	}
	if version == "" {
		return "", fmt.Errorf("no ELASTICSEARCH_VERSION in %s", versions)
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

func command(as *user.User, env []string, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if as != nil {
		cmd = exec.Command("runuser", append([]string{"-u", as.Username, "--", "env"}, append(env, append([]string{name}, args...)...)...)...)
	} else {
		cmd = exec.Command(name, args...)
		cmd.Env = append(os.Environ(), env...)
	}
	return cmd
}

// bcryptHash returns the file realm's hash of password, made by the distribution's own
// elasticsearch-users tool.
func bcryptHash(t testing.TB, home string, env []string, as *user.User, conf, password string) string {
	t.Helper()
	const seed = "erpsync-hash-seed"
	cmd := command(as, env, filepath.Join(home, "bin", "elasticsearch-users"), "useradd", seed, "-p", password, "-r", "superuser")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("elasticsearch-users useradd: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(conf, "users"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if h, ok := strings.CutPrefix(strings.TrimSpace(line), seed+":"); ok {
			return h
		}
	}
	t.Fatalf("elasticsearch-users wrote no hash for %s:\n%s", seed, b)
	return ""
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

func stopNode(t testing.TB, pidFile string) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Logf("secured Elasticsearch: no pid file: %v", err)
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Logf("secured Elasticsearch: pid file %q", b)
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 600; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
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

func chownAll(dir string, u *user.User) error {
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// tail returns the end of a log file, for a failure message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
