package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// deliveryFlags are the flags of "release report" that ask for the
// delivery metrics of a period (--period) instead of the release KPIs.
type deliveryFlags struct {
	period, model  string
	incidentWindow time.Duration
}

// register adds the flags to fs.
func (f *deliveryFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.period, "period", "", "delivery metrics (DORA four keys) of this period before --to: 90d, 12w or 36h")
	fs.StringVar(&f.model, "model", "", "with --period: only releases created from this release model")
	fs.DurationVar(&f.incidentWindow, "incident-window", 0, "with --period: how long after completion an incident fails a release (default: the server's, 168h)")
}

// deliveryQuery is the query of GET .../delivery: the period before to
// (RFC 3339, "" for now), the environment, the model, the incident window
// and the tolerance.
func deliveryQuery(f deliveryFlags, to, env string, tolerance time.Duration) (url.Values, error) {
	q := url.Values{"period": {f.period}}
	if to != "" {
		t, err := time.Parse(time.RFC3339, to)
		if err != nil {
			return nil, usageError{fmt.Errorf("--to %q: want an RFC 3339 time such as 2030-03-01T00:00:00Z", to)}
		}
		q.Set("end", t.UTC().Format(time.RFC3339Nano))
	}
	for name, v := range map[string]string{"environment": env, "model": f.model} {
		if v != "" {
			q.Set(name, v)
		}
	}
	for name, d := range map[string]time.Duration{"incident_window": f.incidentWindow, "tolerance": tolerance} {
		if d < 0 {
			return nil, usageError{fmt.Errorf("--%s %s: want a positive duration", strings.ReplaceAll(name, "_", "-"), d)}
		}
		if d > 0 {
			q.Set(name, fmt.Sprintf("%gs", d.Seconds()))
		}
	}
	return q, nil
}

// releaseDelivery prints the delivery metrics the flags ask for.
func releaseDelivery(ctx context.Context, c *cli, f deliveryFlags, to, env string, tolerance time.Duration) error {
	q, err := deliveryQuery(f, to, env, tolerance)
	if err != nil {
		return err
	}
	var d pb.DeliveryMetrics
	raw, err := c.call(ctx, http.MethodGet, c.path("delivery")+"?"+q.Encode(), nil, &d)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) { writeDelivery(w, &d) })
}

// releaseRecord prints the record of one release: its stages planned and
// taken, its incidents and its review.
func releaseRecord(ctx context.Context, c *cli, id string) error {
	var r pb.Release
	raw, err := c.call(ctx, http.MethodGet, c.path("releases", id), nil, &r)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) { writeReleaseRecord(w, &r) })
}

