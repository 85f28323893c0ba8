package eval

import (
	"testing"

	"github.com/switchyard/switchyard/internal/model"
)

func TestRulesetInSegment(t *testing.T) {
	doc := &model.Document{
		Version: 1, Project: "p", Environments: []string{"prod"},
		Segments: []*model.Segment{{
			Key:        "eu",
			Conditions: []model.Condition{{Attribute: "country", Op: model.OpIn, Values: []any{"DE"}}},
			Include:    []string{"vip"},
			Exclude:    []string{"banned"},
		}},
	}
	rs, err := Compile(doc, "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		segment string
		ctx     *Context
		in, ok  bool
	}{
		{"condition holds", "eu", NewContext("u1").String("country", "DE"), true, true},
		{"condition fails", "eu", NewContext("u1").String("country", "US"), false, true},
		{"included key", "eu", NewContext("vip"), true, true},
		{"excluded key", "eu", NewContext("banned").String("country", "DE"), false, true},
		{"nil context", "eu", nil, false, true},
		{"unknown segment", "nope", NewContext("vip"), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, ok := rs.InSegment(tc.segment, tc.ctx)
			if in != tc.in || ok != tc.ok {
				t.Errorf("InSegment(%q) = %v, %v, want %v, %v", tc.segment, in, ok, tc.in, tc.ok)
			}
		})
	}
}
