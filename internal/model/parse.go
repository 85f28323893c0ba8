package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse decodes a document from YAML or JSON. Input that is valid JSON is
// decoded with encoding/json semantics; anything else is read as YAML 1.2
// (so on, off, yes and no are strings, not booleans).
//
// Decoding is strict: an unknown key, a duplicate key (in YAML) or a value
// of the wrong shape is a problem reported with its path, and Parse reports
// every problem it finds as an Errors value. Object keys are matched
// case-sensitively in both formats.
//
// Where a string is expected, a YAML scalar of any type is read as its
// literal text (version: 2.4 is the string "2.4"); JSON demands a string.
// null stands for an absent field and an empty list; it is not allowed as
// an item of a list of strings or objects. Integers (version, weight) must
// be written as integers. Numbers elsewhere (variant and condition values)
// become float64, JSON objects map[string]any and arrays []any. Parse
// normalises empty lists and maps to nil. Validate checks the rest.
func Parse(data []byte) (*Document, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	d := &decoder{budget: max(1<<20, 16*len(data))}
	var root value
	if json.Valid(data) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, Errors{NewFieldError("", "invalid JSON: %v", err)}
		}
		root = value{j: v}
	} else {
		n, err := parseYAML(data)
		if err != nil {
			return nil, Errors{NewFieldError("", "%v", err)}
		}
		root = value{y: n}
	}
	doc := &Document{}
	if r := d.resolve(root); r.kind() != kindObject {
		d.errorf(r, "", "expected an object at the top level, got %s", r.describe())
	} else {
		documentCodec().decode(d, root, "", reflect.ValueOf(doc).Elem())
	}
	if err := d.errs.err(); err != nil {
		return nil, err
	}
	return doc, nil
}

// parseYAML parses data as a single YAML document and returns its root
// node.
func parseYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty document")
		}
		return nil, errors.New("invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, errors.New("invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil, errors.New("more than one YAML document")
	}
	if len(doc.Content) != 1 {
		return nil, errors.New("empty document")
	}
	return doc.Content[0], nil
}

// maxDepth bounds the nesting of variant and condition values and of YAML
// merges, so that hostile input (such as a YAML alias that contains
// itself) cannot exhaust the stack or build huge paths.
const maxDepth = 100

// decoder walks a decoded YAML node tree or JSON value, building the model
// and collecting problems.
type decoder struct {
	errs Errors
	// budget is how many more YAML nodes the walk may visit. Aliases can
	// make a small document expand exponentially; once the budget is spent
	// the walk reports one problem and treats further nodes as null.
	budget    int
	exhausted bool
}

// value is one node of the input: a YAML node when y is set, otherwise a
// JSON value as decoded by encoding/json with UseNumber.
type value struct {
	y *yaml.Node
	j any
}

// kind is the shape of a value.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindList
	kindObject
)

// resolve follows YAML aliases and charges the visit to the budget.
func (d *decoder) resolve(v value) value {
	if v.y == nil {
		return v
	}
	n := v.y
	for n.Kind == yaml.AliasNode && n.Alias != nil && d.charge(1) {
		n = n.Alias
	}
	if !d.charge(1) || n.Kind == yaml.AliasNode {
		return value{y: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}}
	}
	return value{y: n}
}

// charge takes n visits from the budget and reports whether it sufficed.
func (d *decoder) charge(n int) bool {
	d.budget -= n
	if d.budget >= 0 {
		return true
	}
	if !d.exhausted {
		d.exhausted = true
		d.errs.add("", "document expands to too many nodes (aliases)")
	}
	return false
}

// kind returns the shape of a resolved value.
func (v value) kind() kind {
	if v.y != nil {
		switch v.y.Kind {
		case yaml.MappingNode:
			return kindObject
		case yaml.SequenceNode:
			return kindList
		case yaml.ScalarNode:
			switch v.y.ShortTag() {
			case "!!null":
				return kindNull
			case "!!bool":
				return kindBool
			case "!!int", "!!float":
				return kindNumber
			}
			return kindString
		}
		return kindNull
	}
	switch v.j.(type) {
	case bool:
		return kindBool
	case json.Number:
		return kindNumber
	case string:
		return kindString
	case []any:
		return kindList
	case map[string]any:
		return kindObject
	}
	return kindNull
}

// describe names a resolved value for a message: its shape and, for
// scalars, its text.
func (v value) describe() string {
	switch v.kind() {
	case kindNull:
		return "null"
	case kindList:
		return "a list"
	case kindObject:
		return "an object"
	}
	var text string
	if v.y != nil {
		text = v.y.Value
	} else {
		switch j := v.j.(type) {
		case bool:
			text = strconv.FormatBool(j)
		case json.Number:
			text = j.String()
		case string:
			text = j
		}
	}
	if len(text) > 40 {
		text = text[:37] + "..."
	}
	switch v.kind() {
	case kindBool:
		return "boolean " + text
	case kindNumber:
		return "number " + text
	}
	return "string " + strconv.Quote(text)
}

