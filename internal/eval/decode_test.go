package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestDecodeContextJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // dump of the context; "" = an error
	}{
		{"empty object", `{}`, `key:absent`},
		{"white space", " \t\r\n{ \"targetingKey\" : \"u\" } \n", `key:"u"`},
		{"scalars", `{"s":"x","n":-1.5e2,"t":true,"f":false}`, `key:absent "f"=false "n"=-150 "s"="x" "t"=true`},
		{"null is absent", `{"a":null}`, `key:absent`},
		{"null removes an earlier value", `{"a":1,"a":null}`, `key:absent`},
		{"last duplicate wins", `{"a":1,"a":"x"}`, `key:absent "a"="x"`},
		{"arrays", `{"l":["a",1,true,null],"e":[]}`, `key:absent "e"=[] "l"=["a",1,true,null]`},
		{"escapes", `{"s":"a\"b\\c\u00e9\ud83d\ude00\n"}`, `key:absent "s"="a\"b\\cé😀\n"`},
		{"escaped name", `{"t\u0061rgetingKey":"u"}`, `key:"u"`},
		{"utf-8", `{"s":"Zoë 用户"}`, `key:absent "s"="Zoë 用户"`},
		{"invalid utf-8 is replaced", "{\"s\":\"a\xffb\"}", `key:absent "s"="a` + "\uFFFD" + `b"`},
		{"lone surrogate is replaced", `{"s":"\ud800"}`, `key:absent "s"="` + "\uFFFD" + `"`},
		{"number key", `{"targetingKey":1}`, `key:invalid`},
		{"object key", `{"targetingKey":{"a":[1,{}]}}`, `key:invalid`},
		{"null key", `{"targetingKey":null}`, `key:absent`},
		{"key then null", `{"targetingKey":"u","targetingKey":null}`, `key:absent`},
		{"bad key then good", `{"targetingKey":1,"targetingKey":"u"}`, `key:"u"`},
		{"object overridden", `{"o":{},"o":"x"}`, `key:absent "o"="x"`},
		{"object", `{"o":{"a":1}}`, `key:absent "o"={"a":1}`},
		{"empty object", `{"o":{}}`, `key:absent "o"={}`},
		{"nested objects", `{"u":{"z":{"y":[1,{"q":2}]},"a":"x"}}`, `key:absent "u"={"a":"x","z":{"y":[1,{…}]}}`},
		{"object members: last duplicate wins, null is absent", `{"o":{"b":1,"a":2,"b":null,"c":null,"a":3}}`, `key:absent "o"={"a":3}`},
		{"object in array", `{"o":[1,{}]}`, `key:absent "o"=[1,{…}]`},
		{"nested array", `{"o":[[1]]}`, `key:absent "o"=[[…]]`},
		{"as deep as the limit", `{"o":` + nestedJSON(MaxDepth-1) + `}`, `key:absent "o"=` + nestedJSON(MaxDepth-1)},
		{"array as deep as the limit", `{"o":[` + nestedJSON(MaxDepth-2) + `]}`, `key:absent "o"=[{…}]`},
		{"deeper than the limit", `{"o":` + nestedJSON(MaxDepth) + `}`, ``},
		{"array deeper than the limit", `{"o":[` + nestedJSON(MaxDepth-1) + `]}`, ``},
		{"9000 levels", `{"o":` + nestedJSON(9000) + `}`, ``},
		{"9000 levels of arrays", `{"o":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}`, ``},
		{"targeting key deeper than the limit", `{"targetingKey":` + nestedJSON(MaxDepth) + `}`, ``},
		{"not an object", `[]`, ``},
		{"string", `"x"`, ``},
		{"null", `null`, ``},
		{"empty", ``, ``},
		{"trailing data", `{}{}`, ``},
		{"trailing comma", `{"a":1,}`, ``},
		{"missing colon", `{"a" 1}`, ``},
		{"single quotes", `{'a':1}`, ``},
		{"leading zero", `{"a":01}`, ``},
		{"bare dot", `{"a":1.}`, ``},
		{"plus sign", `{"a":+1}`, ``},
		{"exponent without digits", `{"a":1e}`, ``},
		{"out of range", `{"a":1e400}`, ``},
		{"out of range in a skipped key", `{"targetingKey":1e400}`, ``},
		{"control character", "{\"a\":\"x\ty\"}", ``},
		{"bad escape", `{"a":"\x"}`, ``},
		{"unterminated", `{"a":"x`, ``},
		{"bad literal", `{"a":tru}`, ``},
		{"unterminated array", `{"a":[1,2}`, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeContextJSON([]byte(tc.in))
			switch {
			case tc.want == "" && err == nil:
				t.Errorf("DecodeContextJSON(%q) = %s, want an error", tc.in, dump(&c))
			case tc.want == "":
				var ce *ContextError
				if !errors.As(err, &ce) {
					t.Errorf("DecodeContextJSON(%q) error %v is not a *ContextError", tc.in, err)
				}
			case err != nil:
				t.Errorf("DecodeContextJSON(%q) = %v, want %s", tc.in, err, tc.want)
			case dump(&c) != tc.want:
				t.Errorf("DecodeContextJSON(%q) = %s, want %s", tc.in, dump(&c), tc.want)
			}
		})
	}
}

// nestedJSON returns levels objects nested in one another under the key
// "a", the innermost holding 1: as an attribute, it nests levels+1 levels
// deep.
func nestedJSON(levels int) string {
	return strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels)
}

