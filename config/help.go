package config

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// PrintFlags writes the flags of fs that are not settings (a command's own, such as --json), in
// the flag package's format; nothing when there are none.
func (s *Set) PrintFlags(w io.Writer, fs *flag.FlagSet) {
	own := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	mine := map[string]bool{FileFlag: true}
	for _, st := range s.settings {
		for _, f := range st.flags() {
			mine[f] = true
		}
	}
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if !mine[f.Name] {
			own.Var(f.Value, f.Name, f.Usage)
			n++
		}
	})
	if n == 0 {
		return
	}
	fmt.Fprintln(w, "Flags:")
	own.SetOutput(w)
	own.PrintDefaults()
	fmt.Fprintln(w)
}

// PrintSettings writes every setting: its file key, flag and environment variable, what it does
// and its default. It is --help's list, generated from the declarations.
func (s *Set) PrintSettings(w io.Writer) {
	fmt.Fprintf(w, `Settings. Each comes from a flag, an environment variable or the config file; a flag wins
over the environment, the environment over the file, the file over the default.

  --%s FILE, $%s
        a YAML (.yaml, .yml) or TOML (.toml) file of settings: the keys below, by section
        (YAML "erp:" then "  url: ...", TOML "[erp]" then "url = ..."); one file may serve
        every erpsync binary, each reads its sections; "worker config print" writes one.
`, FileFlag, FileEnv)
	secs := s.sections()
	for _, name := range s.order {
		if len(secs[name]) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", s.titles[name])
		for _, st := range secs[name] {
			var where []string
			if st.Flag != "" {
				where = append(where, "--"+st.Flag)
			}
			if len(st.Env) > 0 {
				where = append(where, "$"+st.Env[0])
			}
			fmt.Fprintf(w, "  %-28s %s\n", st.Key, strings.Join(where, ", "))
			help := st.Help
			var also []string
			for _, a := range st.Aliases {
				also = append(also, "--"+a)
			}
			for _, e := range st.Env[min(1, len(st.Env)):] {
				also = append(also, "$"+e)
			}
			if len(also) > 0 {
				help += " Also read: " + strings.Join(also, ", ") + "."
			}
			switch {
			case st.DefaultText != "":
				help += " Default: " + st.DefaultText + "."
			case st.Default != "":
				help += fmt.Sprintf(" Default: %s.", st.Default)
			}
			for _, line := range wrap(help, 88) {
				fmt.Fprintf(w, "        %s\n", line)
			}
		}
	}
}

// wrap breaks text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
