package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newSegmentCmd is "switchyard segment": segments and their key lists.
func newSegmentCmd(c *cli) *cobra.Command {
	cmd := groupCmd("segment", "Segments and their key lists: list, get, create, delete, keys", newSegmentKeysCmd(c))
	cmd.AddCommand(newSegmentCRUDCmds(c)...)
	return cmd
}

func newSegmentKeysCmd(c *cli) *cobra.Command {
	cmd := groupCmd("keys", "A segment's include or exclude keys: add, remove, replace, list",
		newSegmentKeysUploadCmd(c, "add", "Add the keys of FILE (one per line; - or none: standard input)", http.MethodPost, ""),
		newSegmentKeysUploadCmd(c, "remove", "Remove the keys of FILE", http.MethodPost, "/remove"),
		newSegmentKeysUploadCmd(c, "replace", "Make the list exactly the keys of FILE, in one revision", http.MethodPut, ""),
		newSegmentKeysListCmd(c))
	cmd.Long = `A segment's include or exclude list of keys (--exclude for the exclude list),
which may hold millions: files of keys, one a line, stream to the server.`
	return cmd
}

// keyListOf is the list the --exclude flag names.
func keyListOf(exclude bool) string {
	if exclude {
		return "exclude"
	}
	return "include"
}

// newSegmentKeysUploadCmd streams a file of keys to the list's REST
// route, showing progress when standard error is a terminal.
func newSegmentKeysUploadCmd(c *cli, op, short, method, suffix string) *cobra.Command {
	var exclude bool
	cmd := &cobra.Command{
		Use:               op + " SEGMENT [FILE|-]",
		Short:             short,
		Example:           fmt.Sprintf("  switchyard segment keys %s beta-testers keys.txt\n  cat keys.txt | switchyard segment keys %s --exclude beta-testers -", op, op),
		Args:              argsNamed("SEGMENT", "[FILE]"),
		ValidArgsFunction: c.completeArgs(kindSegments, kindFile),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			in, size := cmd.InOrStdin(), int64(-1)
			if len(args) == 2 && args[1] != "-" {
				f, err := os.Open(args[1])
				if err != nil {
					return err
				}
				defer f.Close()
				if fi, err := f.Stat(); err == nil {
					size = fi.Size()
				}
				in = f
			}
			body := &countingReader{r: in}
			if isTerminal(c.stderr) {
				stop := showProgress(c.stderr, body, size)
				defer stop()
			}
			path := c.path("segments", args[0], "keys", keyListOf(exclude)) + suffix
			req, err := http.NewRequestWithContext(cmd.Context(), method, api.base+path, body)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+api.token)
			req.Header.Set("Content-Type", "text/plain")
			// An upload takes as long as it takes: no client timeout.
			hc := &http.Client{Transport: api.http.Transport}
			var raw json.RawMessage
			if err := api.send(hc, req, &raw); err != nil {
				return err
			}
			var resp pb.EditSegmentKeysResponse
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &resp); err != nil {
				return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "added\t%d\nremoved\t%d\ncount\t%d\nrevision\t%d\n", resp.GetAdded(), resp.GetRemoved(), resp.GetCount(), resp.GetRevision())
			})
		},
	}
	cmd.Flags().BoolVar(&exclude, "exclude", false, "change the exclude list instead of the include list")
	return cmd
}

func newSegmentKeysListCmd(c *cli) *cobra.Command {
	var exclude bool
	cmd := &cobra.Command{
		Use:   "list SEGMENT",
		Short: "Print the keys of the list, one per line",
		Long: `Print the keys of the list, one per line, page by page as the server sends
them; with --output json or yaml, each page as the API answers it.`,
		Args:              argsNamed("SEGMENT"),
		ValidArgsFunction: c.completeArgs(kindSegments),
		RunE: func(cmd *cobra.Command, args []string) error {
			base := c.path("segments", args[0], "keys", keyListOf(exclude)) + "?page_size=1000"
			token := ""
			for {
				var page pb.ListSegmentKeysResponse
				path := base
				if token != "" {
					path += "&page_token=" + url.QueryEscape(token)
				}
				raw, err := c.call(cmd.Context(), http.MethodGet, path, nil, &page)
				if err != nil {
					return err
				}
				if err := c.print(raw, func(w io.Writer) {
					for _, k := range page.GetKeys() {
						fmt.Fprintln(w, k)
					}
				}); err != nil {
					return err
				}
				if token = page.GetNextPageToken(); token == "" {
					return nil
				}
			}
		},
	}
	cmd.Flags().BoolVar(&exclude, "exclude", false, "list the exclude list instead of the include list")
	return cmd
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// showProgress redraws a progress line on w every 200 ms until the
// returned function is called (total < 0: unknown size).
func showProgress(w io.Writer, c *countingReader, total int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	draw := func() {
		n := c.n.Load()
		if total > 0 {
			fmt.Fprintf(w, "\ruploading: %.1f of %.1f MB (%d %%)", float64(n)/1e6, float64(total)/1e6, n*100/max(total, 1))
		} else {
			fmt.Fprintf(w, "\ruploading: %.1f MB", float64(n)/1e6)
		}
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				draw()
				fmt.Fprintln(w)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(done); <-finished }
}