// writeDelivery writes delivery metrics: the four keys and the other
// figures as rows, a column for every release selected and one per
// environment and per release model, then the weekly trend.
func writeDelivery(w io.Writer, d *pb.DeliveryMetrics) {
	scope := "project " + d.GetProject()
	if d.GetEnvironment() != "" {
		scope += ", environment " + d.GetEnvironment()
	}
	if d.GetModel() != "" {
		scope += ", model " + d.GetModel()
	}
	fmt.Fprintf(w, "delivery metrics, %s\n", scope)
	fmt.Fprintf(w, "period %s to %s; failed: rolled back or an incident within %s; on schedule within %s\n\n",
		formatTime(d.GetStart()), formatTime(d.GetEnd()), d.GetIncidentWindow().AsDuration(), d.GetTolerance().AsDuration())

	all := &pb.DeliveryGroup{Completed: d.GetCompleted(), RolledBack: d.GetRolledBack(), ReleaseFrequency: d.ReleaseFrequency,
		LeadTime: d.GetLeadTime(), Changes: d.GetChanges(), FailedChanges: d.GetFailedChanges(), ChangeFailureRate: d.ChangeFailureRate,
		TimeToRestore: d.GetTimeToRestore(), TimedSteps: d.GetTimedSteps(), OnTimeSteps: d.GetOnTimeSteps(), ScheduleAdherence: d.ScheduleAdherence}
	groups := []*pb.DeliveryGroup{all}
	header := []string{"", "ALL"}
	for _, g := range d.GetByEnvironment() {
		groups, header = append(groups, g), append(header, strings.ToUpper(g.GetEnvironment()))
	}
	for _, g := range d.GetByModel() {
		name := "MODEL " + strings.ToUpper(g.GetModel())
		if g.GetModel() == "" {
			name = "(NO MODEL)"
		}
		groups, header = append(groups, g), append(header, name)
	}
	fmt.Fprintln(w, strings.Join(header, "\t"))
	row := func(name string, cell func(g *pb.DeliveryGroup) string) {
		cells := []string{name}
		for _, g := range groups {
			cells = append(cells, cell(g))
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	row("release frequency", func(g *pb.DeliveryGroup) string { return fmt.Sprintf("%.2f/week", g.GetReleaseFrequency()) })
	row("lead time (median)", func(g *pb.DeliveryGroup) string { return medianText(g.GetLeadTime()) })
	row("change failure rate", func(g *pb.DeliveryGroup) string {
		return share(g.ChangeFailureRate) + fmt.Sprintf(" (%d of %d)", g.GetFailedChanges(), g.GetChanges())
	})
	row("time to restore (median)", func(g *pb.DeliveryGroup) string { return medianText(g.GetTimeToRestore()) })
	row("completed", func(g *pb.DeliveryGroup) string { return fmt.Sprint(g.GetCompleted()) })
	row("rolled back", func(g *pb.DeliveryGroup) string { return fmt.Sprint(g.GetRolledBack()) })
	row("schedule adherence", func(g *pb.DeliveryGroup) string {
		return share(g.ScheduleAdherence) + fmt.Sprintf(" (%d of %d)", g.GetOnTimeSteps(), g.GetTimedSteps())
	})

	fmt.Fprintln(w)
	fmt.Fprintln(w, "WEEK OF\tCOMPLETED\tROLLED BACK\tFAILURE RATE\tLEAD TIME\tTIME TO RESTORE")
	for _, wk := range d.GetWeeks() {
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\n", wk.GetStart().AsTime().UTC().Format("2006-01-02"), wk.GetCompleted(), wk.GetRolledBack(),
			share(wk.ChangeFailureRate), medianText(wk.GetLeadTime()), medianText(wk.GetTimeToRestore()))
	}
}

// medianText prints a distribution's median and count, "-" when empty.
func medianText(d *pb.DeliveryDuration) string {
	if d.GetCount() == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%d)", time.Duration(math.Round(d.GetMedianSeconds()))*time.Second, d.GetCount())
}

// writeReleaseRecord writes what a release records: its state, each
// stage planned and taken with its lead time, its incidents and review.
func writeReleaseRecord(w io.Writer, r *pb.Release) {
	fmt.Fprintf(w, "release %s in %s: %s", r.GetId(), r.GetEnvironment(), r.GetState())
	if r.GetModel() != "" {
		fmt.Fprintf(w, ", model %s", r.GetModel())
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "STAGE\tNAME\tGATE\tSTATE\tPLANNED\tENTERED\tLEFT\tLEAD TIME\tLATE")
	for _, st := range r.GetSteps() {
		lead, late := "-", ""
		if st.GetExitTime() != nil {
			lead = (time.Duration(math.Round(st.GetLeadTimeSeconds())) * time.Second).String()
		}
		if st.GetLate() {
			late = (time.Duration(math.Round(st.GetDelaySeconds())) * time.Second).String()
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.GetStage(), orDash(st.GetName()), st.GetGate(), st.GetState(),
			formatTime(st.GetPlannedTime()), formatTime(st.GetEnterTime()), formatTime(st.GetExitTime()), lead, late)
	}
	fmt.Fprintln(w)
	if len(r.GetIncidents()) == 0 {
		fmt.Fprintln(w, "incidents\t-")
	}
	for i, in := range r.GetIncidents() {
		name := ""
		if i == 0 {
			name = "incidents"
		}
		fmt.Fprintf(w, "%s\t%s\t%s at stage %d\t%s\n", name, formatTime(in.GetTime()), in.GetSeverity(), in.GetStage(), in.GetNote())
	}
	if rv := r.GetReview(); rv != nil {
		fmt.Fprintf(w, "review\t%s by %s\t%s\n", rv.GetOutcome(), rv.GetAuthor(), rv.GetLessonsLearned())
	} else {
		fmt.Fprintln(w, "review\t-")
	}
}

// writeReleaseNotes writes the release notes of an availability answer,
// one a line: release, version, language and text.
func writeReleaseNotes(w io.Writer, notes []*sdkpb.ReleaseNote) {
	for i, n := range notes {
		name := ""
		if i == 0 {
			name = "release notes"
		}
		lang := ""
		if n.GetLanguage() != "" {
			lang = " [" + n.GetLanguage() + "]"
		}
		fmt.Fprintf(w, "%s\t%s %s%s  %s\n", name, n.GetRelease(), n.GetVersion(), lang, n.GetNotes())
	}
}
