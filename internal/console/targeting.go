package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// The targeting editor: a Targeting (flag or component, one environment)
// as an HTML form whose input names are the API's field paths, so the
// server's field violations land next to the inputs they name. Every list
// gets one blank row to add an entry; blank rows are ignored and rows
// marked "remove" are dropped, so the editor needs no script.

// field is one form input: its name (the field path), value and error.
type field struct {
	Name  string
	Value string
	Err   string
}

type prereqRow struct{ Flag, Variant field }

type targetRow struct{ Variant, Keys field }

type condRow struct{ Attribute, Op, Values, Remove field }

type ruleRow struct {
	ID, Segments, Remove field
	Conditions           []condRow
	Serve                serveForm
}

// serveForm is a serve: Kind ("variant", "rollout" or, for a default,
// "none") is named after the serve's path, so a violation of the serve as
// a whole shows next to it.
type serveForm struct {
	Kind    field
	Variant field
	Rollout []weightRow
}

// weightRow is a rollout entry; Weight is a percentage.
type weightRow struct{ Variant, Weight field }

// targetingForm is the editable state of one targeting.
type targetingForm struct {
	Enabled    field
	OffVariant field
	Salt       field
	BucketBy   field
	Prereqs    []prereqRow
	Targets    []targetRow
	Rules      []ruleRow
	Default    serveForm
	// Errors are violations that name no input of the form.
	Errors []fieldError
	// Options for the selects.
	Variants []string
	Ops      []string
	// paths maps an API field path of the built request to its input.
	paths map[string]*field
}

// conditionOps are the condition operators (DESIGN §3).
var conditionOps = []string{
	"in", "not_in", "contains", "starts_with", "ends_with", "matches",
	"lt", "lte", "gt", "gte",
	"semver_eq", "semver_lt", "semver_lte", "semver_gt", "semver_gte",
	"before", "after", "exists", "not_exists", "in_segment", "not_in_segment",
}

func numericOp(op string) bool { return op == "lt" || op == "lte" || op == "gt" || op == "gte" }

// formFromTargeting shows a stored targeting; variants are the flag's
// variant keys (or a component's versions).
func formFromTargeting(t *pb.Targeting, variants []string) *targetingForm {
	f := &targetingForm{Variants: variants, Ops: conditionOps}
	if t.GetEnabled() {
		f.Enabled.Value = "true"
	}
	f.OffVariant.Value = t.GetOffVariant()
	f.Salt.Value = t.GetSalt()
	f.BucketBy.Value = t.GetBucketBy()
	for _, p := range t.GetPrerequisites() {
		f.Prereqs = append(f.Prereqs, prereqRow{Flag: field{Value: p.GetFlag()}, Variant: field{Value: p.GetVariant()}})
	}
	for _, tg := range t.GetTargets() {
		f.Targets = append(f.Targets, targetRow{Variant: field{Value: tg.GetVariant() + tg.GetVersion()}, Keys: field{Value: strings.Join(tg.GetKeys(), ", ")}})
	}
	for _, r := range t.GetRules() {
		row := ruleRow{ID: field{Value: r.GetId()}, Segments: field{Value: strings.Join(r.GetSegments(), ", ")}}
		for _, c := range r.GetConditions() {
			row.Conditions = append(row.Conditions, condRow{
				Attribute: field{Value: c.GetAttribute()}, Op: field{Value: c.GetOp()}, Values: field{Value: formatValues(c.GetOp(), c.GetValues())},
			})
		}
		row.Serve = serveFromProto(r.GetServe(), variants, false)
		f.Rules = append(f.Rules, row)
	}
	f.Default = serveFromProto(t.GetDefault(), variants, true)
	f.finish()
	return f
}

// serveFromProto shows a serve; the rollout lists its entries in their
// stored order (order decides bucketing) and then the other variants with
// a blank weight.
func serveFromProto(s *pb.Serve, variants []string, isDefault bool) serveForm {
	out := serveForm{}
	switch {
	case len(s.GetRollout()) > 0:
		out.Kind.Value = "rollout"
	case s.GetVariant()+s.GetVersion() != "":
		out.Kind.Value = "variant"
		out.Variant.Value = s.GetVariant() + s.GetVersion()
	case isDefault:
		out.Kind.Value = "none"
	default:
		out.Kind.Value = "variant"
	}
	seen := map[string]bool{}
	for _, w := range s.GetRollout() {
		v := w.GetVariant() + w.GetVersion()
		seen[v] = true
		out.Rollout = append(out.Rollout, weightRow{Variant: field{Value: v}, Weight: field{Value: formatPercent(w.GetWeight())}})
	}
	for _, v := range variants {
		if !seen[v] {
			out.Rollout = append(out.Rollout, weightRow{Variant: field{Value: v}})
		}
	}
	return out
}

