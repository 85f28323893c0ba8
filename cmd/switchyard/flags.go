package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// envName is the environment variable of a flag: --http-addr is
// SWITCHYARD_HTTP_ADDR.
func envName(flagName string) string {
	return "SWITCHYARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyConfigFile sets the flags of fs that the command line and the
// environment did not set (see cli.prepare) from the YAML mapping in
// path, whose keys are flag names and whose values are scalars (durations
// as "30s"). So a flag wins over a variable, a variable over the file, and
// the file over the default. A key that names no flag of fs, or "config"
// itself, is an error naming the key; nothing is applied then.
func applyConfigFile(fs *pflag.FlagSet, path string) error {
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
		f   *pflag.Flag
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
		if !f.Changed {
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

// optionalBool is a boolean flag that may be left unset, for a default
// that is neither true nor false.
type optionalBool struct {
	Given, Value bool
}

// String is "" when unset.
func (b *optionalBool) String() string {
	if !b.Given {
		return ""
	}
	return strconv.FormatBool(b.Value)
}

// Type is "bool", as pflag names boolean flags.
func (b *optionalBool) Type() string { return "bool" }

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.Given, b.Value = true, v
	return nil
}
