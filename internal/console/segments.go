package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// segmentsPage lists a project's segments.
type segmentsPage struct {
	Layout
	Segments []segmentRow
	// NewKey and NewDescription are the form that creates a segment.
	NewKey, NewDescription field
	Open                   bool
}

type segmentRow struct {
	Key, Description, Match      string
	Conditions, Include, Exclude int
}

func (c *Console) segmentList(w http.ResponseWriter, r *http.Request, s *Session) {
	p, err := c.loadSegments(r, s)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	c.render(w, http.StatusOK, "segments", p)
}

func (c *Console) loadSegments(r *http.Request, s *Session) (*segmentsPage, error) {
	p := &segmentsPage{Layout: c.layout(r, s, "Segments", "segments"),
		NewKey: field{Name: "key"}, NewDescription: field{Name: "description"}}
	token := ""
	for {
		resp, err := c.api.segments.ListSegments(call(r, s), &pb.ListSegmentsRequest{Project: p.Project, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, sg := range resp.GetSegments() {
			p.Segments = append(p.Segments, segmentRow{
				Key: sg.GetKey(), Description: sg.GetDescription(), Match: matchOf(sg),
				Conditions: len(sg.GetConditions()), Include: int(sg.GetIncludeCount()), Exclude: int(sg.GetExcludeCount()),
			})
		}
		if token = resp.GetNextPageToken(); token == "" {
			return p, nil
		}
	}
}

// createSegment creates an empty segment and opens it, where its
// conditions and key lists are edited.
func (c *Console) createSegment(w http.ResponseWriter, r *http.Request, s *Session) {
	p, err := c.loadSegments(r, s)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p.Open = true
	p.NewKey.Value = strings.TrimSpace(r.PostFormValue("key"))
	p.NewDescription.Value = strings.TrimSpace(r.PostFormValue("description"))
	_, err = c.api.segments.CreateSegment(call(r, s), &pb.CreateSegmentRequest{Project: p.Project, Segment: &pb.Segment{
		Key: p.NewKey.Value, Description: p.NewDescription.Value,
	}})
	if err == nil {
		c.sessions.notify(s, "Created segment "+p.NewKey.Value+"; add its conditions or upload its keys.")
		http.Redirect(w, r, "/segments/"+p.NewKey.Value, http.StatusSeeOther)
		return
	}
	e := errorOf(err)
	if e.Status != http.StatusBadRequest && e.Status != http.StatusConflict {
		c.apiFail(w, r, s, err)
		return
	}
	p.Error = e.Headline()
	p.NewKey.Err = e.Message
	for _, fe := range e.Fields {
		if strings.HasPrefix(fe.Path, "segment.description") {
			p.NewDescription.Err = fe.Description
			p.NewKey.Err = ""
		}
	}
	c.render(w, e.Status, "segments", p)
}

func matchOf(sg *pb.Segment) string {
	if sg.GetMatch() == "" {
		return "all"
	}
	return sg.GetMatch()
}

// segmentPage is one segment: its conditions, the counts, content hash and
// one page of each key list, a membership check, and the upload of a key
// list from a file. It never holds a whole list.
type segmentPage struct {
	Layout
	Key, Description, Match string
	Etag                    string
	KeysHash                string
	Include, Exclude        keyList
	// Check is the answer of the membership check, if one was asked.
	Check *keyCheck
	// Form edits the description, match and conditions.
	Form *segmentForm
	// Stale: someone else changed the segment since Etag.
	Stale bool
}

// keyList is one page of a segment's include or exclude list
// (SegmentService.ListSegmentKeys).
type keyList struct {
	Segment string
	Name    string // include or exclude
	Count   int
	Keys    []string
	// Paged: Keys is not the first page; Next is the token of the next
	// page, "" on the last.
	Paged bool
	Next  string
}

// keyCheck is the membership check of one key against both lists.
type keyCheck struct {
	Key                string
	Included, Excluded bool
}

// keysShown is the page size of the key lists on the segment page.
const keysShown = 50

func (c *Console) segmentPage(w http.ResponseWriter, r *http.Request, s *Session) {
	p, err := c.loadSegment(r, s, r.PathValue("key"))
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	c.render(w, http.StatusOK, "segment", p)
}

// loadSegment reads a segment into its page, the form showing it as
// stored: one page of each list (?include_page= and ?exclude_page= name
// the page) and, with ?check=KEY, the membership check of KEY.
func (c *Console) loadSegment(r *http.Request, s *Session, key string) (*segmentPage, error) {
	p := &segmentPage{Layout: c.layout(r, s, key, "segments")}
	ctx := call(r, s)
	sg, err := c.api.segments.GetSegment(ctx, &pb.GetSegmentRequest{Project: p.Project, Key: key})
	if err != nil {
		return nil, err
	}
	p.Key, p.Description, p.Match, p.Etag = sg.GetKey(), sg.GetDescription(), matchOf(sg), sg.GetEtag()
	p.KeysHash = sg.GetKeysHash()
	q := r.URL.Query()
	for _, l := range []*keyList{&p.Include, &p.Exclude} {
		if l == &p.Include {
			l.Name = "include"
		} else {
			l.Name = "exclude"
		}
		token := q.Get(l.Name + "_page")
		page, err := c.api.segments.ListSegmentKeys(ctx, &pb.ListSegmentKeysRequest{
			Project: p.Project, Segment: key, List: l.Name, PageSize: keysShown, PageToken: token,
		})
		if err != nil {
			return nil, err
		}
		l.Segment = key
		l.Count, l.Keys, l.Paged, l.Next = int(page.GetCount()), page.GetKeys(), token != "", page.GetNextPageToken()
	}
	if k := strings.TrimSpace(q.Get("check")); k != "" {
		p.Check = &keyCheck{Key: k}
		for _, l := range []string{"include", "exclude"} {
			resp, err := c.api.segments.CheckSegmentKey(ctx, &pb.CheckSegmentKeyRequest{Project: p.Project, Segment: key, List: l, Key: k})
			if err != nil {
				return nil, err
			}
			if l == "include" {
				p.Check.Included = resp.GetMember()
			} else {
				p.Check.Excluded = resp.GetMember()
			}
		}
	}
	p.Form = segmentFormOf(sg)
	return p, nil
}

// maxKeysLine is the longest line of an uploaded key file.
const maxKeysLine = 1 << 20

// keysBatch is how many keys one message of an upload carries.
const keysBatch = 8192

// segmentKeys streams an uploaded file of targeting keys (one per line, or
// comma-separated) into a segment's include or exclude list through
// SegmentService.EditSegmentKeys, adding them or replacing the list in one
// revision, conditional on the etag the page was loaded with. The
// multipart body is read part by part and never held whole: the fields
// (csrf, project, etag, list, mode) come before the file, and the file
// travels in batches of keysBatch keys. The CSRF token is the
// X-CSRF-Token header or the csrf field. A script's upload
// (X-Requested-With) gets a plain-text answer; a form post is redirected
// back to the segment.
func (c *Console) segmentKeys(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "forbidden: cross-origin request", http.StatusForbidden)
		return
	}
	s, ok := c.session(r)
	if !ok {
		http.Error(w, "forbidden: not signed in (or the session expired)", http.StatusForbidden)
		return
	}
	key := r.PathValue("key")
	answer := func(status int, msg string) {
		if r.Header.Get("X-Requested-With") != "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			io.WriteString(w, msg)
			return
		}
		if status == http.StatusOK {
			c.sessions.notify(s, msg)
		} else {
			c.sessions.flash(s, msg)
		}
		http.Redirect(w, r, "/segments/"+key, http.StatusSeeOther)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		answer(http.StatusBadRequest, "file: choose a file of targeting keys")
		return
	}
	fields := map[string]string{}
	var file *multipart.Part
	for file == nil {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			answer(http.StatusBadRequest, "the form could not be read: "+err.Error())
			return
		}
		if part.FormName() == "file" {
			file = part
			break
		}
		v, _ := io.ReadAll(io.LimitReader(part, 4<<10))
		fields[part.FormName()] = string(v)
	}
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		token = fields["csrf"]
	}
	if !s.ValidCSRF(token) {
		http.Error(w, "forbidden: missing or wrong CSRF token", http.StatusForbidden)
		return
	}
	project, _ := c.sessions.choice(s)
	if v := fields["project"]; v != "" {
		project = v
	}
	list, mode := fields["list"], fields["mode"]
	if list != "include" && list != "exclude" {
		answer(http.StatusBadRequest, "list: choose include or exclude")
		return
	}
	if mode != "add" && mode != "replace" {
		answer(http.StatusBadRequest, "mode: choose add or replace")
		return
	}
	if file == nil {
		answer(http.StatusBadRequest, "file: choose a file of targeting keys")
		return
	}
	resp, read, err := c.streamKeys(call(r, s), file, &pb.EditSegmentKeysRequest{
		Project: project, Segment: key, List: list, Op: mode, Etag: fields["etag"],
	})
	var fileErr *fileError
	switch {
	case errors.Is(err, errNoKeys):
		answer(http.StatusBadRequest, "file: no targeting keys in it (one per line, or comma-separated)")
		return
	case errors.As(err, &fileErr):
		answer(http.StatusBadRequest, fileErr.Error())
		return
	case err != nil:
		e := errorOf(err)
		msg := e.Headline()
		for _, f := range e.Fields {
			msg += fmt.Sprintf(" %s: %s.", f.Path, f.Description)
		}
		answer(e.Status, msg)
		return
	}
	verb, removed := "Replaced", fmt.Sprintf(", %d removed", resp.GetRemoved())
	if mode == "add" {
		verb, removed = "Added to", ""
	}
	answer(http.StatusOK, fmt.Sprintf("%s the %s list of %s: %d keys from the file, %d new%s; the list now has %d keys.",
		verb, list, key, read, resp.GetAdded(), removed, resp.GetCount()))
}

