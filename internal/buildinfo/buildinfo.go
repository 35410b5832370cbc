// Package buildinfo tells which build of erpsync a binary is (its --version): the module
// version, the VCS revision and time when the build recorded them, and the Go toolchain, from
// runtime/debug.ReadBuildInfo.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
)

// Version overrides the module version when set at link time
// (-ldflags "-X github.com/erpsync/erpsync/internal/buildinfo.Version=v1.2.3"): a build from a
// source tree without .git (a Docker build) has no other.
var Version string

// Asked reports whether args ask for the version: --version, -version or version alone.
func Asked(args []string) bool {
	return len(args) == 1 && slices.Contains([]string{"--version", "-version", "version"}, args[0])
}

// String is binary's version line, e.g.
// "worker v1.4.0 (github.com/erpsync/erpsync, revision 3c9ebbd 2026-11-29T10:00:00Z, go1.26.0 linux/amd64)".
func String(binary string) string {
	version, module, vcs := "(devel)", "github.com/erpsync/erpsync", ""
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		module, goVersion = bi.Main.Path, bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		s := map[string]string{}
		for _, kv := range bi.Settings {
			s[kv.Key] = kv.Value
		}
		if rev := s["vcs.revision"]; rev != "" {
			vcs = "revision " + rev[:min(len(rev), 12)]
			if t := s["vcs.time"]; t != "" {
				vcs += " " + t
			}
			if s["vcs.modified"] == "true" {
				vcs += " (modified)"
			}
		}
	}
	if Version != "" {
		version = Version
	}
	parts := []string{module}
	if vcs != "" {
		parts = append(parts, vcs)
	}
	parts = append(parts, goVersion+" "+runtime.GOOS+"/"+runtime.GOARCH)
	return fmt.Sprintf("%s %s (%s)", binary, version, strings.Join(parts, ", "))
}