// errorf records a problem at path, adding the YAML line of v when known.
func (d *decoder) errorf(v value, path, format string, args ...any) {
	if v.y != nil && v.y.Line > 0 {
		format += " (line " + strconv.Itoa(v.y.Line) + ")"
	}
	d.errs.add(path, format, args...)
}

// member is one key and value of an object.
type member struct {
	key string
	k   value // the key node, for its position
	v   value
}

// object calls set for every member of the object v at path, in document
// order for YAML and key order for JSON. set reports whether it knows the
// key; an unknown key is a problem. A null v is an empty object.
func (d *decoder) object(v value, path string, set func(key string, v value, path string) bool) {
	v = d.resolve(v)
	switch v.kind() {
	case kindNull:
		return
	case kindObject:
	default:
		d.errorf(v, path, "expected an object, got %s", v.describe())
		return
	}
	for _, m := range d.members(v, path, 0) {
		p := memberPath(path, m.key)
		if !set(m.key, m.v, p) {
			d.errorf(m.k, p, "unknown field")
		}
	}
}

// members lists the members of the resolved object v. For YAML it rejects
// duplicate and non-scalar keys and applies merge keys ("<<"): explicit
// keys win over merged ones, and earlier merged objects over later ones.
func (d *decoder) members(v value, path string, depth int) []member {
	if v.y == nil {
		obj := v.j.(map[string]any)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := make([]member, len(keys))
		for i, k := range keys {
			out[i] = member{key: k, v: value{j: obj[k]}}
		}
		return out
	}
	if depth >= maxDepth {
		d.errorf(v, path, "merge keys nested too deeply")
		return nil
	}
	content := v.y.Content
	if !d.charge(len(content) / 2) {
		return nil
	}
	out := make([]member, 0, len(content)/2)
	seen := make(map[string]struct{}, len(content)/2)
	var merges []value
	for i := 0; i+1 < len(content); i += 2 {
		k := d.resolve(value{y: content[i]})
		if k.y.Kind != yaml.ScalarNode {
			d.errorf(k, path, "object key must be a scalar, got %s", k.describe())
			continue
		}
		if k.y.ShortTag() == "!!merge" {
			merges = append(merges, value{y: content[i+1]})
			continue
		}
		if _, dup := seen[k.y.Value]; dup {
			d.errorf(k, memberPath(path, k.y.Value), "duplicate key")
			continue
		}
		seen[k.y.Value] = struct{}{}
		out = append(out, member{key: k.y.Value, k: k, v: value{y: content[i+1]}})
	}
	for _, m := range merges {
		m = d.resolve(m)
		var sources []value
		switch m.kind() {
		case kindObject:
			sources = []value{m}
		case kindList:
			for _, s := range m.y.Content {
				sources = append(sources, d.resolve(value{y: s}))
			}
		default:
			sources = []value{m}
		}
		for _, s := range sources {
			if s.kind() != kindObject {
				d.errorf(s, memberPath(path, "<<"), "merge expects an object or a list of objects, got %s", s.describe())
				continue
			}
			for _, mm := range d.members(s, path, depth+1) {
				if _, dup := seen[mm.key]; dup {
					continue
				}
				seen[mm.key] = struct{}{}
				out = append(out, mm)
			}
		}
	}
	return out
}

// list returns the items of the list v at path; null is an empty list.
func (d *decoder) list(v value, path string) []value {
	v = d.resolve(v)
	switch v.kind() {
	case kindNull:
		return nil
	case kindList:
	default:
		d.errorf(v, path, "expected a list, got %s", v.describe())
		return nil
	}
	if v.y == nil {
		items := v.j.([]any)
		out := make([]value, len(items))
		for i, it := range items {
			out[i] = value{j: it}
		}
		return out
	}
	out := make([]value, len(v.y.Content))
	for i, it := range v.y.Content {
		out[i] = value{y: it}
	}
	return out
}

// stringList decodes a list of strings; null is an empty list, and an empty
// list is nil. It is the fast path for long lists of targeting keys.
func (d *decoder) stringList(v value, path string) []string {
	v = d.resolve(v)
	switch v.kind() {
	case kindNull:
		return nil
	case kindList:
	default:
		d.errorf(v, path, "expected a list, got %s", v.describe())
		return nil
	}
	if v.y == nil {
		items := v.j.([]any)
		if len(items) == 0 {
			return nil
		}
		out := make([]string, len(items))
		for i, it := range items {
			s, ok := it.(string)
			if !ok {
				d.errorf(value{j: it}, indexPath(path, i), "expected a string, got %s", value{j: it}.describe())
			}
			out[i] = s
		}
		return out
	}
	items := v.y.Content
	if len(items) == 0 || !d.charge(len(items)) {
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		if it.Kind == yaml.AliasNode {
			it = d.resolve(value{y: it}).y
		}
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			iv := value{y: it}
			d.errorf(iv, indexPath(path, i), "expected a string, got %s", iv.describe())
			continue
		}
		out[i] = it.Value
	}
	return out
}

