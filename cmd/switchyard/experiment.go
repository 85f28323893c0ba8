package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// experimentCommands are the commands of "switchyard experiment".
func experimentCommands() []subcommand {
	return []subcommand{
		{"create", "draft an experiment from a YAML or JSON file (the REST body)", runExperimentCreate},
		{"list", "list the project's experiments", runExperimentList},
		{"start", "start a draft: its audience is split from now on", runExperimentStart},
		{"stop", "stop a running experiment: --ship VARIANT or --revert", runExperimentStop},
		{"results", "show an experiment's results: a table per metric, the SRM check and the verdict", runExperimentResults},
	}
}

func runExperiment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runGroup(ctx, "experiment", experimentCommands(), args, stdout, stderr)
}

// metricCommands are the commands of "switchyard metric".
func metricCommands() []subcommand {
	return []subcommand{
		{"create", "define a metric: --kind conversion|mean [--event KEY] [--direction higher|lower]", runMetricCreate},
		{"list", "list the project's metrics", runMetricList},
	}
}

func runMetric(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runGroup(ctx, "metric", metricCommands(), args, stdout, stderr)
}

func runExperimentCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("experiment create", "experiment create [flags] FILE", stdout, stderr)
	args, err := a.parse(fs, args, "FILE")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var e pb.Experiment
	if err := decodeYAMLOrJSON(data, &e); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	var out pb.Experiment
	if err := a.fetch(ctx, http.MethodPost, a.path("experiments"), &e, &out); err != nil {
		return err
	}
	return a.show(func(w io.Writer) { fmt.Fprintln(w, experimentSummary(&out)) })
}

func runExperimentList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("experiment list", "experiment list [flags]", stdout, stderr)
	if _, err := a.parse(fs, args); err != nil {
		return err
	}
	var out pb.ListExperimentsResponse
	if err := a.fetch(ctx, http.MethodGet, a.path("experiments")+"?page_size=1000", nil, &out); err != nil {
		return err
	}
	return a.show(func(w io.Writer) {
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
}

func runExperimentStart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("experiment start", "experiment start [flags] ID", stdout, stderr)
	var etag string
	fs.StringVar(&etag, "etag", "", "refuse the call unless the experiment's etag is this")
	args, err := a.parse(fs, args, "ID")
	if err != nil {
		return err
	}
	var out pb.Experiment
	if err := a.fetch(ctx, http.MethodPost, a.path("experiments", args[0])+":start", map[string]any{"etag": etag}, &out); err != nil {
		return err
	}
	return a.show(func(w io.Writer) { fmt.Fprintln(w, experimentSummary(&out)) })
}

func runExperimentStop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("experiment stop", "experiment stop [flags] ID", stdout, stderr)
	var ship, reason, etag, releaseID, releaseModel string
	var revert bool
	fs.StringVar(&ship, "ship", "", "ship this variant: a release of it starts in the experiment's environment")
	fs.StringVar(&releaseID, "release-id", "", "with --ship: the release's id (default ID-ship)")
	fs.StringVar(&releaseModel, "release-model", "", "with --ship: the release model the release follows (default: one stage, everyone, manual gate)")
	fs.BoolVar(&revert, "revert", false, "leave the flag as it was before the experiment")
	fs.StringVar(&reason, "reason", "", "why, recorded with the decision")
	fs.StringVar(&etag, "etag", "", "refuse the call unless the experiment's etag is this")
	args, err := a.parse(fs, args, "ID")
	if err != nil {
		return err
	}
	body := map[string]any{"reason": reason, "etag": etag}
	switch {
	case ship != "" && revert, ship == "" && !revert:
		return errors.New("experiment stop: pass either --ship VARIANT or --revert")
	case revert:
		body["decision"] = "revert"
	default:
		body["decision"], body["variant"] = "ship", ship
		body["release_id"], body["release_model"] = releaseID, releaseModel
	}
	var out pb.Experiment
	if err := a.fetch(ctx, http.MethodPost, a.path("experiments", args[0])+":stop", body, &out); err != nil {
		return err
	}
	return a.show(func(w io.Writer) { fmt.Fprintln(w, experimentSummary(&out)) })
}

func runExperimentResults(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("experiment results", "experiment results [flags] ID", stdout, stderr)
	args, err := a.parse(fs, args, "ID")
	if err != nil {
		return err
	}
	var res pb.ExperimentResults
	if err := a.fetch(ctx, http.MethodGet, a.path("experiments", args[0], "results"), nil, &res); err != nil {
		return err
	}
	return a.show(func(w io.Writer) { renderResults(w, &res) })
}

func runMetricCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("metric create", "metric create [flags] KEY", stdout, stderr)
	m := &pb.Metric{}
	fs.StringVar(&m.Kind, "kind", "conversion", "conversion (did the unit send the event) or mean (the sum of its values)")
	fs.StringVar(&m.EventKey, "event", "", "key of the track events counted (default: the metric's key)")
	fs.StringVar(&m.Direction, "direction", "higher", "which way is better: higher or lower")
	fs.StringVar(&m.Description, "description", "", "description")
	args, err := a.parse(fs, args, "KEY")
	if err != nil {
		return err
	}
	m.Key = args[0]
	var out pb.Metric
	if err := a.fetch(ctx, http.MethodPost, a.path("metrics"), m, &out); err != nil {
		return err
	}
	return a.show(func(w io.Writer) {
		fmt.Fprintf(w, "metric %s: %s of event %s, %s is better\n", out.GetKey(), out.GetKind(), metricEvent(&out), out.GetDirection())
	})
}

func runMetricList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("metric list", "metric list [flags]", stdout, stderr)
	if _, err := a.parse(fs, args); err != nil {
		return err
	}
	var out pb.ListMetricsResponse
	if err := a.fetch(ctx, http.MethodGet, a.path("metrics")+"?page_size=1000", nil, &out); err != nil {
		return err
	}
	return a.show(func(w io.Writer) {
		fmt.Fprintln(w, "KEY\tKIND\tEVENT\tBETTER")
		for _, m := range out.GetMetrics() {
			dir := m.GetDirection()
			if dir == "" {
				dir = "higher"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", m.GetKey(), m.GetKind(), metricEvent(m), dir)
		}
	})
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
