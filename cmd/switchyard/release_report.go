package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
)

func newReleaseReportCmd(c *cli) *cobra.Command {
	var from, to, env string
	var days int
	var tolerance time.Duration
	var df deliveryFlags
	cmd := &cobra.Command{
		Use:   "report [ID]",
		Short: "Show the release KPIs of a period, its delivery metrics (--period), or one release's record (ID)",
		Example: `  switchyard release report --days 90
  switchyard release report --from 2030-01-01T00:00:00Z --to 2030-04-01T00:00:00Z --environment production
  switchyard release report --period 90d --environment production --output json
  switchyard release report ios-240-de`,
		Args:              argsNamed("[ID]"),
		ValidArgsFunction: c.completeArgs(kindReleases),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 1:
				return releaseRecord(cmd.Context(), c, args[0])
			case df.period != "":
				return releaseDelivery(cmd.Context(), c, df, to, env, tolerance)
			}
			return releaseReport(cmd.Context(), c, from, to, env, days, tolerance)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&from, "from", "", "start of the period, RFC 3339 (default: --days before --to)")
	fs.StringVar(&to, "to", "", "end of the period, RFC 3339, exclusive (default: now)")
	fs.IntVar(&days, "days", 0, "length of the period in days, when --from is not given (default: the server's, 30)")
	fs.StringVar(&env, "environment", "", "only releases of this environment")
	fs.DurationVar(&tolerance, "tolerance", 0, "how late a timed step may run and count as on schedule (default: the server's, 5m)")
	df.register(fs)
	c.completeFlag(cmd, "environment", kindEnvironments)
	return cmd
}

// releaseReport asks for the report of the period the flags give and
// prints it.
func releaseReport(ctx context.Context, c *cli, from, to, env string, days int, tolerance time.Duration) error {
	q := url.Values{}
	var end time.Time
	for _, t := range []struct {
		flag, value, param string
		dst                *time.Time
	}{{"--to", to, "end", &end}, {"--from", from, "start", nil}} {
		if t.value == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.value)
		if err != nil {
			return usageError{fmt.Errorf("%s %q: want an RFC 3339 time such as 2030-03-01T00:00:00Z", t.flag, t.value)}
		}
		q.Set(t.param, v.UTC().Format(time.RFC3339Nano))
		if t.dst != nil {
			*t.dst = v
		}
	}
	if days < 0 {
		return usageError{fmt.Errorf("--days %d: want a positive number of days", days)}
	}
	if days > 0 && from == "" {
		if end.IsZero() {
			end = time.Now()
		}
		q.Set("start", end.Add(-time.Duration(days)*24*time.Hour).UTC().Format(time.RFC3339Nano))
	}
	if env != "" {
		q.Set("environment", env)
	}
	if tolerance > 0 {
		q.Set("tolerance", fmt.Sprintf("%gs", tolerance.Seconds()))
	}
	var rep pb.ReleaseReport
	path := c.path("release-report")
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	raw, err := c.call(ctx, http.MethodGet, path, nil, &rep)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) { writeReport(w, &rep) })
}

// writeReport writes a release report: a row per KPI, a column for all
// releases and one per release model.
func writeReport(w io.Writer, rep *pb.ReleaseReport) {
	scope := "project " + rep.GetProject()
	if rep.GetEnvironment() != "" {
		scope += ", environment " + rep.GetEnvironment()
	}
	fmt.Fprintf(w, "release report, %s\n", scope)
	fmt.Fprintf(w, "period %s to %s, on schedule within %s\n\n", formatTime(rep.GetStart()), formatTime(rep.GetEnd()),
		rep.GetTolerance().AsDuration())

	groups := append([]*pb.ReleaseReportGroup{rep.GetOverall()}, rep.GetByModel()...)
	header := []string{"", "ALL"}
	for _, g := range rep.GetByModel() {
		name := strings.ToUpper(g.GetModel())
		if name == "" {
			name = "(no model)"
		}
		header = append(header, name)
	}
	fmt.Fprintln(w, strings.Join(header, "\t"))
	row := func(name string, cell func(g *pb.ReleaseReportGroup) string) {
		cells := []string{name}
		for _, g := range groups {
			cells = append(cells, cell(g))
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	count := func(n int32) string { return fmt.Sprint(n) }
	row("releases", func(g *pb.ReleaseReportGroup) string { return count(g.GetReleases()) })
	row("ended", func(g *pb.ReleaseReportGroup) string { return count(g.GetEnded()) })
	for _, st := range []model.ReleaseState{model.StateCompleted, model.StateRolledBack, model.StateCancelled} {
		row("  "+strings.ToLower(strings.ReplaceAll(string(st), "_", " ")), func(g *pb.ReleaseReportGroup) string {
			return count(g.GetOutcomes()[string(st)])
		})
	}
	row("success rate", func(g *pb.ReleaseReportGroup) string { return share(g.SuccessRate) })
	row("rollbacks", func(g *pb.ReleaseReportGroup) string { return count(g.GetRollbacks()) })
	row("timed steps", func(g *pb.ReleaseReportGroup) string {
		return fmt.Sprintf("%d (%d on time)", g.GetTimedSteps(), g.GetOnTimeSteps())
	})
	row("schedule adherence", func(g *pb.ReleaseReportGroup) string { return share(g.ScheduleAdherence) })
	for _, stage := range leadTimeStages(groups) {
		row(fmt.Sprintf("lead time, stage %d", stage), func(g *pb.ReleaseReportGroup) string { return leadTime(g, stage) })
	}
	row("backlog", func(g *pb.ReleaseReportGroup) string { return count(g.GetBacklogTotal()) + breakdown(g.GetBacklog()) })
	row("incidents", func(g *pb.ReleaseReportGroup) string {
		return count(g.GetIncidentsTotal()) + breakdown(g.GetIncidents())
	})
	row("reviews", func(g *pb.ReleaseReportGroup) string {
		n := int32(0)
		for _, v := range g.GetReviews() {
			n += v
		}
		return count(n) + breakdown(g.GetReviews())
	})
}

// share prints an optional ratio as a percentage, "-" when absent.
func share(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}

// breakdown prints counts by key, " (a 1, b 2)" sorted by key, or "".
func breakdown(m map[string]int32) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return ""
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", strings.ToLower(k), m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// leadTimeStages are the stage numbers with a lead time in any group, in
// order.
func leadTimeStages(groups []*pb.ReleaseReportGroup) []int32 {
	var stages []int32
	for _, g := range groups {
		for _, lt := range g.GetLeadTimes() {
			if !slices.Contains(stages, lt.GetStage()) {
				stages = append(stages, lt.GetStage())
			}
		}
	}
	slices.Sort(stages)
	return stages
}

// leadTime is a group's mean lead time of a stage, with the number of
// stages averaged and their name, "-" when it has none.
func leadTime(g *pb.ReleaseReportGroup, stage int32) string {
	for _, lt := range g.GetLeadTimes() {
		if lt.GetStage() != stage {
			continue
		}
		d := time.Duration(math.Round(lt.GetMeanSeconds())) * time.Second
		s := fmt.Sprintf("%s (%d", d, lt.GetCount())
		if lt.GetName() != "" {
			s += ", " + lt.GetName()
		}
		return s + ")"
	}
	return "-"
}
