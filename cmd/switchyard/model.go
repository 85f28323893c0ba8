package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newModelCmd is "switchyard model": release models.
func newModelCmd(c *cli) *cobra.Command {
	return groupCmd("model", "Release models: list, create", newModelListCmd(c), newModelCreateCmd(c))
}

func newModelCreateCmd(c *cli) *cobra.Command {
	var file, title, description, mode, convergence, approvers string
	var approvals int
	var check bool
	var stages []string
	cmd := &cobra.Command{
		Use:   "create [KEY]",
		Short: "Create a release model: a stage template with its gates and verification",
		Example: `  switchyard model create mobile --stage "staff:segments=staff" --stage "all:gate=approval" \
    --convergence 95% --approvers release-manager`,
		Args: argsNamed("[KEY]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m := &pb.ReleaseModel{}
			if file != "" {
				data, err := os.ReadFile(file)
				if err == nil {
					err = decodeYAMLOrJSON(data, m)
				}
				if err != nil {
					return fmt.Errorf("--file %s: %w", file, err)
				}
			}
			if len(args) == 1 {
				m.Key = args[0]
			}
			if m.Key == "" {
				return errors.New("model create: no model key: pass it as the argument or in --file")
			}
			for _, s := range []struct {
				dst *string
				v   string
			}{{&m.Title, title}, {&m.Description, description}, {&m.Mode, mode}} {
				if s.v != "" {
					*s.dst = s.v
				}
			}
			if len(stages) > 0 {
				var err error
				if m.Stages, err = parseStages(stages); err != nil {
					return err
				}
			}
			if convergence != "" || check {
				if m.Verification == nil {
					m.Verification = &pb.ReleaseModelVerification{}
				}
				if convergence != "" {
					c, err := parsePercent(convergence, 1000)
					if err != nil {
						return fmt.Errorf("--convergence %w", err)
					}
					m.Verification.MinConvergence = float64(c) / 1000
				}
				m.Verification.ResolutionCheck = m.Verification.ResolutionCheck || check
			}
			if approvers != "" || approvals != 0 {
				if m.Approval == nil {
					m.Approval = &pb.ApprovalGate{}
				}
				if approvers != "" {
					m.Approval.Approvers = approvers
				}
				if approvals != 0 {
					m.Approval.Count = int32(approvals)
				}
			}
			var out pb.ReleaseModel
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("release-models"), m, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "created release model %s: %s\n", out.GetKey(), stagesText(out.GetStages()))
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&file, "file", "", "read the model from this YAML or JSON file (the REST body); flags override it")
	fs.StringVar(&title, "title", "", "title")
	fs.StringVar(&description, "description", "", "description")
	fs.StringVar(&mode, "mode", "", "pull (default) or push")
	fs.StringArrayVar(&stages, "stage", nil, "a stage of the template, repeated, in order: as for 'release create --stage'")
	fs.StringVar(&convergence, "convergence", "", "share of connected SDKs every stage must reach before the next gate, e.g. 95%")
	fs.BoolVar(&check, "resolution-check", false, "require the resolution check after each stage")
	fs.StringVar(&approvers, "approvers", "", "who approves the template's approval gates: release-manager or admin")
	fs.IntVar(&approvals, "approvals", 0, "approvals each approval gate needs")
	return cmd
}

func newModelListCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the project's release models",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var resp pb.ListReleaseModelsResponse
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path("release-models")+"?page_size=1000", nil, &resp)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintln(w, "KEY\tMODE\tSTAGES\tVERIFICATION\tAPPROVAL\tTITLE")
				for _, m := range resp.GetReleaseModels() {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", m.GetKey(), orDash(m.GetMode()), stagesText(m.GetStages()),
						verificationText(m.GetVerification()), approvalText(m.GetApproval()), m.GetTitle())
				}
			})
		},
	}
}

// stagesText is a stage template in one line: "staff (manual) → de-5
// germany 5% (approval) → …".
func stagesText(stages []*pb.ReleaseStage) string {
	parts := make([]string, len(stages))
	for i, st := range stages {
		name := st.GetName()
		if name != "" {
			name += " "
		}
		parts[i] = fmt.Sprintf("%s%s (%s)", name, audienceText(st), gateOf(st.GetGate()))
	}
	return strings.Join(parts, " → ")
}

// verificationText is a model's verification: "convergence 95%,
// resolution check", or "-".
func verificationText(v *pb.ReleaseModelVerification) string {
	var parts []string
	if v.GetMinConvergence() > 0 {
		parts = append(parts, "convergence "+ratio(v.GetMinConvergence()))
	}
	if v.GetResolutionCheck() {
		parts = append(parts, "resolution check")
	}
	return orDash(strings.Join(parts, ", "))
}

// approvalText is who approves a model's approval gates, or "-".
func approvalText(a *pb.ApprovalGate) string {
	if a == nil {
		return "-"
	}
	who := orDash(a.GetApprovers())
	if a.GetCount() > 1 {
		who = fmt.Sprintf("%d × %s", a.GetCount(), who)
	}
	return who
}