// str decodes a string. Any YAML scalar is read as its literal text; null
// is the empty string.
func (d *decoder) str(v value, path string) string {
	v = d.resolve(v)
	k := v.kind()
	switch {
	case k == kindNull:
		return ""
	case v.y != nil && v.y.Kind == yaml.ScalarNode:
		return v.y.Value
	case k == kindString:
		return v.j.(string)
	}
	d.errorf(v, path, "expected a string, got %s", v.describe())
	return ""
}

// boolean decodes true or false; null is false.
func (d *decoder) boolean(v value, path string) bool {
	v = d.resolve(v)
	switch v.kind() {
	case kindNull:
		return false
	case kindBool:
		if v.y == nil {
			return v.j.(bool)
		}
		if b, ok := yamlBool(v.y.Value); ok {
			return b
		}
	}
	d.errorf(v, path, "expected a boolean, got %s", v.describe())
	return false
}

// integer decodes an integer written as one; null is 0.
func (d *decoder) integer(v value, path string) int {
	v = d.resolve(v)
	switch v.kind() {
	case kindNull:
		return 0
	case kindNumber:
		if v.y == nil {
			if n, err := strconv.ParseInt(v.j.(json.Number).String(), 10, strconv.IntSize); err == nil {
				return int(n)
			}
		} else if plain, ok := yamlIntText(v.y); ok {
			if n, err := strconv.ParseInt(plain, 0, strconv.IntSize); err == nil {
				return int(n)
			}
		}
	}
	d.errorf(v, path, "expected an integer, got %s", v.describe())
	return 0
}

// anyValue decodes any value: null is nil, numbers float64, objects
// map[string]any and lists []any.
func (d *decoder) anyValue(v value, path string, depth int) any {
	v = d.resolve(v)
	if depth >= maxDepth {
		d.errorf(v, path, "value nested too deeply")
		return nil
	}
	switch v.kind() {
	case kindNull:
		return nil
	case kindBool:
		return d.boolean(v, path)
	case kindNumber:
		var f float64
		var ok bool
		if v.y == nil {
			var err error
			f, err = strconv.ParseFloat(v.j.(json.Number).String(), 64)
			ok = err == nil
		} else {
			f, ok = yamlNumber(v.y)
		}
		if !ok {
			d.errorf(v, path, "invalid number %s", v.describe())
		}
		return f
	case kindString:
		return d.str(v, path)
	case kindList:
		items := d.list(v, path)
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = d.anyValue(it, indexPath(path, i), depth+1)
		}
		return out
	}
	members := d.members(v, path, 0)
	out := make(map[string]any, len(members))
	for _, m := range members {
		out[m.key] = d.anyValue(m.v, memberPath(path, m.key), depth+1)
	}
	return out
}

// yamlBool reads the text of a !!bool scalar (YAML 1.2 core schema).
func yamlBool(s string) (bool, bool) {
	switch s {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// yamlNumber reads a !!int or !!float scalar.
func yamlNumber(n *yaml.Node) (float64, bool) {
	if n.ShortTag() == "!!int" {
		plain, ok := yamlIntText(n)
		if !ok {
			return 0, false
		}
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return float64(i), true
		}
		if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return float64(u), true
		}
		return 0, false
	}
	switch n.Value {
	case ".nan", ".NaN", ".NAN":
		return math.NaN(), true
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF":
		return math.Inf(1), true
	case "-.inf", "-.Inf", "-.INF":
		return math.Inf(-1), true
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	return f, err == nil
}

// yamlIntText returns the text of a !!int scalar ready for strconv with
// base 0, as yaml.v3 resolves it (underscores dropped; 0x, 0o and 0b
// prefixes). A decimal with a leading zero, which YAML 1.1 reads as octal
// and YAML 1.2 as decimal, is refused as ambiguous.
func yamlIntText(n *yaml.Node) (string, bool) {
	if n.ShortTag() != "!!int" {
		return "", false
	}
	plain := strings.ReplaceAll(n.Value, "_", "")
	digits := strings.TrimLeft(plain, "+-")
	if len(digits) > 1 && digits[0] == '0' && '0' <= digits[1] && digits[1] <= '9' {
		return "", false
	}
	return plain, true
}

// memberPath is the path of key inside the object at path: path.key, or
// path["key"] when key is not a plain identifier.
func memberPath(path, key string) string {
	if !plainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath is the path of item i of the list at path.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// plainKey reports whether key can stand in a path without quoting.
func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// item checks that a list item that must be an object is one.
func (d *decoder) item(v value, path string) bool {
	r := d.resolve(v)
	if r.kind() != kindObject {
		d.errorf(r, path, "expected an object, got %s", r.describe())
		return false
	}
	return true
}
