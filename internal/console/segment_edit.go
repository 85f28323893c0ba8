package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// segmentForm edits a segment's description, match and conditions; its
// input names are the API's field paths, as in the targeting editor.
type segmentForm struct {
	Description, Match field
	Conditions         []condRow
	Ops                []string
	Errors             []fieldError
	paths              map[string]*field
}

func segmentFormOf(sg *pb.Segment) *segmentForm {
	f := &segmentForm{Description: field{Value: sg.GetDescription()}, Match: field{Value: matchOf(sg)}}
	for _, c := range sg.GetConditions() {
		f.Conditions = append(f.Conditions, condRow{
			Attribute: field{Value: c.GetAttribute()}, Op: field{Value: c.GetOp()}, Values: field{Value: formatValues(c.GetOp(), c.GetValues())},
		})
	}
	f.finish()
	return f
}

func segmentFormFromRequest(r *http.Request) *segmentForm {
	get := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	f := &segmentForm{Description: field{Value: get("description")}, Match: field{Value: get("match")}}
	n, _ := strconv.Atoi(r.PostFormValue("conditions.n"))
	for j := range min(max(n, 0), 1000) {
		p := fmt.Sprintf("conditions[%d].", j)
		c := condRow{Attribute: field{Value: get(p + "attribute")}, Op: field{Value: get(p + "op")}, Values: field{Value: get(p + "values")}}
		if (c.Attribute.Value != "" || c.Values.Value != "") && get(p+"remove") == "" {
			f.Conditions = append(f.Conditions, c)
		}
	}
	f.finish()
	return f
}

// finish appends a blank condition and names the inputs.
func (f *segmentForm) finish() {
	f.Ops = conditionOps
	f.Conditions = append(f.Conditions, condRow{})
	f.Description.Name, f.Match.Name = "description", "match"
	for j := range f.Conditions {
		c := &f.Conditions[j]
		p := fmt.Sprintf("conditions[%d].", j)
		c.Attribute.Name, c.Op.Name, c.Values.Name, c.Remove.Name = p+"attribute", p+"op", p+"values", p+"remove"
	}
}

// segment builds the update; ok is false when a value list does not parse.
func (f *segmentForm) segment(key, etag string) (*pb.Segment, bool) {
	f.paths = map[string]*field{"description": &f.Description, "match": &f.Match}
	sg := &pb.Segment{Key: key, Etag: etag, Description: f.Description.Value, Match: f.Match.Value}
	ok := true
	for j := range f.Conditions[:len(f.Conditions)-1] {
		c := &f.Conditions[j]
		vals, err := parseValues(c.Op.Value, c.Values.Value)
		if err != nil {
			c.Values.Err, ok = err.Error(), false
		}
		p := fmt.Sprintf("conditions[%d]", len(sg.Conditions))
		sg.Conditions = append(sg.Conditions, &pb.Condition{Attribute: c.Attribute.Value, Op: c.Op.Value, Values: vals})
		f.paths[p], f.paths[p+".attribute"], f.paths[p+".op"], f.paths[p+".values"] = &c.Attribute, &c.Attribute, &c.Op, &c.Values
	}
	return sg, ok
}

// attach shows violations (paths under "segment.") at their inputs.
func (f *segmentForm) attach(violations []fieldError) {
	for _, v := range violations {
		placed := false
		for q := strings.TrimPrefix(v.Path, "segment."); q != ""; q = parentPath(q) {
			if fl, ok := f.paths[q]; ok {
				if fl.Err != "" {
					fl.Err += "; "
				}
				fl.Err += v.Description
				placed = true
				break
			}
		}
		if !placed {
			f.Errors = append(f.Errors, v)
		}
	}
}

// ConditionCount is the number of condition rows posted back.
func (f *segmentForm) ConditionCount() int { return len(f.Conditions) }

// saveSegment saves the edited description, match and conditions,
// conditional on the etag the page was loaded with.
func (c *Console) saveSegment(w http.ResponseWriter, r *http.Request, s *Session) {
	key := r.PathValue("key")
	p, err := c.loadSegment(r, s, key)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p.Form = segmentFormFromRequest(r)
	loaded := r.PostFormValue("etag")
	sg, ok := p.Form.segment(key, loaded)
	if !ok {
		p.Error = "Not saved: fix the fields marked below."
		c.render(w, http.StatusBadRequest, "segment", p)
		return
	}
	_, err = c.api.segments.UpdateSegment(call(r, s), &pb.UpdateSegmentRequest{
		Project: p.Project, Segment: sg,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description", "match", "conditions"}},
	})
	if err == nil {
		c.sessions.notify(s, "Saved segment "+key+".")
		http.Redirect(w, r, "/segments/"+key, http.StatusSeeOther)
		return
	}
	e := errorOf(err)
	switch e.Status {
	case http.StatusBadRequest:
		p.Form.attach(e.Fields)
		p.Error = e.Headline()
	case http.StatusConflict:
		p.Stale = true
	default:
		c.apiFail(w, r, s, err)
		return
	}
	p.Etag = loaded
	c.render(w, e.Status, "segment", p)
}
