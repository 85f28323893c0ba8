package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newAuditCmd is "switchyard audit": the audit log, newest event first.
func newAuditCmd(c *cli) *cobra.Command {
	var resource, actor, since string
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [--resource KIND/KEY] [--actor A] [--since T] [--limit N]",
		Short: "Read the audit log of the project, newest event first",
		Long: `Read the audit log of the project, newest event first: who changed what,
when, and the environment revision it made.

--resource KIND/KEY keeps the events of one resource and what lies under
it (flag/new-checkout also lists its targeting changes; kinds: project,
environment, segment, flag, component, release, release-model, experiment,
metric, webhook, key); a full resource name (projects/shop/flags/x) works
too. --actor keeps the events of one key name, key ID or principal.
--since is an RFC 3339 time or a duration back from now (24h, 90m).
The command pages through the API until --limit events are found.`,
		Args: argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return usageError{fmt.Errorf("--limit %d: must be at least 1", limit)}
			}
			name, err := c.resourceName(resource)
			if err != nil {
				return usageError{err}
			}
			var after time.Time
			if since != "" {
				if after, err = parseSince(since, time.Now()); err != nil {
					return usageError{err}
				}
			}
			project := c.project
			if strings.HasPrefix(name, "apikeys/") {
				project = "" // keys belong to no project
			}
			var events []json.RawMessage
			var shown []*pb.AuditEvent
			token := ""
		pages:
			for {
				path := withQuery("/api/v1/audit-events", "project", project, "resource", name,
					"page_size", strconv.Itoa(min(limit, listPageSize)), "page_token", token)
				raw, err := c.call(cmd.Context(), http.MethodGet, path, nil, nil)
				if err != nil {
					return err
				}
				var page struct {
					Events        []json.RawMessage `json:"events"`
					NextPageToken string            `json:"next_page_token"`
				}
				if err := json.Unmarshal(raw, &page); err != nil {
					return fmt.Errorf("GET %s: decode answer: %w", path, err)
				}
				for _, data := range page.Events {
					var e pb.AuditEvent
					if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &e); err != nil {
						return fmt.Errorf("GET %s: decode answer: %w", path, err)
					}
					if !after.IsZero() && e.GetTime().AsTime().Before(after) {
						break pages // newest first: the rest is older still
					}
					if actor != "" && actor != e.GetActor() && actor != e.GetActorKey() && actor != e.GetActorPrincipal() {
						continue
					}
					events, shown = append(events, data), append(shown, &e)
					if len(shown) == limit {
						break pages
					}
				}
				if token = page.NextPageToken; token == "" {
					break
				}
			}
			raw, err := json.Marshal(map[string][]json.RawMessage{"events": events})
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				if len(shown) == 0 {
					fmt.Fprintln(w, "no audit events")
					return
				}
				fmt.Fprintln(w, "TIME\tACTOR\tACTION\tRESOURCE\tENVIRONMENT\tREVISION")
				for _, e := range shown {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\n", e.GetTime().AsTime().UTC().Format(time.RFC3339), orDash(e.GetActor()),
						e.GetAction(), e.GetResource(), orDash(e.GetEnvironment()), e.GetRevision())
				}
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&resource, "resource", "", "only events of this resource, KIND/KEY (flag/new-checkout)")
	fl.StringVar(&actor, "actor", "", "only events by this key name, key ID or principal")
	fl.StringVar(&since, "since", "", "only events since this RFC 3339 time, or this long ago (24h)")
	fl.IntVar(&limit, "limit", 50, "at most this many events")
	return cmd
}

// resourceName is the audit resource name --resource KIND/KEY stands for
// in the project: flag/x is projects/{project}/flags/x, project/p is
// projects/p, key/ID is apikeys/ID. A name that starts with projects/ or
// apikeys/ is taken as it is.
func (c *cli) resourceName(s string) (string, error) {
	if s == "" || strings.HasPrefix(s, "projects/") || strings.HasPrefix(s, "apikeys/") {
		return s, nil
	}
	kind, key, ok := strings.Cut(s, "/")
	if !ok || kind == "" || key == "" {
		return "", fmt.Errorf("--resource %q: want KIND/KEY, such as flag/new-checkout", s)
	}
	switch kind {
	case "project":
		return "projects/" + key, nil
	case "key", "apikey":
		return "apikeys/" + key, nil
	case "environment", "segment", "flag", "component", "release", "release-model", "experiment", "metric", "webhook":
		return "projects/" + c.project + "/" + strings.ReplaceAll(kind, "-", "_") + "s/" + key, nil
	}
	return "", fmt.Errorf("--resource %q: unknown kind %q", s, kind)
}

// parseSince parses --since: an RFC 3339 time, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time (2026-01-02T15:04:05Z) or a duration (24h)", s)
	}
	return now.Add(-d), nil
}
