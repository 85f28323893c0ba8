package console

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

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
				Conditions: len(sg.GetConditions()), Include: len(sg.GetInclude()), Exclude: len(sg.GetExclude()),
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

// segmentPage is one segment: its conditions, its key lists and the
// upload of a key list from a file.
type segmentPage struct {
	Layout
	Key, Description, Match string
	Etag                    string
	Include, Exclude        keyList
	// Form edits the description, match and conditions.
	Form *segmentForm
	// Stale: someone else changed the segment since Etag.
	Stale bool
}

// keyList is a segment's include or exclude list; Shown is its start.
type keyList struct {
	Count int
	Shown []string
	More  int
}

const keysShown = 50

func newKeyList(keys []string) keyList {
	l := keyList{Count: len(keys), Shown: keys[:min(len(keys), keysShown)]}
	l.More = l.Count - len(l.Shown)
	return l
}

func (c *Console) segmentPage(w http.ResponseWriter, r *http.Request, s *Session) {
	p, err := c.loadSegment(r, s, r.PathValue("key"))
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	c.render(w, http.StatusOK, "segment", p)
}

// loadSegment reads a segment into its page, the form showing it as
// stored.
func (c *Console) loadSegment(r *http.Request, s *Session, key string) (*segmentPage, error) {
	p := &segmentPage{Layout: c.layout(r, s, key, "segments")}
	sg, err := c.api.segments.GetSegment(call(r, s), &pb.GetSegmentRequest{Project: p.Project, Key: key})
	if err != nil {
		return nil, err
	}
	p.Key, p.Description, p.Match, p.Etag = sg.GetKey(), sg.GetDescription(), matchOf(sg), sg.GetEtag()
	p.Include, p.Exclude = newKeyList(sg.GetInclude()), newKeyList(sg.GetExclude())
	p.Form = segmentFormOf(sg)
	return p, nil
}

// segmentKeys replaces or extends a segment's include or exclude list with
// the targeting keys of an uploaded file (one per line, or
// comma-separated), conditional on the etag the page was loaded with.
// A script's upload (X-Requested-With) gets a plain-text answer; a form
// post is redirected back to the segment.
func (c *Console) segmentKeys(w http.ResponseWriter, r *http.Request, s *Session) {
	key := r.PathValue("key")
	project, _ := c.sessions.choice(s)
	if v := r.FormValue("project"); v != "" {
		project = v
	}
	list, mode, etag := r.FormValue("list"), r.FormValue("mode"), r.FormValue("etag")
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
	if list != "include" && list != "exclude" {
		answer(http.StatusBadRequest, "list: choose include or exclude")
		return
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		answer(http.StatusBadRequest, "file: choose a file of targeting keys")
		return
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		answer(http.StatusBadRequest, "file: "+err.Error())
		return
	}
	keys := splitList(string(data))
	if len(keys) == 0 {
		answer(http.StatusBadRequest, "file: no targeting keys in it (one per line, or comma-separated)")
		return
	}
	ctx := call(r, s)
	cur, err := c.api.segments.GetSegment(ctx, &pb.GetSegmentRequest{Project: project, Key: key})
	if err != nil {
		e := errorOf(err)
		answer(e.Status, e.Headline())
		return
	}
	old := cur.GetInclude()
	if list == "exclude" {
		old = cur.GetExclude()
	}
	var next []string
	if mode == "add" {
		next = append(next, old...)
	}
	seen := make(map[string]bool, len(next)+len(keys))
	for _, k := range next {
		seen[k] = true
	}
	added := 0
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			next = append(next, k)
			added++
		}
	}
	upd := &pb.Segment{Key: key, Etag: etag}
	if list == "include" {
		upd.Include = next
	} else {
		upd.Exclude = next
	}
	_, err = c.api.segments.UpdateSegment(ctx, &pb.UpdateSegmentRequest{
		Project: project, Segment: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{list}},
	})
	if err != nil {
		e := errorOf(err)
		msg := e.Headline()
		for _, f := range e.Fields {
			msg += fmt.Sprintf(" %s: %s.", f.Path, f.Description)
		}
		answer(e.Status, msg)
		return
	}
	verb := "Replaced"
	if mode == "add" {
		verb = "Added to"
	}
	answer(http.StatusOK, fmt.Sprintf("%s the %s list of %s: %d keys from the file, %d new; the list now has %d keys.",
		verb, list, key, len(keys), added, len(next)))
}
