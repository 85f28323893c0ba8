package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// newFlagSet returns a flag set for a command that prints its usage to w.
func newFlagSet(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: switchyard %s\n\nFlags (each also as SWITCHYARD_<FLAG> in the environment):\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, then fills the flags args did not set from
// SWITCHYARD_* environment variables, then, when fs has a "config" flag
// naming a file, those still unset from that YAML file (keys are flag
// names). So a flag wins over a variable, a variable over the file, and
// the file over the default.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok && !set[f.Name] && bad == nil {
			set[f.Name] = true
			if err := f.Value.Set(v); err != nil {
				bad = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if bad != nil {
		return bad
	}
	if c := fs.Lookup("config"); c != nil && c.Value.String() != "" {
		return applyConfigFile(fs, c.Value.String(), set)
	}
	return nil
}

// envName is the environment variable of a flag: --http-addr is
// SWITCHYARD_HTTP_ADDR.
func envName(flagName string) string {
	return "SWITCHYARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyConfigFile sets the flags of fs that are not in set from the YAML
// mapping in path, whose keys are flag names and whose values are scalars
// (durations as "30s"). A key that names no flag, or "config" itself, is
// an error naming the key; nothing is applied then.
func applyConfigFile(fs *flag.FlagSet, path string, set map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("config file %s: want a mapping of flag names to values", path)
	}
	type setting struct {
		f   *flag.Flag
		val string
	}
	var todo []setting
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		f := fs.Lookup(k.Value)
		if f == nil || f.Name == "config" {
			return fmt.Errorf("config file %s, line %d: unknown key %q (keys are the flags of '%s')", path, k.Line, k.Value, fs.Name())
		}
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("config file %s, line %d: %s: want a single value", path, v.Line, k.Value)
		}
		if !set[f.Name] {
			todo = append(todo, setting{f, v.Value})
		}
	}
	for _, s := range todo {
		if err := s.f.Value.Set(s.val); err != nil {
			return fmt.Errorf("config file %s: %s %q: %w", path, s.f.Name, s.val, err)
		}
	}
	return nil
}

// parseArgs is parseFlags for commands that take arguments: flags may
// come before, between and after them ("release start spring --note go").
// It returns the arguments in order; those after "--" are never flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	var out []string
	for {
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		if len(rest) == 0 || len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(out, rest...), nil
		}
		out = append(out, rest[0])
		args = rest[1:]
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
	}
}

// listFlag is a flag that may be given many times; each use adds a value.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
