package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newFlagForm is the form that creates a flag.
type newFlagForm struct {
	Key, Type, Description, Variants field
	// Open shows the form unfolded (after a refused post).
	Open bool
}

func emptyFlagForm() newFlagForm {
	return newFlagForm{
		Key: field{Name: "key"}, Type: field{Name: "type", Value: "bool"},
		Description: field{Name: "description"}, Variants: field{Name: "variants"},
	}
}

// createFlag creates a flag from the form on the flag list and opens its
// page; refused input is shown next to its field.
func (c *Console) createFlag(w http.ResponseWriter, r *http.Request, s *Session) {
	p, err := c.loadFlagList(r, s)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	f := &p.New
	f.Open = true
	f.Key.Value = strings.TrimSpace(r.PostFormValue("key"))
	f.Type.Value = r.PostFormValue("type")
	f.Description.Value = strings.TrimSpace(r.PostFormValue("description"))
	f.Variants.Value = r.PostFormValue("variants")
	variants, err := parseVariants(f.Variants.Value)
	if err != nil {
		f.Variants.Err = err.Error()
		p.Error = "Not created: fix the fields marked below."
		c.render(w, http.StatusBadRequest, "flags", p)
		return
	}
	_, err = c.api.flags.CreateFlag(call(r, s), &pb.CreateFlagRequest{Project: p.Project, Flag: &pb.Flag{
		Key: f.Key.Value, Type: f.Type.Value, Description: f.Description.Value, Variants: variants,
	}})
	if err == nil {
		c.sessions.notify(s, "Created flag "+f.Key.Value+". It is disabled everywhere until you enable it.")
		http.Redirect(w, r, "/flags/"+f.Key.Value, http.StatusSeeOther)
		return
	}
	e := errorOf(err)
	if e.Status != http.StatusBadRequest && e.Status != http.StatusConflict {
		c.apiFail(w, r, s, err)
		return
	}
	p.Error = e.Headline()
	if e.Status == http.StatusConflict {
		f.Key.Err = e.Message
	}
	for _, fe := range e.Fields {
		rest := strings.TrimPrefix(fe.Path, "flag.")
		var target *field
		switch {
		case strings.HasPrefix(rest, "key"):
			target = &f.Key
		case strings.HasPrefix(rest, "type"):
			target = &f.Type
		case strings.HasPrefix(rest, "description"):
			target = &f.Description
		default:
			target = &f.Variants
		}
		if target.Err != "" {
			target.Err += "; "
		}
		target.Err += rest + ": " + fe.Description
	}
	c.render(w, e.Status, "flags", p)
}

// parseVariants reads one variant per line as "key: value", the value
// JSON ("Blue" may be written without quotes).
func parseVariants(text string) ([]*pb.Variant, error) {
	var out []*pb.Variant
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, raw, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: want \"key: value\", e.g. \"blue: \\\"Blue\\\"\"", i+1)
		}
		raw = strings.TrimSpace(raw)
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			v = raw // a bare word is a string
		}
		val, err := structpb.NewValue(v)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", i+1, err)
		}
		out = append(out, &pb.Variant{Key: strings.TrimSpace(key), Value: val})
	}
	return out, nil
}

// formatVariants shows variants one per line as "key: JSON value", the
// form parseVariants reads.
func formatVariants(vs []*pb.Variant) string {
	lines := make([]string, len(vs))
	for i, v := range vs {
		data, _ := json.Marshal(v.GetValue().AsInterface())
		lines[i] = v.GetKey() + ": " + string(data)
	}
	return strings.Join(lines, "\n")
}

// saveFlag saves a flag's description, tags (separated by commas or
// spaces) and variants, conditional on the
// flag's etag when the page was loaded.
func (c *Console) saveFlag(w http.ResponseWriter, r *http.Request, s *Session) {
	key := r.PathValue("key")
	p, cur, err := c.loadFlag(r, s, key)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p.Form = formFromTargeting(cur.GetTargeting(), variantKeys(p))
	d := &p.Details
	d.Open = true
	d.Description.Value = strings.TrimSpace(r.PostFormValue("description"))
	d.Variants.Value = r.PostFormValue("variants")
	d.Tags.Value = r.PostFormValue("tags")
	loaded := r.PostFormValue("flag_etag")
	variants, err := parseVariants(d.Variants.Value)
	if err != nil {
		d.Variants.Err = err.Error()
		p.Error = "Not saved: fix the fields marked below."
		c.render(w, http.StatusBadRequest, "flag", p)
		return
	}
	_, err = c.api.flags.UpdateFlag(call(r, s), &pb.UpdateFlagRequest{
		Project: p.Project, Flag: &pb.Flag{Key: key, Description: d.Description.Value, Variants: variants, Tags: strings.Fields(strings.ReplaceAll(d.Tags.Value, ",", " ")), Etag: loaded},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description", "variants", "tags"}},
	})
	if err == nil {
		c.sessions.notify(s, "Saved the description, tags and variants of "+key+".")
		http.Redirect(w, r, "/flags/"+key, http.StatusSeeOther)
		return
	}
	e := errorOf(err)
	switch e.Status {
	case http.StatusBadRequest:
		p.Error = e.Headline()
		for _, fe := range e.Fields {
			target := &d.Variants
			switch {
			case strings.HasPrefix(fe.Path, "flag.description"):
				target = &d.Description
			case strings.HasPrefix(fe.Path, "flag.tags"):
				target = &d.Tags
			}
			if target.Err != "" {
				target.Err += "; "
			}
			target.Err += strings.TrimPrefix(fe.Path, "flag.") + ": " + fe.Description
		}
	case http.StatusConflict:
		d.Stale = true
	default:
		c.apiFail(w, r, s, err)
		return
	}
	d.Etag = loaded
	c.render(w, e.Status, "flag", p)
}