// formatValues shows condition values: one regular expression as it is,
// comma-separated when they are all strings (or, for a numeric operator,
// all numbers), else a JSON array.
func formatValues(op string, vs []*structpb.Value) string {
	if op == "matches" && len(vs) == 1 {
		if re, ok := vs[0].GetKind().(*structpb.Value_StringValue); ok && re.StringValue != "" &&
			re.StringValue == strings.TrimSpace(re.StringValue) && !json.Valid([]byte(re.StringValue)) {
			return re.StringValue
		}
	}
	parts := make([]string, 0, len(vs))
	plain := op != "matches" // several regular expressions: a JSON array
	for _, v := range vs {
		switch x := v.GetKind().(type) {
		case *structpb.Value_StringValue:
			if numericOp(op) || strings.Contains(x.StringValue, ",") || strings.HasPrefix(strings.TrimSpace(x.StringValue), "[") ||
				x.StringValue != strings.TrimSpace(x.StringValue) || x.StringValue == "" {
				plain = false
			}
			parts = append(parts, x.StringValue)
		case *structpb.Value_NumberValue:
			if !numericOp(op) {
				plain = false
			}
			parts = append(parts, strconv.FormatFloat(x.NumberValue, 'f', -1, 64))
		default:
			plain = false
		}
	}
	if plain {
		return strings.Join(parts, ", ")
	}
	data, _ := json.Marshal(valuesToAny(vs))
	return string(data)
}

func valuesToAny(vs []*structpb.Value) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v.AsInterface()
	}
	return out
}

// formFromRequest reads a posted targeting form; removed and blank rows
// are dropped and the blank rows added again.
func formFromRequest(r *http.Request, variants []string) *targetingForm {
	r.ParseForm()
	get := func(name string) string { return strings.TrimSpace(r.PostForm.Get(name)) }
	count := func(name string) int {
		n, _ := strconv.Atoi(r.PostForm.Get(name))
		return min(max(n, 0), 1000)
	}
	f := &targetingForm{Variants: variants, Ops: conditionOps}
	f.Enabled.Value = get("enabled")
	f.OffVariant.Value = get("off_variant")
	f.Salt.Value = get("salt")
	f.BucketBy.Value = get("bucket_by")
	for i := range count("prerequisites.n") {
		p := fmt.Sprintf("prerequisites[%d].", i)
		row := prereqRow{Flag: field{Value: get(p + "flag")}, Variant: field{Value: get(p + "variant")}}
		if row.Flag.Value != "" && get(p+"remove") == "" {
			f.Prereqs = append(f.Prereqs, row)
		}
	}
	for i := range count("targets.n") {
		p := fmt.Sprintf("targets[%d].", i)
		row := targetRow{Variant: field{Value: get(p + "variant")}, Keys: field{Value: get(p + "keys")}}
		if row.Keys.Value != "" && get(p+"remove") == "" {
			f.Targets = append(f.Targets, row)
		}
	}
	for i := range count("rules.n") {
		p := fmt.Sprintf("rules[%d]", i)
		row := ruleRow{ID: field{Value: get(p + ".id")}, Segments: field{Value: get(p + ".segments")}}
		for j := range count(p + ".conditions.n") {
			cp := fmt.Sprintf("%s.conditions[%d].", p, j)
			c := condRow{Attribute: field{Value: get(cp + "attribute")}, Op: field{Value: get(cp + "op")}, Values: field{Value: get(cp + "values")}}
			if (c.Attribute.Value != "" || c.Values.Value != "") && get(cp+"remove") == "" {
				row.Conditions = append(row.Conditions, c)
			}
		}
		row.Serve = serveFromRequest(r, p+".serve", get)
		if (row.ID.Value != "" || row.Segments.Value != "" || len(row.Conditions) > 0) && get(p+".remove") == "" {
			f.Rules = append(f.Rules, row)
		}
	}
	f.Default = serveFromRequest(r, "default", get)
	f.finish()
	return f
}

