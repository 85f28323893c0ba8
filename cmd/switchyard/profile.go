package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// noProfile is the annotation of a command that reaches no server, so
// that no profile applies to it (and a broken CLI config file cannot stop
// it).
const noProfile = "switchyard/no-profile"

// cliConfig is the CLI's config file: named profiles of the client flags
// and the one that applies when --profile names none.
type cliConfig struct {
	Current  string              `yaml:"current,omitempty"`
	Profiles map[string]*profile `yaml:"profiles,omitempty"`
}

// profile holds the client flags for one server; its YAML keys are the
// flags' names.
type profile struct {
	Server  string `yaml:"server,omitempty"`
	Token   string `yaml:"token,omitempty"`
	TLSCA   string `yaml:"tls-ca,omitempty"`
	TLSCert string `yaml:"tls-cert,omitempty"`
	TLSKey  string `yaml:"tls-key,omitempty"`
	Project string `yaml:"project,omitempty"`
}

// fields maps the name of each client flag to its field of p.
func (p *profile) fields() map[string]*string {
	return map[string]*string{"server": &p.Server, "token": &p.Token, "tls-ca": &p.TLSCA,
		"tls-cert": &p.TLSCert, "tls-key": &p.TLSKey, "project": &p.Project}
}

// configPath is the CLI config file: --cli-config, else config.yaml in
// $XDG_CONFIG_HOME/switchyard, else in ~/.config/switchyard.
func (c *cli) configPath() (string, error) {
	if c.configFile != "" {
		return c.configFile, nil
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(dir) { // the XDG spec ignores a relative path
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the CLI config file: %w (pass --cli-config)", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "switchyard", "config.yaml"), nil
}

// loadConfig reads the CLI config file; a file that does not exist is an
// empty config. Unknown keys are errors naming their line.
func (c *cli) loadConfig() (*cliConfig, string, error) {
	path, err := c.configPath()
	if err != nil {
		return nil, "", err
	}
	cfg := &cliConfig{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return cfg, path, nil
	case err != nil:
		return nil, "", fmt.Errorf("CLI config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("CLI config file %s: %w", path, err)
	}
	for name, p := range cfg.Profiles {
		if p == nil {
			cfg.Profiles[name] = &profile{}
		}
	}
	return cfg, path, nil
}

// saveConfig writes cfg to path, mode 0600 (it holds tokens), replacing
// the file at once; the directory is created, mode 0700, when missing.
func saveConfig(cfg *cliConfig, path string) error {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("CLI config file: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("CLI config file: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, there is nothing to remove
	if err = f.Chmod(0o600); err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("CLI config file: %w", err)
	}
	return nil
}

// applyProfile sets the client flags of cmd that neither the command line
// nor the environment set from the profile --profile names, or else the
// config file's current one.
func (c *cli) applyProfile(cmd *cobra.Command) error {
	cfg, path, err := c.loadConfig()
	if err != nil {
		return err
	}
	name := c.profile
	if name == "" {
		name = cfg.Current
	}
	if name == "" {
		return nil
	}
	p, ok := cfg.Profiles[name]
	switch {
	case !ok && c.profile != "":
		return usageError{fmt.Errorf("--profile %q: no such profile in %s (see 'switchyard profile list')", name, path)}
	case !ok:
		return fmt.Errorf("CLI config file %s: the current profile %q does not exist", path, name)
	}
	global := cmd.Root().PersistentFlags()
	for flag, v := range p.fields() {
		f := cmd.Flags().Lookup(flag)
		// A command's own flag of the same name (serve's --tls-cert) is
		// not the client's.
		if *v == "" || f == nil || f != global.Lookup(flag) || f.Changed {
			continue
		}
		if err := f.Value.Set(*v); err != nil {
			return fmt.Errorf("profile %q in %s: %s %q: %w", name, path, flag, *v, err)
		}
	}
	return nil
}

// newProfileCmd is "switchyard profile": the named profiles of the CLI
// config file.
func newProfileCmd(c *cli) *cobra.Command {
	cmd := groupCmd("profile", "Named profiles: the server, token, TLS files and project to use",
		newProfileListCmd(c), newProfileSetCmd(c), newProfileUseCmd(c), newProfileDeleteCmd(c))
	cmd.Long = `A profile holds the client flags for one server: --server, --token, --tls-ca,
--tls-cert, --tls-key and --project. --profile NAME (SWITCHYARD_PROFILE)
selects one, else the current one applies. A flag or SWITCHYARD_* variable
wins over the profile, the profile over the default.

The profiles live in $XDG_CONFIG_HOME/switchyard/config.yaml (by default
~/.config/switchyard/config.yaml), or in the file --cli-config
(SWITCHYARD_CLI_CONFIG) names, written mode 0600: it holds tokens.`
	cmd.Example = `  switchyard profile set prod --server https://flags.example.com:8080 --token $TOKEN --project shop
  switchyard profile set staging --server https://flags.staging.example.com:8080 --token $STAGING_TOKEN
  switchyard profile use prod
  switchyard flag stale                      # against prod
  switchyard --profile staging flag stale`
	return cmd
}

func newProfileListCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:         "list",
		Short:       "List the profiles (never their tokens)",
		Args:        argsNamed(),
		Annotations: map[string]string{noProfile: "true"},
		RunE: func(*cobra.Command, []string) error {
			cfg, _, err := c.loadConfig()
			if err != nil {
				return err
			}
			type row struct {
				Name    string `json:"name"`
				Current bool   `json:"current"`
				Server  string `json:"server,omitempty"`
				Project string `json:"project,omitempty"`
				Token   bool   `json:"token"`
				TLSCA   string `json:"tls_ca,omitempty"`
				TLSCert string `json:"tls_cert,omitempty"`
				TLSKey  string `json:"tls_key,omitempty"`
			}
			rows := []row{}
			for name, p := range cfg.Profiles {
				rows = append(rows, row{Name: name, Current: name == cfg.Current, Server: p.Server, Project: p.Project,
					Token: p.Token != "", TLSCA: p.TLSCA, TLSCert: p.TLSCert, TLSKey: p.TLSKey})
			}
			sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
			raw, err := json.Marshal(map[string]any{"current": cfg.Current, "profiles": rows})
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintln(w, "CURRENT\tNAME\tSERVER\tPROJECT\tTOKEN\tTLS")
				for _, r := range rows {
					current, token, tls := "", "-", "-"
					if r.Current {
						current = "*"
					}
					if r.Token {
						token = "set"
					}
					if r.TLSCA != "" || r.TLSCert != "" {
						tls = "files"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", current, r.Name, orDash(r.Server), orDash(r.Project), token, tls)
				}
			})
		},
	}
}

