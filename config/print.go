package config

import (
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// Redacted stands for a secret's value in Print.
const Redacted = "<redacted>"

// Print writes the effective configuration as a YAML config file: every setting of the Set by
// section, each with a comment saying where its value came from. Secrets that are set read
// Redacted. With the secrets filled in again, the output is a config file giving the same
// configuration.
func (s *Set) Print(w io.Writer) error {
	root := &yaml.Node{Kind: yaml.MappingNode}
	secs := s.sections()
	for _, name := range s.order {
		if len(secs[name]) == 0 {
			continue
		}
		sec := &yaml.Node{Kind: yaml.MappingNode}
		var whole *yaml.Node // a setting that is the whole section
		for _, st := range secs[name] {
			v := st.Value.Get()
			if st.Secret && st.Value.String() != "" {
				v = Redacted
			}
			val := &yaml.Node{}
			if err := val.Encode(v); err != nil {
				return fmt.Errorf("print %s: %w", st.Key, err)
			}
			val.LineComment = s.Origin(st.Key)
			if st.Key == name {
				whole = val
				continue
			}
			if val.Kind == yaml.MappingNode || val.Kind == yaml.SequenceNode {
				val.Style = yaml.FlowStyle
			}
			_, field, _ := strings.Cut(st.Key, ".")
			key := &yaml.Node{Kind: yaml.ScalarNode, Value: field}
			sec.Content = append(sec.Content, key, val)
		}
		if whole != nil {
			// The comment goes above a block, where a reader sees it.
			whole.HeadComment, whole.LineComment = whole.LineComment, ""
			sec = whole
		}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, sec)
	}
	header := fmt.Sprintf("# %s: the effective configuration (flags > environment > file > defaults)", s.Program)
	if s.file != "" {
		header += "; config file " + s.file
	}
	if _, err := fmt.Fprintln(w, header); err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	return enc.Close()
}
