package console

import (
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

func TestDiffLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []string
		want string
	}{
		{"same", []string{"x", "y"}, []string{"x", "y"}, " x, y"},
		{"changed middle", []string{"a", "b", "c"}, []string{"a", "B", "c"}, " a,-b,+B, c"},
		{"added", []string{"a"}, []string{"a", "b"}, " a,+b"},
		{"removed", []string{"a", "b"}, nil, "-a,-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := showDiff(diffLines(tc.a, tc.b)); got != tc.want {
				t.Errorf("diffLines = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDiffLinesOfHugeValuesIsBounded(t *testing.T) {
	a, b := make([]string, 5000), make([]string, 5000)
	for i := range a {
		a[i], b[i] = "a"+strings.Repeat("x", i%7), "b"+strings.Repeat("y", i%5)
	}
	if got := len(diffLines(a, b)); got != 10000 {
		t.Errorf("len(diffLines) = %d, want every line removed and added (10000)", got)
	}
}

func TestCompactDiff(t *testing.T) {
	var d []diffLine
	for i := range 20 {
		op := "same"
		if i == 10 {
			op = "add"
		}
		d = append(d, diffLine{op, string(rune('a' + i))})
	}
	if got, want := showDiff(compactDiff(d, 1, 100)), " …, j,+k, l, …"; got != want {
		t.Errorf("compactDiff = %q, want %q", got, want)
	}
	if got, want := showDiff(compactDiff(d, 1, 2)), " …, j, … 3 more lines"; got != want {
		t.Errorf("compactDiff limited = %q, want %q", got, want)
	}
}

func showDiff(d []diffLine) string {
	parts := make([]string, len(d))
	for i, l := range d {
		parts[i] = map[string]string{"same": " ", "add": "+", "del": "-", "gap": " "}[l.Op] + l.Text
	}
	return strings.Join(parts, ",")
}

// sampleTargeting uses every part of the editor.
func sampleTargeting() *pb.Targeting {
	return &pb.Targeting{
		Enabled: true, OffVariant: "off", Salt: "s", BucketBy: "/user/id",
		Prerequisites: []*pb.Prerequisite{{Flag: "api", Variant: "on"}},
		Targets:       []*pb.Target{{Variant: "on", Keys: []string{"qa-1", "qa-2"}}},
		Rules: []*pb.Rule{
			{Id: "eu", Segments: []string{"eu-users"}, Conditions: []*pb.Condition{
				{Attribute: "plan", Op: "in", Values: []*structpb.Value{structpb.NewStringValue("beta")}},
				{Attribute: "age", Op: "gte", Values: []*structpb.Value{structpb.NewNumberValue(18)}},
				{Attribute: "code", Op: "in", Values: []*structpb.Value{structpb.NewNumberValue(7), structpb.NewStringValue("a,b")}},
				{Attribute: "email", Op: "matches", Values: []*structpb.Value{structpb.NewStringValue(`^[a-z]{1,3}@x\.com$`)}},
				{Attribute: "name", Op: "matches", Values: []*structpb.Value{structpb.NewStringValue("a"), structpb.NewStringValue("b")}},
			}, Serve: &pb.Serve{Variant: "on"}},
			{Id: "half", Serve: &pb.Serve{Rollout: []*pb.Weighted{{Variant: "off", Weight: 50000}, {Variant: "on", Weight: 50000}}}},
		},
		Default: &pb.Serve{Rollout: []*pb.Weighted{{Variant: "on", Weight: 12345}, {Variant: "off", Weight: 87655}}},
	}
}

func TestTargetingFormRoundTrip(t *testing.T) {
	want := sampleTargeting()
	form := formFromTargeting(want, []string{"on", "off"})
	values := url.Values{}
	formValues(form, values)
	r := httptest.NewRequest("POST", "/", strings.NewReader(values.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	got, ok := formFromRequest(r, []string{"on", "off"}).Targeting(false)
	if !ok {
		t.Fatal("Targeting() refused an unchanged form")
	}
	if !proto.Equal(got, want) {
		t.Errorf("round trip:\n got %v\nwant %v", got, want)
	}
}

// formValues lists the inputs a browser posts for a form, with the list
// counts the template adds.
func formValues(f *targetingForm, v url.Values) {
	set := func(fl field) {
		if fl.Value != "" {
			v.Set(fl.Name, fl.Value)
		}
	}
	for _, fl := range []field{f.Enabled, f.OffVariant, f.Salt, f.BucketBy} {
		set(fl)
	}
	v.Set("prerequisites.n", itoa(len(f.Prereqs)))
	for _, p := range f.Prereqs {
		set(p.Flag)
		set(p.Variant)
	}
	v.Set("targets.n", itoa(len(f.Targets)))
	for _, tg := range f.Targets {
		set(tg.Variant)
		set(tg.Keys)
	}
	v.Set("rules.n", itoa(len(f.Rules)))
	for i, r := range f.Rules {
		set(r.ID)
		set(r.Segments)
		v.Set("rules["+itoa(i)+"].conditions.n", itoa(len(r.Conditions)))
		for _, c := range r.Conditions {
			set(c.Attribute)
			set(c.Op)
			set(c.Values)
		}
		serveValues(r.Serve, v)
	}
	serveValues(f.Default, v)
}

func serveValues(s serveForm, v url.Values) {
	v.Set(s.Kind.Name, s.Kind.Value)
	if s.Variant.Value != "" {
		v.Set(s.Variant.Name, s.Variant.Value)
	}
	v.Set(s.Kind.Name+".rollout.n", itoa(len(s.Rollout)))
	for _, w := range s.Rollout {
		v.Set(w.Variant.Name, w.Variant.Value)
		if w.Weight.Value != "" {
			v.Set(w.Weight.Name, w.Weight.Value)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseValues(t *testing.T) {
	for _, tc := range []struct {
		op, text string
		want     []any
	}{
		{"in", "DE, FR", []any{"DE", "FR"}},
		{"in", `["DE", 7]`, []any{"DE", 7.0}},
		{"gte", "18, 21.5", []any{18.0, 21.5}},
		{"matches", `[a-z]{1,3}`, []any{`[a-z]{1,3}`}},
		{"matches", `["a", "b"]`, []any{"a", "b"}},
		{"exists", "", nil},
	} {
		vals, err := parseValues(tc.op, tc.text)
		if err != nil {
			t.Errorf("parseValues(%s, %q): %v", tc.op, tc.text, err)
			continue
		}
		var got []any
		for _, v := range vals {
			got = append(got, v.AsInterface())
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseValues(%s, %q) = %v, want %v", tc.op, tc.text, got, tc.want)
		}
	}
	for _, tc := range []struct{ op, text string }{{"gt", "ten"}, {"in", "[1,"}} {
		if _, err := parseValues(tc.op, tc.text); err == nil {
			t.Errorf("parseValues(%s, %q) accepted it, want an error", tc.op, tc.text)
		}
	}
}

func TestAttachPlacesViolationsAtTheNearestInput(t *testing.T) {
	form := formFromTargeting(sampleTargeting(), []string{"on", "off"})
	if _, ok := form.Targeting(false); !ok {
		t.Fatal("Targeting() refused the sample")
	}
	form.attach("targeting", []fieldError{
		{"targeting.rules[0].conditions[1].values[0]", "bad value"},
		{"targeting.rules[1].serve.rollout", "weights sum to 1"},
		{"targeting.default.rollout[0].weight", "too big"},
		{"targeting.nowhere", "lost"},
	})
	got := []string{
		form.Rules[0].Conditions[1].Values.Err,
		form.Rules[1].Serve.Kind.Err,
		form.Default.Rollout[0].Weight.Err,
	}
	if want := []string{"bad value", "weights sum to 1", "too big"}; !reflect.DeepEqual(got, want) {
		t.Errorf("errors at inputs = %q, want %q", got, want)
	}
	if len(form.Errors) != 1 || form.Errors[0].Path != "targeting.nowhere" {
		t.Errorf("unplaced errors = %v, want the one at targeting.nowhere", form.Errors)
	}
}
