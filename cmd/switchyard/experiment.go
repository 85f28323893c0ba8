package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newExperimentCmd is "switchyard experiment": A/B experiments.
func newExperimentCmd(c *cli) *cobra.Command {
	return groupCmd("experiment", "A/B experiments: create, list, start, stop, results",
		newExperimentCreateCmd(c), newExperimentListCmd(c), newExperimentStartCmd(c),
		newExperimentStopCmd(c), newExperimentResultsCmd(c))
}

// newMetricCmd is "switchyard metric": the metrics experiments measure.
func newMetricCmd(c *cli) *cobra.Command {
	return groupCmd("metric", "Experiment metrics: create, list", newMetricCreateCmd(c), newMetricListCmd(c))
}

// printExperiment prints an experiment answer as one line.
func (c *cli) printExperiment(raw []byte, e *pb.Experiment) error {
	return c.print(raw, func(w io.Writer) { fmt.Fprintln(w, experimentSummary(e)) })
}

func newExperimentCreateCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:               "create FILE",
		Short:             "Draft an experiment from a YAML or JSON file (the REST body)",
		Example:           "  switchyard experiment create experiment.yaml",
		Args:              argsNamed("FILE"),
		ValidArgsFunction: c.completeArgs(kindFile),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var e pb.Experiment
			if err := decodeYAMLOrJSON(data, &e); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			var out pb.Experiment
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("experiments"), &e, &out)
			if err != nil {
				return err
			}
			return c.printExperiment(raw, &out)
		},
	}
}

func newExperimentListCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the project's experiments",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out pb.ListExperimentsResponse
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path("experiments")+"?page_size=1000", nil, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tSTATUS\tENVIRONMENT\tFLAG\tVARIANTS\tTRAFFIC\tPRIMARY METRIC")
				for _, e := range out.GetExperiments() {
					variants := []string{e.GetControl().GetVariant()}
					for _, t := range e.GetTreatments() {
						variants = append(variants, t.GetVariant())
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.GetId(), e.GetStatus(), e.GetEnvironment(), e.GetFlag(),
						strings.Join(variants, ","), expWeight(e.GetTrafficShare()), e.GetPrimaryMetric())
				}
			})
		},
	}
}

func newExperimentStartCmd(c *cli) *cobra.Command {
	var etag string
	cmd := &cobra.Command{
		Use:               "start ID",
		Short:             "Start a draft: its audience is split from now on",
		Example:           "  switchyard experiment start checkout-ab",
		Args:              argsNamed("ID"),
		ValidArgsFunction: c.completeArgs(kindExperiments),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out pb.Experiment
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("experiments", args[0])+":start", map[string]any{"etag": etag}, &out)
			if err != nil {
				return err
			}
			return c.printExperiment(raw, &out)
		},
	}
	cmd.Flags().StringVar(&etag, "etag", "", "refuse the call unless the experiment's etag is this")
	return cmd
}

func newExperimentStopCmd(c *cli) *cobra.Command {
	var ship, reason, etag, releaseID, releaseModel string
	var revert bool
	cmd := &cobra.Command{
		Use:   "stop ID",
		Short: "Stop a running experiment: --ship VARIANT or --revert",
		Example: `  switchyard experiment stop checkout-ab --ship on --reason "more purchases"
  switchyard experiment stop checkout-ab --revert`,
		Args:              argsNamed("ID"),
		ValidArgsFunction: c.completeArgs(kindExperiments),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"reason": reason, "etag": etag}
			switch {
			case ship != "" && revert, ship == "" && !revert:
				return usageError{errors.New("experiment stop: pass either --ship VARIANT or --revert")}
			case revert:
				body["decision"] = "revert"
			default:
				body["decision"], body["variant"] = "ship", ship
				body["release_id"], body["release_model"] = releaseID, releaseModel
			}
			var out pb.Experiment
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("experiments", args[0])+":stop", body, &out)
			if err != nil {
				return err
			}
			return c.printExperiment(raw, &out)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&ship, "ship", "", "ship this variant: a release of it starts in the experiment's environment")
	fs.StringVar(&releaseID, "release-id", "", "with --ship: the release's id (default ID-ship)")
	fs.StringVar(&releaseModel, "release-model", "", "with --ship: the release model the release follows (default: one stage, everyone, manual gate)")
	fs.BoolVar(&revert, "revert", false, "leave the flag as it was before the experiment")
	fs.StringVar(&reason, "reason", "", "why, recorded with the decision")
	fs.StringVar(&etag, "etag", "", "refuse the call unless the experiment's etag is this")
	return cmd
}

func newExperimentResultsCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:               "results ID",
		Short:             "Show an experiment's results: a table per metric, the SRM check and the verdict",
		Example:           "  switchyard experiment results checkout-ab",
		Args:              argsNamed("ID"),
		ValidArgsFunction: c.completeArgs(kindExperiments),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res pb.ExperimentResults
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path("experiments", args[0], "results"), nil, &res)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { renderResults(w, &res) })
		},
	}
}

func newMetricCreateCmd(c *cli) *cobra.Command {
	m := &pb.Metric{}
	cmd := &cobra.Command{
		Use:   "create KEY",
		Short: "Define a metric: --kind conversion|mean [--event KEY] [--direction higher|lower]",
		Example: `  switchyard metric create purchase --kind conversion
  switchyard metric create order-value --kind mean --event purchase`,
		Args: argsNamed("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m.Key = args[0]
			var out pb.Metric
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("metrics"), m, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "metric %s: %s of event %s, %s is better\n", out.GetKey(), out.GetKind(), metricEvent(&out), out.GetDirection())
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&m.Kind, "kind", "conversion", "conversion (did the unit send the event) or mean (the sum of its values)")
	fs.StringVar(&m.EventKey, "event", "", "key of the track events counted (default: the metric's key)")
	fs.StringVar(&m.Direction, "direction", "higher", "which way is better: higher or lower")
	fs.StringVar(&m.Description, "description", "", "description")
	return cmd
}

func newMetricListCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the project's metrics",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out pb.ListMetricsResponse
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path("metrics")+"?page_size=1000", nil, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintln(w, "KEY\tKIND\tEVENT\tBETTER")
				for _, m := range out.GetMetrics() {
					dir := m.GetDirection()
					if dir == "" {
						dir = "higher"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", m.GetKey(), m.GetKind(), metricEvent(m), dir)
				}
			})
		},
	}
}

func metricEvent(m *pb.Metric) string {
	if m.GetEventKey() != "" {
		return m.GetEventKey()
	}
	return m.GetKey()
}

// experimentSummary is one line about an experiment.
func experimentSummary(e *pb.Experiment) string {
	s := fmt.Sprintf("experiment %s: %s on flag %s in %s", e.GetId(), e.GetStatus(), e.GetFlag(), e.GetEnvironment())
	if d := e.GetDecision(); d != nil {
		s += ", decision " + d.GetAction()
		if d.GetVariant() != "" {
			s += " " + d.GetVariant()
		}
		if d.GetRelease() != "" {
			s += " by release " + d.GetRelease()
		}
	}
	return s
}