// errNoKeys is streamKeys' error for a file without keys.
var errNoKeys = errors.New("no keys")

// fileError is streamKeys' error for a file it cannot read.
type fileError struct{ err error }

func (e *fileError) Error() string { return "file: " + e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

// streamKeys sends the keys of file (lines, split at commas, blanks
// skipped) through one EditSegmentKeys stream whose first message is
// first, keysBatch keys a message. It returns the server's answer and how
// many keys it read; a file without keys opens no stream (errNoKeys).
func (c *Console) streamKeys(ctx context.Context, file io.Reader, first *pb.EditSegmentKeysRequest) (*pb.EditSegmentKeysResponse, int, error) {
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 64<<10), maxKeysLine)
	var (
		stream pb.SegmentService_EditSegmentKeysClient
		batch  []string
		read   int
	)
	send := func() error {
		if len(batch) == 0 {
			return nil
		}
		msg := &pb.EditSegmentKeysRequest{Keys: batch}
		if stream == nil {
			var err error
			if stream, err = c.api.segments.EditSegmentKeys(ctx); err != nil {
				return err
			}
			msg = first
			msg.Keys = batch
		}
		err := stream.Send(msg)
		batch = batch[:0]
		if err == io.EOF {
			return nil // the server ended the stream: CloseAndRecv has its answer
		}
		return err
	}
	for sc.Scan() {
		for item := range strings.SplitSeq(sc.Text(), ",") {
			if k := strings.TrimSpace(item); k != "" {
				batch = append(batch, k)
				read++
			}
		}
		if len(batch) >= keysBatch {
			if err := send(); err != nil {
				return nil, read, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, read, &fileError{err}
	}
	if err := send(); err != nil {
		return nil, read, err
	}
	if stream == nil {
		return nil, 0, errNoKeys
	}
	resp, err := stream.CloseAndRecv()
	return resp, read, err
}
