package eval

import (
	"testing"

	"github.com/switchyard/switchyard/internal/model"
)

func TestUnit(t *testing.T) {
	doc := &model.Document{
		Version: 1, Project: "p", Environments: []string{"prod"},
		Flags: []*model.Flag{
			{Key: "by-key", Type: model.TypeBool, Environments: map[string]*model.Targeting{"prod": {Enabled: true}}},
			{Key: "by-account", Type: model.TypeBool, Environments: map[string]*model.Targeting{"prod": {Enabled: true, BucketBy: "account"}}},
			{Key: "no-targeting", Type: model.TypeBool},
		},
	}
	rs, err := Compile(doc, "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		flag   string
		ctx    *Context
		want   string
		wantOK bool
	}{
		{"targeting key", "by-key", NewContext("u1").String("account", "a1"), "u1", true},
		{"bucket_by string", "by-account", NewContext("u1").String("account", "a1"), "a1", true},
		{"bucket_by integral number", "by-account", NewContext("u1").Number("account", 42), "42", true},
		{"bucket_by fraction", "by-account", NewContext("u1").Number("account", 4.2), "", false},
		{"bucket_by absent", "by-account", NewContext("u1"), "", false},
		{"no targeting here", "no-targeting", NewContext("u1"), "u1", true},
		{"unknown flag", "nope", NewContext("u1"), "u1", true},
		{"no targeting key", "by-key", new(Context), "", false},
		{"nil context", "by-key", nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := rs.Unit(tc.flag, tc.ctx)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("Unit(%q) = %q, %v, want %q, %v", tc.flag, got, ok, tc.want, tc.wantOK)
			}
		})
	}
	ctx := NewContext("u1").String("account", "a1")
	if n := testing.AllocsPerRun(100, func() { rs.Unit("by-account", ctx) }); n != 0 {
		t.Errorf("Unit of a string attribute allocates %v times, want 0", n)
	}
}
