package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// runSegment runs "switchyard segment COMMAND".
func runSegment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runGroup(ctx, "segment", []subcommand{
		{"keys", "a segment's include or exclude keys: add, remove, replace, list", runSegmentKeys},
	}, args, stdout, stderr)
}

func runSegmentKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	upload := func(op, method, suffix string) func(context.Context, []string, io.Writer, io.Writer) error {
		return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return runSegmentKeysUpload(ctx, op, method, suffix, args, stdout, stderr)
		}
	}
	return runGroup(ctx, "segment keys", []subcommand{
		{"add", "add the keys of FILE (one per line; - or none: standard input)", upload("add", http.MethodPost, "")},
		{"remove", "remove the keys of FILE", upload("remove", http.MethodPost, "/remove")},
		{"replace", "make the list exactly the keys of FILE, in one revision", upload("replace", http.MethodPut, "")},
		{"list", "print the keys of the list, one per line", runSegmentKeysList},
	}, args, stdout, stderr)
}

// keyListOf is the list the --exclude flag names.
func keyListOf(exclude bool) string {
	if exclude {
		return "exclude"
	}
	return "include"
}

// runSegmentKeysUpload streams a file of keys to the list's REST route,
// showing progress when stderr is a terminal.
func runSegmentKeysUpload(ctx context.Context, op, method, suffix string, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("segment keys "+op, "segment keys "+op+" [flags] SEGMENT [FILE|-]", stdout, stderr)
	exclude := fs.Bool("exclude", false, "change the exclude list instead of the include list")
	rest, err := a.parse(fs, args, "SEGMENT", "[FILE]")
	if err != nil {
		return err
	}
	in, size := io.Reader(os.Stdin), int64(-1)
	if len(rest) == 2 && rest[1] != "-" {
		f, err := os.Open(rest[1])
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
	if isTerminal(stderr) {
		stop := showProgress(stderr, body, size)
		defer stop()
	}
	path := a.path("segments", rest[0], "keys", keyListOf(*exclude)) + suffix
	req, err := http.NewRequestWithContext(ctx, method, a.client.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.client.token)
	req.Header.Set("Content-Type", "text/plain")
	// An upload takes as long as it takes: no client timeout.
	hc := &http.Client{Transport: a.client.http.Transport}
	a.raw = nil
	if err := a.client.send(hc, req, &a.raw); err != nil {
		return err
	}
	var resp pb.EditSegmentKeysResponse
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(a.raw, &resp); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return a.show(func(w io.Writer) {
		fmt.Fprintf(w, "added\t%d\nremoved\t%d\ncount\t%d\nrevision\t%d\n", resp.GetAdded(), resp.GetRemoved(), resp.GetCount(), resp.GetRevision())
	})
}

func runSegmentKeysList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("segment keys list", "segment keys list [flags] SEGMENT", stdout, stderr)
	exclude := fs.Bool("exclude", false, "list the exclude list instead of the include list")
	rest, err := a.parse(fs, args, "SEGMENT")
	if err != nil {
		return err
	}
	base := a.path("segments", rest[0], "keys", keyListOf(*exclude)) + "?page_size=1000"
	token := ""
	for {
		var page pb.ListSegmentKeysResponse
		path := base
		if token != "" {
			path += "&page_token=" + url.QueryEscape(token)
		}
		if err := a.fetch(ctx, http.MethodGet, path, nil, &page); err != nil {
			return err
		}
		if a.json {
			if err := a.show(nil); err != nil {
				return err
			}
		} else {
			for _, k := range page.GetKeys() {
				if _, err := fmt.Fprintln(stdout, k); err != nil {
					return err
				}
			}
		}
		if token = page.GetNextPageToken(); token == "" {
			return nil
		}
	}
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