func TestDecodeContextJSONDepthError(t *testing.T) {
	_, err := DecodeContextJSON([]byte(`{"targetingKey":"u","ok":{"a":1},"prefs":{"b":` + nestedJSON(MaxDepth) + `}}`))
	var ce *ContextError
	if !errors.As(err, &ce) || ce.Attribute != "prefs" || !errors.Is(err, ErrTooDeep) ||
		ce.Error() != `invalid context: attribute "prefs": nests objects and arrays more than 64 levels deep (the limit)` {
		t.Errorf("DecodeContextJSON nested too deep: %v", err)
	}
}

func TestDecodeContextJSONLimit(t *testing.T) {
	object := func(n int) []byte {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`"a%d":%d`, i, i)
		}
		return []byte(`{"targetingKey":"u",` + strings.Join(parts, ",") + `}`)
	}
	if c, err := DecodeContextJSON(object(MaxAttributes)); err != nil || c.Len() != MaxAttributes {
		t.Errorf("DecodeContextJSON(%d attributes) = %d attributes, %v", MaxAttributes, c.Len(), err)
	}
	if _, err := DecodeContextJSON(object(MaxAttributes + 1)); err == nil {
		t.Errorf("DecodeContextJSON(%d attributes) succeeded, want an error", MaxAttributes+1)
	}
}

func TestDecodeJSONReuse(t *testing.T) {
	var c Context
	if err := c.DecodeJSON([]byte(`{"targetingKey":"a","x":1,"y":2,"z":3,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.DecodeJSON([]byte(`{"x":"only"}`)); err != nil {
		t.Fatal(err)
	}
	if got, want := dump(&c), `key:absent "x"="only"`; got != want {
		t.Errorf("after reuse: %s, want %s", got, want)
	}
	if err := c.DecodeJSON([]byte(`{"x":`)); err == nil || dump(&c) != "key:absent" {
		t.Errorf("after a failed decode: %s, %v; want an empty context and an error", dump(&c), err)
	}
}

// checkDecodeMatchesMap checks the contract of DecodeContextJSON against
// json.Unmarshal followed by ContextFromMap.
func checkDecodeMatchesMap(t *testing.T, data []byte) {
	got, err := DecodeContextJSON(data)
	var m map[string]any
	if jsonErr := json.Unmarshal(data, &m); jsonErr != nil || m == nil {
		if err == nil {
			t.Fatalf("DecodeContextJSON(%q) succeeded; json.Unmarshal: %v, %v", data, m, jsonErr)
		}
		return
	}
	var ce *ContextError
	if errors.As(err, &ce) && ce.Reason == tooDeep {
		// Documented: refused wherever it nests too deep, even in a value
		// a later duplicate name replaces.
		if d := jsonDepth(t, data); d <= MaxDepth {
			t.Fatalf("DecodeContextJSON(%q) = %v, but it nests only %d levels", data, err, d)
		}
		return
	}
	want := ContextFromMap(m)
	if len(m) > MaxAttributes || want.attributeErr() != nil {
		if err == nil && want.attributeErr() != nil {
			t.Fatalf("DecodeContextJSON(%q) succeeded; ContextFromMap: %v", data, want.attributeErr())
		}
		return
	}
	if err != nil {
		t.Fatalf("DecodeContextJSON(%q) = %v; ContextFromMap gives %s", data, err, dump(&want))
	}
	if dump(&got) != dump(&want) {
		t.Fatalf("DecodeContextJSON(%q) = %s; ContextFromMap gives %s", data, dump(&got), dump(&want))
	}
}

// jsonDepth returns how deep valid JSON data nests objects and arrays.
func jsonDepth(t *testing.T, data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return deepest
		}
		if err != nil {
			t.Fatalf("jsonDepth(%q): %v", data, err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

func TestDecodeMatchesContextFromMap(t *testing.T) {
	for _, in := range decodeSeeds() {
		t.Run(in, func(t *testing.T) { checkDecodeMatchesMap(t, []byte(in)) })
	}
}

// decodeSeeds are context documents for the decoder's tests and fuzzing.
func decodeSeeds() []string {
	return []string{
		`{}`,
		`{"targetingKey":"user-1","country":"DE","age":42,"beta":true,"groups":["staff",null],"score":1.5e3}`,
		`{"targetingKey":7}`,
		`{"targetingKey":null,"a":[]}`,
		`{"a":{"b":[1,{"c":null}]}}`,
		`{"a":[[1]]}`,
		`{"user":{"plan":"pro","org":{"id":42,"tags":["x",null,{"y":1}]},"plan":null},"a/b":{"m~n":"x"}}`,
		`{"u":{"a":{"b":{"c":{"d":{"e":{"f":[[[{"g":1}]]]}}}}}}}`,
		`{"o":{"b":1,"a":2,"b":null,"a":3,"c":{}}}`,
		`{"a":` + nestedJSON(MaxDepth) + `,"a":1}`,
		`{"a":[` + nestedJSON(MaxDepth-2) + `]}`,
		`{"s":"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"}`,
		"{\"s\":\"\xff\"}",
		`{"a":1,"a":null,"a":"x"}`,
		`{"n":-0,"m":0.0,"e":1E+2,"f":1e-400}`,
		`[1]`,
		`null`,
		` {"a" : [ true , false , null ] } `,
	}
}

// FuzzDecodeContext checks that decoding never panics and agrees with
// json.Unmarshal followed by ContextFromMap.
func FuzzDecodeContext(f *testing.F) {
	for _, s := range decodeSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecodeMatchesMap)
}