func serveFromRequest(r *http.Request, path string, get func(string) string) serveForm {
	s := serveForm{Kind: field{Value: get(path)}, Variant: field{Value: get(path + ".variant")}}
	n, _ := strconv.Atoi(r.PostForm.Get(path + ".rollout.n"))
	for k := range min(max(n, 0), 1000) {
		p := fmt.Sprintf("%s.rollout[%d].", path, k)
		s.Rollout = append(s.Rollout, weightRow{Variant: field{Value: get(p + "variant")}, Weight: field{Value: get(p + "weight")}})
	}
	return s
}

// finish appends the blank rows and names every input after its position.
func (f *targetingForm) finish() {
	f.Prereqs = append(f.Prereqs, prereqRow{})
	f.Targets = append(f.Targets, targetRow{})
	for i := range f.Rules {
		f.Rules[i].Conditions = append(f.Rules[i].Conditions, condRow{})
	}
	blank := ruleRow{Conditions: []condRow{{}}, Serve: serveForm{Kind: field{Value: "variant"}}}
	for _, v := range f.Variants {
		blank.Serve.Rollout = append(blank.Serve.Rollout, weightRow{Variant: field{Value: v}})
	}
	f.Rules = append(f.Rules, blank)

	f.Enabled.Name, f.OffVariant.Name, f.Salt.Name, f.BucketBy.Name = "enabled", "off_variant", "salt", "bucket_by"
	for i := range f.Prereqs {
		p := fmt.Sprintf("prerequisites[%d].", i)
		f.Prereqs[i].Flag.Name, f.Prereqs[i].Variant.Name = p+"flag", p+"variant"
	}
	for i := range f.Targets {
		p := fmt.Sprintf("targets[%d].", i)
		f.Targets[i].Variant.Name, f.Targets[i].Keys.Name = p+"variant", p+"keys"
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		p := fmt.Sprintf("rules[%d]", i)
		r.ID.Name, r.Segments.Name, r.Remove.Name = p+".id", p+".segments", p+".remove"
		for j := range r.Conditions {
			c := &r.Conditions[j]
			cp := fmt.Sprintf("%s.conditions[%d].", p, j)
			c.Attribute.Name, c.Op.Name, c.Values.Name, c.Remove.Name = cp+"attribute", cp+"op", cp+"values", cp+"remove"
		}
		r.Serve.name(p + ".serve")
	}
	f.Default.name("default")
}

func (s *serveForm) name(path string) {
	s.Kind.Name, s.Variant.Name = path, path+".variant"
	for k := range s.Rollout {
		p := fmt.Sprintf("%s.rollout[%d].", path, k)
		s.Rollout[k].Variant.Name, s.Rollout[k].Weight.Name = p+"variant", p+"weight"
	}
}

// RolloutCount and friends give the templates the list lengths they post
// back as "<list>.n".
func (s serveForm) RolloutCount() int { return len(s.Rollout) }