func newProfileSetCmd(c *cli) *cobra.Command {
	var use bool
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Create or change a profile from the client flags given",
		Long: `Create or change the profile NAME: each of --server, --token, --tls-ca,
--tls-cert, --tls-key and --project given on the command line is stored
(SWITCHYARD_* variables are not); TLS files by their absolute path. An empty value ("--token ''") removes the
setting. The first profile becomes the current one; --use makes this one
current.`,
		Example:           "  switchyard profile set prod --server https://flags.example.com:8080 --token $TOKEN --project shop --use",
		Args:              argsNamed("NAME"),
		ValidArgsFunction: c.completeProfiles,
		Annotations:       map[string]string{noProfile: "true"},
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, path, err := c.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Profiles == nil {
				cfg.Profiles = map[string]*profile{}
			}
			p := cfg.Profiles[args[0]]
			if p == nil {
				p = &profile{}
				cfg.Profiles[args[0]] = p
			}
			given := map[string]string{"server": c.cc.Server, "token": c.cc.Token, "tls-ca": c.cc.TLS.CA,
				"tls-cert": c.cc.TLS.Cert, "tls-key": c.cc.TLS.Key, "project": c.project}
			for flag, dst := range p.fields() {
				if !c.given[flag] {
					continue
				}
				*dst = given[flag]
				// A file is kept by its absolute path, to be found from
				// wherever the profile is used.
				if strings.HasPrefix(flag, "tls-") && *dst != "" {
					abs, err := filepath.Abs(*dst)
					if err != nil {
						return fmt.Errorf("--%s: %w", flag, err)
					}
					*dst = abs
				}
			}
			if use || cfg.Current == "" {
				cfg.Current = args[0]
			}
			if err := saveConfig(cfg, path); err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "profile %s saved in %s\n", args[0], path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&use, "use", false, "make it the current profile")
	return cmd
}

func newProfileUseCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:               "use NAME",
		Short:             "Make a profile the current one",
		Args:              argsNamed("NAME"),
		ValidArgsFunction: c.completeProfiles,
		Annotations:       map[string]string{noProfile: "true"},
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, path, err := c.loadConfig()
			if err != nil {
				return err
			}
			if _, ok := cfg.Profiles[args[0]]; !ok {
				return fmt.Errorf("profile use: no profile %q in %s", args[0], path)
			}
			cfg.Current = args[0]
			if err := saveConfig(cfg, path); err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "now using profile %s\n", args[0])
			return nil
		},
	}
}

func newProfileDeleteCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:               "delete NAME",
		Short:             "Delete a profile",
		Args:              argsNamed("NAME"),
		ValidArgsFunction: c.completeProfiles,
		Annotations:       map[string]string{noProfile: "true"},
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, path, err := c.loadConfig()
			if err != nil {
				return err
			}
			if _, ok := cfg.Profiles[args[0]]; !ok {
				return fmt.Errorf("profile delete: no profile %q in %s", args[0], path)
			}
			delete(cfg.Profiles, args[0])
			if cfg.Current == args[0] {
				cfg.Current = ""
			}
			return saveConfig(cfg, path)
		},
	}
}
