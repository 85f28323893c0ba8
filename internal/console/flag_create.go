package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

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