// Targeting builds the API request from the form. Inputs the console
// itself cannot read (a percentage that is not one, a value list that is
// not JSON) get their error here; ok is false then.
func (f *targetingForm) Targeting(isComponent bool) (t *pb.Targeting, ok bool) {
	f.paths = map[string]*field{}
	ok = true
	t = &pb.Targeting{
		Enabled:    f.Enabled.Value == "true",
		OffVariant: f.OffVariant.Value,
		Salt:       f.Salt.Value,
		BucketBy:   f.BucketBy.Value,
	}
	f.at("enabled", &f.Enabled)
	f.at("off_variant", &f.OffVariant)
	f.at("salt", &f.Salt)
	f.at("bucket_by", &f.BucketBy)
	for k := range f.Prereqs[:len(f.Prereqs)-1] {
		p := &f.Prereqs[k]
		i := len(t.Prerequisites)
		t.Prerequisites = append(t.Prerequisites, &pb.Prerequisite{Flag: p.Flag.Value, Variant: p.Variant.Value})
		f.at(fmt.Sprintf("prerequisites[%d].flag", i), &p.Flag)
		f.at(fmt.Sprintf("prerequisites[%d].variant", i), &p.Variant)
		f.at(fmt.Sprintf("prerequisites[%d]", i), &p.Flag)
	}
	for k := range f.Targets[:len(f.Targets)-1] {
		tr := &f.Targets[k]
		i := len(t.Targets)
		tg := &pb.Target{Keys: splitList(tr.Keys.Value)}
		if isComponent {
			tg.Version = tr.Variant.Value
		} else {
			tg.Variant = tr.Variant.Value
		}
		t.Targets = append(t.Targets, tg)
		p := fmt.Sprintf("targets[%d]", i)
		f.at(p, &tr.Keys)
		f.at(p+".keys", &tr.Keys)
		f.at(p+".variant", &tr.Variant)
		f.at(p+".version", &tr.Variant)
	}
	for k := range f.Rules[:len(f.Rules)-1] {
		rr := &f.Rules[k]
		i := len(t.Rules)
		p := fmt.Sprintf("rules[%d]", i)
		rule := &pb.Rule{Id: rr.ID.Value, Segments: splitList(rr.Segments.Value)}
		f.at(p, &rr.ID)
		f.at(p+".id", &rr.ID)
		f.at(p+".segments", &rr.Segments)
		for m := range rr.Conditions[:len(rr.Conditions)-1] {
			c := &rr.Conditions[m]
			j := len(rule.Conditions)
			cp := fmt.Sprintf("%s.conditions[%d]", p, j)
			vals, err := parseValues(c.Op.Value, c.Values.Value)
			if err != nil {
				c.Values.Err = err.Error()
				ok = false
			}
			rule.Conditions = append(rule.Conditions, &pb.Condition{Attribute: c.Attribute.Value, Op: c.Op.Value, Values: vals})
			f.at(cp, &c.Attribute)
			f.at(cp+".attribute", &c.Attribute)
			f.at(cp+".op", &c.Op)
			f.at(cp+".values", &c.Values)
		}
		var sok bool
		rule.Serve, sok = f.serve(&rr.Serve, p+".serve", isComponent)
		ok = ok && sok
		t.Rules = append(t.Rules, rule)
	}
	var dok bool
	t.Default, dok = f.serve(&f.Default, "default", isComponent)
	return t, ok && dok
}

// serve builds one serve; a default of kind "none" is absent.
func (f *targetingForm) serve(s *serveForm, path string, isComponent bool) (*pb.Serve, bool) {
	f.at(path, &s.Kind)
	f.at(path+".variant", &s.Variant)
	f.at(path+".version", &s.Variant)
	f.at(path+".rollout", &s.Kind)
	switch s.Kind.Value {
	case "none", "":
		return nil, true
	case "variant":
		if isComponent {
			return &pb.Serve{Version: s.Variant.Value}, true
		}
		return &pb.Serve{Variant: s.Variant.Value}, true
	}
	out := &pb.Serve{}
	ok := true
	for k := range s.Rollout {
		w := &s.Rollout[k]
		if w.Weight.Value == "" {
			continue
		}
		weight, valid := parsePercent(w.Weight.Value)
		if !valid {
			w.Weight.Err = "a percentage from 0 to 100 with at most three decimals"
			ok = false
		}
		i := len(out.Rollout)
		entry := &pb.Weighted{Weight: weight}
		if isComponent {
			entry.Version = w.Variant.Value
		} else {
			entry.Variant = w.Variant.Value
		}
		out.Rollout = append(out.Rollout, entry)
		p := fmt.Sprintf("%s.rollout[%d]", path, i)
		f.at(p, &w.Weight)
		f.at(p+".weight", &w.Weight)
		f.at(p+".variant", &w.Weight)
		f.at(p+".version", &w.Weight)
	}
	return out, ok
}

// at records that API path p is shown by input fl.
func (f *targetingForm) at(p string, fl *field) { f.paths[p] = fl }

