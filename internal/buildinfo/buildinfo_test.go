package buildinfo

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestEveryBinaryTellsItsVersion builds each of erpsync's binaries (with
// a version set at link time) and runs it with --version.
func TestEveryBinaryTellsItsVersion(t *testing.T) {
	dir := t.TempDir()
	pkgs := map[string]string{"worker": "../../worker", "starter": "../../starter", "erpsim": "../../cmd/erpsim",
		"storefront": "../../cmd/storefront", "probe": "../../cmd/probe"}
	args := []string{"build", "-ldflags", "-X github.com/erpsync/erpsync/internal/buildinfo.Version=v9.8.7", "-o", dir + "/"}
	for _, p := range pkgs {
		args = append(args, p)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for bin := range pkgs {
		out, err := exec.Command(filepath.Join(dir, bin), "--version").CombinedOutput()
		if err != nil {
			t.Errorf("%s --version: %v\n%s", bin, err, out)
			continue
		}
		line := strings.TrimSpace(string(out))
		want := bin + " v9.8.7 (github.com/erpsync/erpsync, "
		if !strings.HasPrefix(line, want) || !strings.Contains(line, runtime.GOOS+"/"+runtime.GOARCH) || !strings.Contains(line, "go1.") {
			t.Errorf("%s --version: %q, want %q... with the Go version and platform", bin, line, want)
		}
	}
}

func TestAsked(t *testing.T) {
	for args, want := range map[string]bool{"--version": true, "-version": true, "version": true, "": false, "run --version": false, "--help": false} {
		if got := Asked(strings.Fields(args)); got != want {
			t.Errorf("Asked(%q) = %v, want %v", args, got, want)
		}
	}
}
