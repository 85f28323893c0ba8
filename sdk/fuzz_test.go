package sdk_test

import (
	"testing"

	"github.com/switchyard/switchyard/sdk"
)

// FuzzGetters evaluates every getter on arbitrary flag keys and contexts:
// no panic, and an error or a missing variant always means the default.
func FuzzGetters(f *testing.F) {
	seeds := []struct {
		flag string
		ctx  string
	}{
		{"dark-mode", `{"targetingKey": "u", "country": "DE"}`},
		{"rollout", `{}`},
		{"max-items", `{"targetingKey": "user-half"}`},
		{"theme", `{"targetingKey": 7}`},
		{"banner", `{"targetingKey": "u", "tags": ["a", null, 1], "n": 1e308}`},
		{"missing", `null`},
		{"nowhere", `[1, 2]`},
	}
	for _, s := range seeds {
		f.Add(s.flag, []byte(s.ctx))
	}
	c := offline(f)
	f.Fuzz(func(t *testing.T, flag string, raw []byte) {
		var ctx *sdk.Context
		if decoded, err := sdk.ContextFromJSON(raw); err == nil {
			ctx = &decoded
		}
		checkDetail(t, c.BoolDetail(flag, ctx, true), true)
		checkDetail(t, c.StringDetail(flag, ctx, "def"), "def")
		checkDetail(t, c.Float64Detail(flag, ctx, -1), -1)
		checkDetail(t, c.IntDetail(flag, ctx, -1), -1)
		c.JSONDetail(flag, ctx, nil)
		c.Bool(flag, ctx, true)
		c.String(flag, ctx, "")
		c.Float64(flag, ctx, 0)
		c.Int(flag, ctx, 0)
		c.JSON(flag, ctx, nil)
	})
}

func checkDetail[T comparable](t *testing.T, d sdk.Detail[T], def T) {
	t.Helper()
	if (d.ErrorCode != "" || d.Variant == "") && d.Value != def {
		t.Errorf("%+v: an error or no variant, but not the default %v", d, def)
	}
	if d.ErrorCode != "" && (d.Reason != sdk.ReasonError || d.Variant != "" || d.Rule != "") {
		t.Errorf("%+v: an error with a reason other than ERROR, a variant or a rule", d)
	}
}