// attach shows each field violation (paths relative to the targeting,
// after prefix) next to the input of its path or of its nearest enclosing
// path; a violation no input shows goes to Errors.
func (f *targetingForm) attach(prefix string, violations []fieldError) {
	for _, v := range violations {
		p := strings.TrimPrefix(strings.TrimPrefix(v.Path, prefix), ".")
		placed := false
		for q := p; q != ""; q = parentPath(q) {
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

// parentPath strips the last element of a field path:
// "rules[0].conditions[1].values[0]" → "rules[0].conditions[1].values".
func parentPath(p string) string {
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

// parseValues reads condition values: a JSON array when the text is one,
// else one regular expression for "matches", else comma-separated items,
// numbers for numeric operators and strings otherwise.
func parseValues(op, text string) ([]*structpb.Value, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	if strings.HasPrefix(text, "[") {
		var items []any
		err := json.Unmarshal([]byte(text), &items)
		if err == nil {
			l, err := structpb.NewList(items)
			if err != nil {
				return nil, err
			}
			return l.GetValues(), nil
		}
		if op != "matches" { // a regular expression may well start with "["
			return nil, fmt.Errorf("not a JSON array: %v", err)
		}
	}
	if op == "matches" {
		// One regular expression, commas and all.
		return []*structpb.Value{structpb.NewStringValue(text)}, nil
	}
	var out []*structpb.Value
	for _, item := range splitList(text) {
		if numericOp(op) {
			n, err := strconv.ParseFloat(item, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number (%s compares numbers)", item, op)
			}
			out = append(out, structpb.NewNumberValue(n))
			continue
		}
		out = append(out, structpb.NewStringValue(item))
	}
	return out, nil
}

// splitList splits comma- or newline-separated items, trimmed, without
// empty ones.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// diffLine is one line of a change preview.
type diffLine struct {
	Op   string // "same", "add", "del"
	Text string
}

// diffMessages shows what changes from before to after as a line diff of
// their canonical JSON (keys sorted, two-space indent).
func diffMessages(before, after proto.Message) []diffLine {
	return diffLines(canonicalJSON(before), canonicalJSON(after))
}

func canonicalJSON(m proto.Message) []string {
	data, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return []string{err.Error()}
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return []string{err.Error()}
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	return strings.Split(string(out), "\n")
}

// diffLines is a line diff: the common prefix and suffix, and between them
// a longest-common-subsequence diff, or, when that would cost more than
// maxDiffCells, every old line removed and every new line added.
func diffLines(a, b []string) []diffLine {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	out := make([]diffLine, 0, len(a)+len(b))
	for _, l := range a[:pre] {
		out = append(out, diffLine{"same", l})
	}
	out = append(out, diffMiddle(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		out = append(out, diffLine{"same", l})
	}
	return out
}

// maxDiffCells bounds the LCS table of one diff.
const maxDiffCells = 1 << 20

func diffMiddle(a, b []string) []diffLine {
	n, m := len(a), len(b)
	var out []diffLine
	if (n+1)*(m+1) > maxDiffCells {
		for _, l := range a {
			out = append(out, diffLine{"del", l})
		}
		for _, l := range b {
			out = append(out, diffLine{"add", l})
		}
		return out
	}
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out = append(out, diffLine{"same", a[i]})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, diffLine{"del", a[i]})
			i++
		default:
			out = append(out, diffLine{"add", b[j]})
			j++
		}
	}
	return out
}

// compactDiff keeps the changed lines with context lines around each
// change, a "…" line for each gap, and at most limit lines in all (then a
// last line saying how many were left out).
func compactDiff(d []diffLine, context, limit int) []diffLine {
	keep := make([]bool, len(d))
	for i, l := range d {
		if l.Op != "same" {
			for k := max(0, i-context); k <= min(len(d)-1, i+context); k++ {
				keep[k] = true
			}
		}
	}
	var out []diffLine
	gap := false
	for i, l := range d {
		if !keep[i] {
			gap = true
			continue
		}
		if gap {
			out = append(out, diffLine{"gap", "…"})
		}
		gap = false
		out = append(out, l)
	}
	if gap {
		out = append(out, diffLine{"gap", "…"})
	}
	if len(out) > limit {
		left := len(out) - limit
		out = append(out[:limit:limit], diffLine{"gap", fmt.Sprintf("… %d more lines", left)})
	}
	return out
}

// changed reports whether a diff has any change.
func changed(d []diffLine) bool {
	for _, l := range d {
		if l.Op != "same" {
			return true
		}
	}
	return false
}

// ID is the input's element id, derived from its name.
func (f field) ID() string {
	return "f-" + strings.NewReplacer("[", "-", "]", "", ".", "-").Replace(f.Name)
}

// Attrs are the input's name and id attributes, and when it has an error,
// aria-invalid and the id of the error text.
func (f field) Attrs() template.HTMLAttr {
	id := template.HTMLEscapeString(f.ID())
	a := `name="` + template.HTMLEscapeString(f.Name) + `" id="` + id + `"`
	if f.Err != "" {
		a += ` aria-invalid="true" aria-describedby="` + id + `-err"`
	}
	return template.HTMLAttr(a)
}

// Checked is the checked attribute of a checkbox whose value is "true".
func (f field) Checked() template.HTMLAttr {
	if f.Value == "true" {
		return "checked"
	}
	return ""
}