// renderResults writes an experiment's results: a header, a table per
// metric (tab-separated columns), the sample-ratio check and the verdict.
func renderResults(w io.Writer, r *pb.ExperimentResults) {
	fmt.Fprintf(w, "experiment %s: %s on flag %s in %s", r.GetExperiment(), r.GetStatus(), r.GetFlag(), r.GetEnvironment())
	if r.GetMinSampleSize() > 0 {
		fmt.Fprintf(w, ", minimum sample %d per variant", r.GetMinSampleSize())
	}
	fmt.Fprintln(w)
	for _, m := range r.GetMetrics() {
		fmt.Fprintln(w)
		role := "guardrail"
		if m.GetPrimary() {
			role = "primary metric"
		}
		fmt.Fprintf(w, "%s %s (%s, %s is better)", role, m.GetMetric(), m.GetKind(), expDirection(m.GetDirection()))
		if g := m.GetGuardrail(); g != nil {
			fmt.Fprintf(w, ", tolerates %s", expSignedShare(-g.GetThreshold()*expSign(m.GetDirection())))
			if g.GetAction() != "" {
				fmt.Fprintf(w, ", then %s", g.GetAction())
			}
		}
		fmt.Fprintln(w)
		value := "CONVERSIONS\tRATE"
		if m.GetKind() == "mean" {
			value = "MEAN\tSTD ERR"
		}
		fmt.Fprintf(w, "VARIANT\tWEIGHT\tUNITS\t%s\tABS LIFT [95%% CI]\tREL LIFT [95%% CI]\tP-VALUE\tOUTCOME\tMIN SAMPLE\n", value)
		for i, v := range m.GetVariants() {
			a := r.GetArms()[i]
			name := v.GetVariant()
			if a.GetControl() {
				name += " (control)"
			}
			var vals string
			if m.GetKind() == "mean" {
				vals = fmt.Sprintf("%s\t%s", expNumber(v.Mean), expStdErr(v))
			} else {
				vals = fmt.Sprintf("%s\t%s", expCount(v.GetConversions()), expRate(v.Rate))
			}
			lift := func(x, lo, hi *float64, fmtv func(*float64) string) string {
				if a.GetControl() {
					return "-"
				}
				return fmt.Sprintf("%s [%s, %s]", fmtv(x), fmtv(lo), fmtv(hi))
			}
			absFmt := expSignedPoints
			if m.GetKind() == "mean" {
				absFmt = expSignedNumber
			}
			p, outcome := "-", "-"
			if !a.GetControl() {
				p, outcome = expPValue(v.PValue), v.GetOutcome()
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, expWeight(a.GetWeight()), expCount(v.GetUnits()), vals,
				lift(v.AbsLift, v.AbsCiLow, v.AbsCiHigh, absFmt), lift(v.RelLift, v.RelCiLow, v.RelCiHigh, expSignedPercent),
				p, outcome, expYesNo(a.GetMinSampleReached()))
		}
		if len(m.GetTripped()) > 0 {
			fmt.Fprintf(w, "TRIPPED by %s\n", strings.Join(m.GetTripped(), ", "))
		}
	}
	fmt.Fprintln(w)
	srm := r.GetSrm()
	switch {
	case srm.ChiSquare == nil:
		fmt.Fprintln(w, "sample ratio: not checked yet")
	case srm.GetMismatch():
		fmt.Fprintf(w, "sample ratio: MISMATCH (chi² %.2f, p = %s)\n", srm.GetChiSquare(), expPValue(srm.PValue))
	default:
		fmt.Fprintf(w, "sample ratio: ok (chi² %.2f, p = %s)\n", srm.GetChiSquare(), expPValue(srm.PValue))
	}
	fmt.Fprintf(w, "verdict: %s\n", r.GetVerdict())
}

func expDirection(direction string) string {
	if direction == "" {
		return "higher"
	}
	return direction
}

func expSign(direction string) float64 {
	if direction == "lower" {
		return -1
	}
	return 1
}

// expStdErr is the standard error of a variant's mean, from its sums.
func expStdErr(v *pb.MetricVariantResult) string {
	n := float64(v.GetUnits())
	if n < 2 {
		return "-"
	}
	mean := v.GetSum() / n
	variance := math.Max(0, (v.GetSumSq()-n*mean*mean)/(n-1))
	return strconv.FormatFloat(math.Sqrt(variance/n), 'g', 3, 64)
}

// expWeight formats a weight out of 100000 as a percentage.
func expWeight(w int32) string {
	return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(float64(w)/1000, 'f', 3, 64), "0"), ".") + "%"
}

// expCount formats a count with thousands separators: 49,888.
func expCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func expRate(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100**v)
}

func expSignedShare(v float64) string { return fmt.Sprintf("%+.1f%%", 100*v) }

func expSignedPercent(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return expSignedShare(*v)
}

// expSignedPoints formats a difference of rates in percentage points.
func expSignedPoints(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%+.2fpp", 100**v)
}

func expNumber(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'g', 4, 64)
}

func expSignedNumber(v *float64) string {
	if v == nil {
		return "n/a"
	}
	s := strconv.FormatFloat(*v, 'g', 3, 64)
	if *v >= 0 {
		s = "+" + s
	}
	return s
}

func expPValue(v *float64) string {
	switch {
	case v == nil:
		return "n/a"
	case *v < 0.0001:
		return "<0.0001"
	case *v < 0.001:
		return fmt.Sprintf("%.4f", *v)
	}
	return fmt.Sprintf("%.3f", *v)
}

func expYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
