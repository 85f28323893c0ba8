package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// dump renders c canonically: the targeting key state, then the attributes
// sorted by name.
func dump(c *Context) string {
	var b strings.Builder
	switch c.keyKind {
	case keyAbsent:
		b.WriteString("key:absent")
	case keyString:
		fmt.Fprintf(&b, "key:%q", c.key.s)
	case keyInvalid:
		b.WriteString("key:invalid")
	}
	var attrs []string
	c.each(func(a *attribute) { attrs = append(attrs, fmt.Sprintf("%q=%s", a.name, dumpValue(a.val))) })
	sort.Strings(attrs)
	for _, a := range attrs {
		b.WriteString(" " + a)
	}
	if c.bad > 0 {
		fmt.Fprintf(&b, " bad:%d", c.bad)
	}
	return b.String()
}

func dumpValue(v value) string {
	switch v.kind {
	case kindNull:
		return "null"
	case kindString:
		return fmt.Sprintf("%q", v.s)
	case kindNumber:
		return fmt.Sprintf("%v", v.n)
	case kindBool:
		return fmt.Sprintf("%v", v.b)
	case kindArray:
		if v.list == nil {
			return "[…]"
		}
		parts := make([]string, len(v.list))
		for i, e := range v.list {
			parts[i] = dumpValue(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case kindObject:
		if v.obj == nil {
			return "{…}"
		}
		parts := make([]string, len(v.obj.members))
		for i, m := range v.obj.members {
			parts[i] = fmt.Sprintf("%q:%s", m.name, dumpValue(m.val))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return "invalid"
}

func TestContextBuilder(t *testing.T) {
	tests := []struct {
		name string
		ctx  *Context
		want string
	}{
		{"zero", new(Context), `key:absent`},
		{"key", NewContext("u"), `key:"u"`},
		{"empty key is a key", NewContext(""), `key:""`},
		{"scalars", NewContext("u").String("s", "x").Number("n", 1.5).Bool("b", true), `key:"u" "b"=true "n"=1.5 "s"="x"`},
		{"replace", NewContext("u").String("s", "x").Number("s", 2), `key:"u" "s"=2`},
		{"strings", new(Context).Strings("g", "a", "b"), `key:absent "g"=["a","b"]`},
		{"set key by name", new(Context).String("targetingKey", "k"), `key:"k"`},
		{"set non-string key", NewContext("u").Set("targetingKey", 5), `key:invalid`},
		{"set nil key", NewContext("u").Set("targetingKey", nil), `key:absent`},
		{"set nil removes", NewContext("u").String("a", "x").Set("a", nil), `key:"u"`},
		{"set int", new(Context).Set("n", 7), `key:absent "n"=7`},
		{"set uint8", new(Context).Set("n", uint8(7)), `key:absent "n"=7`},
		{"set float32", new(Context).Set("n", float32(0.5)), `key:absent "n"=0.5`},
		{"set json.Number", new(Context).Set("n", json.Number("12")), `key:absent "n"=12`},
		{"set []any", new(Context).Set("l", []any{"a", nil, 1.0, true}), `key:absent "l"=["a",null,1,true]`},
		{"set []int", new(Context).Set("l", []int{1, 2}), `key:absent "l"=[1,2]`},
		{"set []bool", new(Context).Set("l", []bool{true}), `key:absent "l"=[true]`},
		{"set []float64", new(Context).Set("l", []float64{0.5}), `key:absent "l"=[0.5]`},
		{"set empty []string", new(Context).Set("l", []string{}), `key:absent "l"=[]`},
		{"set map", new(Context).Set("m", map[string]any{}), `key:absent "m"={}`},
		{"set nested map", new(Context).Set("m", map[string]any{"b": map[string]any{"c": []any{1, "x"}}, "a": nil, "z": true}),
			`key:absent "m"={"b":{"c":[1,"x"]},"z":true}`},
		{"set array of maps and arrays", new(Context).Set("m", []any{map[string]any{"a": 1}, []any{2}, []string{"x"}, 3}), `key:absent "m"=[{…},[…],[…],3]`},
		{"set map holding a struct", new(Context).Set("m", map[string]any{"a": map[string]any{"b": struct{}{}}}), `key:absent "m"=invalid bad:1`},
		{"set array holding a map holding a struct", new(Context).Set("m", []any{map[string]any{"b": struct{}{}}}), `key:absent "m"=invalid bad:1`},
		{"set map as deep as the limit", new(Context).Set("m", nestedMap(MaxDepth-1)), `key:absent "m"=` + strings.Repeat(`{"a":`, MaxDepth-1) + "1" + strings.Repeat("}", MaxDepth-1)},
		{"set map deeper than the limit", new(Context).Set("m", nestedMap(MaxDepth)), `key:absent "m"=invalid bad:1`},
		{"set array deeper than the limit", new(Context).Set("m", nestedMap(MaxDepth-2)).Set("l", []any{[]any{nestedMap(MaxDepth - 2)}}), `key:absent "l"=invalid "m"=` + strings.Repeat(`{"a":`, MaxDepth-2) + "1" + strings.Repeat("}", MaxDepth-2) + " bad:1"},
		{"set struct", new(Context).Set("m", struct{}{}), `key:absent "m"=invalid bad:1`},
		{"replace invalid", new(Context).Set("m", struct{}{}).String("m", "ok"), `key:absent "m"="ok"`},
		{"remove invalid", new(Context).Set("m", struct{}{}).Set("m", nil), `key:absent`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := dump(tc.ctx); got != tc.want {
				t.Errorf("context = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestContextManyAttributes(t *testing.T) {
	c := NewContext("u")
	for i := 0; i < 20; i++ {
		c.Number(fmt.Sprintf("a%02d", i), float64(i))
	}
	// Remove from the inline part and from the overflow, then look all up.
	c.Set("a03", nil).Set("a15", nil).Set("a00", nil)
	if c.Len() != 17 {
		t.Errorf("Len() = %d, want 17", c.Len())
	}
	for i := 0; i < 20; i++ {
		v := c.lookup(fmt.Sprintf("a%02d", i))
		gone := i == 3 || i == 15 || i == 0
		if (v == nil) != gone || (v != nil && v.n != float64(i)) {
			t.Errorf("lookup(a%02d) = %v; removed: %v", i, v, gone)
		}
	}
	c.Reset()
	if dump(c) != "key:absent" || c.Len() != 0 {
		t.Errorf("after Reset: %s", dump(c))
	}
}

func TestContextFromMap(t *testing.T) {
	tests := []struct {
		name string
		m    map[string]any
		want string
	}{
		{"nil map", nil, `key:absent`},
		{"key and attributes", map[string]any{"targetingKey": "u", "a": "x", "n": 2.0, "gone": nil}, `key:"u" "a"="x" "n"=2`},
		{"null key", map[string]any{"targetingKey": nil}, `key:absent`},
		{"number key", map[string]any{"targetingKey": 1.0}, `key:invalid`},
		{"object key", map[string]any{"targetingKey": map[string]any{}}, `key:invalid`},
		{"object attribute", map[string]any{"o": map[string]any{"a": 1.0}}, `key:absent "o"={"a":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ContextFromMap(tc.m)
			if got := dump(&c); got != tc.want {
				t.Errorf("ContextFromMap(%v) = %s, want %s", tc.m, got, tc.want)
			}
		})
	}
}

func TestContextErr(t *testing.T) {
	tests := []struct {
		name     string
		ctx      Context
		wantAttr string // "" = no error
		wantText string
	}{
		{"valid", ContextFromMap(map[string]any{"targetingKey": "u", "a": []any{"x", nil}}), "", ""},
		{"no key", ContextFromMap(map[string]any{"a": 1.0}), "", ""},
		{"non-string key", ContextFromMap(map[string]any{"targetingKey": 3.0, "z": map[string]any{}}), "targetingKey", "must be a string"},
		{"objects and nested arrays", ContextFromMap(map[string]any{"z": map[string]any{}, "b": []any{[]any{}}, "ok": "x"}), "", ""},
		{"first bad attribute by name", ContextFromMap(map[string]any{"z": struct{}{}, "b": []any{struct{}{}}, "ok": "x"}), "b", "not supported"},
		{"too deep", ContextFromMap(map[string]any{"d": nestedMap(MaxDepth)}), "d", "more than 64 levels deep (the limit)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.ctx.Err()
			var ce *ContextError
			switch {
			case tc.wantAttr == "" && err != nil:
				t.Errorf("Err() = %v, want nil", err)
			case tc.wantAttr != "" && (!errors.As(err, &ce) || ce.Attribute != tc.wantAttr || !strings.Contains(err.Error(), tc.wantText)):
				t.Errorf("Err() = %v, want a *ContextError naming %q: %s", err, tc.wantAttr, tc.wantText)
			}
		})
	}
}

// nestedMap returns levels maps nested in one another under the key "a",
// the innermost holding 1: as an attribute, it nests levels+1 levels deep.
func nestedMap(levels int) any {
	var v any = 1
	for range levels {
		v = map[string]any{"a": v}
	}
	return v
}

func TestTooDeepNamesMaxDepth(t *testing.T) {
	if !strings.Contains(tooDeep, fmt.Sprintf(" %d levels", MaxDepth)) {
		t.Errorf("tooDeep = %q does not name MaxDepth %d", tooDeep, MaxDepth)
	}
}
