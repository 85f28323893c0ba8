package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// flagCommands are the commands of "switchyard flag".
func flagCommands() []subcommand {
	return []subcommand{
		{"stale", "list flags no SDK exposed and the server did not evaluate for days, or ever", runFlagStale},
	}
}

func runFlag(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runGroup(ctx, "flag", flagCommands(), args, stdout, stderr)
}

func runFlagStale(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("flag stale", "flag stale [flags]", stdout, stderr)
	days := fs.Int("days", 30, "days without an exposure or evaluation in any environment that make a flag stale")
	if _, err := a.parse(fs, args); err != nil {
		return err
	}
	if *days < 1 {
		return fmt.Errorf("--days %d: must be at least 1", *days)
	}
	var resp pb.ListStaleFlagsResponse
	if err := a.fetch(ctx, http.MethodGet, a.path()+"/flags:stale?days="+strconv.Itoa(*days), nil, &resp); err != nil {
		return err
	}
	return a.show(func(w io.Writer) {
		if len(resp.GetFlags()) == 0 {
			fmt.Fprintf(w, "no flag of %s unused for %d days\n", a.project, resp.GetDays())
			return
		}
		fmt.Fprintln(w, "FLAG\tLAST SEEN\tENVIRONMENTS")
		for _, f := range resp.GetFlags() {
			envs := make([]string, 0, len(f.GetEnvironments()))
			for _, e := range f.GetEnvironments() {
				envs = append(envs, e.GetEnvironment()+" "+seenText(e.GetLastSeen().AsTime(), e.GetLastSeen() != nil))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", f.GetFlag(), seenText(f.GetLastSeen().AsTime(), f.GetLastSeen() != nil), strings.Join(envs, ", "))
		}
	})
}

// seenText is a last-seen time for a table: "never" when there is none.
func seenText(t time.Time, ok bool) string {
	if !ok {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
