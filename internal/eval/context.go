package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/model"
)

// TargetingKeyAttribute is the context key that names the unit being
// evaluated. Conditions and bucket_by may name it like an attribute.
const TargetingKeyAttribute = "targetingKey"

// MaxAttributes is the most attributes DecodeContextJSON accepts in one
// context.
const MaxAttributes = 256

// MaxDepth is the deepest nesting of objects and arrays a context may have,
// the context object itself being the first level: {"a":{"b":[1]}} nests
// three levels. DecodeContextJSON refuses a deeper context, and
// ContextFromMap makes one invalid (INVALID_CONTEXT).
const MaxDepth = 64

// tooDeep is the reason given for a context nested deeper than MaxDepth.
const tooDeep = "nests objects and arrays more than 64 levels deep (the limit)"

// ErrTooDeep is what the *ContextError of DecodeContextJSON unwraps to for
// a context nested deeper than MaxDepth.
var ErrTooDeep = errors.New(tooDeep)

// inlineAttributes is how many attributes a Context holds without
// allocating.
const inlineAttributes = 8

// kind is the type of an attribute value.
type kind uint8

const (
	kindNull    kind = iota // a null element of an array; never an attribute or a member
	kindString              // s
	kindNumber              // n
	kindBool                // b
	kindArray               // list; nil for an array inside an array, which matches nothing
	kindObject              // obj; nil for an object inside an array, which matches nothing
	kindInvalid             // a Go value of an unsupported type: makes the context invalid; s says why
)

// value is one attribute value. No operator holds for an object, nor for
// an array or object element of an array (DESIGN §3 "Context"): only JSON
// Pointers look into objects, and never into arrays.
type value struct {
	kind kind
	b    bool
	n    float64
	s    string
	list []value
	obj  *object
}

// object holds an object value's members sorted by name, without null
// members (a null member is absent) and without duplicates.
type object struct {
	members []attribute
}

// newObject makes an object of members in the order they were given: of
// duplicate names the last wins, and null members are dropped. It reorders
// members in place.
func newObject(members []attribute) *object {
	slices.SortStableFunc(members, func(a, b attribute) int { return strings.Compare(a.name, b.name) })
	out := members[:0]
	for i := range members {
		if i+1 < len(members) && members[i+1].name == members[i].name {
			continue
		}
		if members[i].val.kind != kindNull {
			out = append(out, members[i])
		}
	}
	clear(members[len(out):])
	return &object{members: out}
}

// member returns the member name of v, or nil when v is nil, not an object,
// or has no such member. It does not allocate.
func (v *value) member(name string) *value {
	if v == nil || v.obj == nil {
		return nil
	}
	m := v.obj.members
	lo, hi := 0, len(m)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if m[mid].name < name {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(m) && m[lo].name == name {
		return &m[lo].val
	}
	return nil
}

// attrRef is a compiled attribute reference (DESIGN §3 "Attribute
// references"): the top-level key, and for a JSON Pointer into nested
// objects the keys below it. A plain name has no path, so that looking it
// up costs what it did before pointers existed.
type attrRef struct {
	name string
	path []string // nil for a top-level attribute
}

// compileRef compiles a condition's attribute or a bucket_by.
func compileRef(ref string) (attrRef, error) {
	keys, err := model.AttributeKeys(ref)
	if err != nil {
		return attrRef{}, err
	}
	r := attrRef{name: keys[0]}
	if len(keys) > 1 {
		r.path = keys[1:]
	}
	return r, nil
}

type attribute struct {
	name string
	val  value
}

type keyState uint8

const (
	keyAbsent keyState = iota
	keyString
	keyInvalid
)

// Context is an evaluation context (DESIGN §3): an optional targeting key
// and named attributes, which may be objects nesting further attributes
// that JSON Pointers reach. The zero value is an empty context without a
// targeting key. Build one with NewContext and the chaining setters, with
// ContextFromMap, or with DecodeContextJSON. A Context holds up to eight
// attributes without allocating and may be reused after Reset. A Context
// must not be changed while an evaluation reads it, and a copy of a Context
// with more than eight attributes shares their storage with the original:
// change only one of them.
type Context struct {
	key     value // the targeting key as a string value when keyKind is keyString
	keyKind keyState
	bad     int // attributes holding kindInvalid values
	n       int // attributes used in inline
	inline  [inlineAttributes]attribute
	more    []attribute
}

// NewContext returns a context whose targeting key is key.
func NewContext(key string) *Context {
	c := new(Context)
	c.setKey(key, keyString)
	return c
}

// Reset empties c for reuse, keeping the storage it has allocated.
func (c *Context) Reset() {
	more := c.more[:0]
	clear(c.more)
	*c = Context{more: more}
}

// SetTargetingKey sets c's targeting key and returns c.
func (c *Context) SetTargetingKey(key string) *Context {
	c.setKey(key, keyString)
	return c
}

// TargetingKey returns c's targeting key and whether c has one that is a
// string.
func (c *Context) TargetingKey() (string, bool) {
	return c.key.s, c.keyKind == keyString
}

// setKey sets the targeting key and its state.
func (c *Context) setKey(key string, state keyState) {
	c.key, c.keyKind = value{kind: kindString, s: key}, state
}

// String sets the attribute name to a string and returns c.
func (c *Context) String(name, v string) *Context {
	c.set(name, value{kind: kindString, s: v})
	return c
}

// Number sets the attribute name to a number and returns c.
func (c *Context) Number(name string, v float64) *Context {
	c.set(name, value{kind: kindNumber, n: v})
	return c
}

// Bool sets the attribute name to a bool and returns c.
func (c *Context) Bool(name string, v bool) *Context {
	c.set(name, value{kind: kindBool, b: v})
	return c
}

// Strings sets the attribute name to an array of strings and returns c. It
// allocates the array.
func (c *Context) Strings(name string, vs ...string) *Context {
	list := make([]value, len(vs))
	for i, s := range vs {
		list[i] = value{kind: kindString, s: s}
	}
	c.set(name, value{kind: kindArray, list: list})
	return c
}

// Set sets the attribute name to v and returns c. It accepts what
// ContextFromMap accepts; nil removes the attribute, and a value of another
// type, or one nested deeper than MaxDepth, makes c invalid, so that
// evaluating it yields INVALID_CONTEXT.
func (c *Context) Set(name string, v any) *Context {
	if v == nil {
		if name == TargetingKeyAttribute {
			c.setKey("", keyAbsent)
			return c
		}
		c.remove(name)
		return c
	}
	c.set(name, toValue(v, 2, false))
	return c
}

// Err returns a *ContextError when c cannot be evaluated: its targeting
// key is not a string, or an attribute holds a Go value of an unsupported
// type or nests deeper than MaxDepth; otherwise nil. Evaluation reports the same problems as
// INVALID_CONTEXT, after FLAG_NOT_FOUND; a caller evaluating all flags at
// once may check Err first.
func (c *Context) Err() error {
	if c.keyKind == keyInvalid {
		return &ContextError{Attribute: TargetingKeyAttribute, Reason: "must be a string"}
	}
	return c.attributeErr()
}

// attributeErr returns a *ContextError naming the first (by name) attribute
// holding an unsupported value, or nil.
func (c *Context) attributeErr() error {
	if c.bad == 0 {
		return nil
	}
	first := ""
	found := false
	c.each(func(a *attribute) {
		if a.val.kind == kindInvalid && (!found || a.name < first) {
			first, found = a.name, true
		}
	})
	return &ContextError{Attribute: first, Reason: c.lookup(first).s}
}

// Len returns the number of attributes in c, not counting the targeting key.
func (c *Context) Len() int { return c.n + len(c.more) }

// lookup returns the attribute name, or nil when it is absent. The name
// "targetingKey" reads the targeting key when it is a string.
func (c *Context) lookup(name string) *value {
	if name == TargetingKeyAttribute {
		if c.keyKind != keyString {
			return nil
		}
		return &c.key
	}
	for i := 0; i < c.n; i++ {
		if c.inline[i].name == name {
			return &c.inline[i].val
		}
	}
	for i := range c.more {
		if c.more[i].name == name {
			return &c.more[i].val
		}
	}
	return nil
}

// descend returns the value path leads to from v through nested objects,
// or nil when a key is missing or a value on the way is not an object (a
// pointer through an array, string or null is absent). The value an
// attrRef r refers to in a context c is
//
//	v := c.lookup(r.name)
//	if r.path != nil {
//		v = v.descend(r.path)
//	}
//
// spelled out where it is used, so that lookup inlines there and a plain
// name costs one lookup, as before pointers existed. It does not allocate.
func (v *value) descend(path []string) *value {
	for _, k := range path {
		v = v.member(k)
	}
	return v
}

func (c *Context) each(fn func(*attribute)) {
	for i := 0; i < c.n; i++ {
		fn(&c.inline[i])
	}
	for i := range c.more {
		fn(&c.more[i])
	}
}

// find returns the slot of the attribute name, or nil.
func (c *Context) find(name string) *attribute {
	for i := 0; i < c.n; i++ {
		if c.inline[i].name == name {
			return &c.inline[i]
		}
	}
	for i := range c.more {
		if c.more[i].name == name {
			return &c.more[i]
		}
	}
	return nil
}

// set stores v under name, replacing an earlier value. The name
// "targetingKey" sets the targeting key: a string is the key, anything else
// makes the key invalid.
func (c *Context) set(name string, v value) {
	if name == TargetingKeyAttribute {
		if v.kind == kindString {
			c.setKey(v.s, keyString)
		} else {
			c.setKey("", keyInvalid)
		}
		return
	}
	if v.kind == kindInvalid {
		c.bad++
	}
	if a := c.find(name); a != nil {
		if a.val.kind == kindInvalid {
			c.bad--
		}
		a.val = v
		return
	}
	if c.n < len(c.inline) {
		c.inline[c.n] = attribute{name: name, val: v}
		c.n++
		return
	}
	if c.more == nil {
		c.more = make([]attribute, 0, inlineAttributes)
	}
	c.more = append(c.more, attribute{name: name, val: v})
}

// remove deletes the attribute name, if present.
func (c *Context) remove(name string) {
	if a := c.find(name); a != nil && a.val.kind == kindInvalid {
		c.bad--
	}
	for i := 0; i < c.n; i++ {
		if c.inline[i].name == name {
			c.n--
			c.inline[i] = c.inline[c.n]
			c.inline[c.n] = attribute{}
			if len(c.more) > 0 {
				last := len(c.more) - 1
				c.inline[c.n] = c.more[last]
				c.more[last] = attribute{}
				c.more = c.more[:last]
				c.n++
			}
			return
		}
	}
	for i := range c.more {
		if c.more[i].name == name {
			last := len(c.more) - 1
			c.more[i] = c.more[last]
			c.more[last] = attribute{}
			c.more = c.more[:last]
			return
		}
	}
}

// ContextFromMap builds a context from a map as encoding/json decodes a
// JSON object: "targetingKey" is the targeting key (nil: absent; a
// non-string: evaluation yields INVALID_CONTEXT); every other entry is an
// attribute. Attribute values may be string, float64, bool, nil (absent),
// map[string]any of such values (an object, which JSON Pointers look
// into), and []any of them (a nil, array or object element matches
// nothing); for Go callers also the other integer and float types,
// json.Number, []string, []float64, []int and []bool. Any other value, or
// nesting deeper than MaxDepth, makes the context invalid: Err reports it,
// as it reports a non-string targeting key, and evaluation yields
// INVALID_CONTEXT.
func ContextFromMap(m map[string]any) Context {
	var c Context
	for name, v := range m {
		c.Set(name, v)
	}
	return c
}

// toValue converts a Go value to an attribute value nesting at depth (the
// context is level 1, so an attribute is at level 2). An array or object
// inside an array keeps no content: it matches nothing and no pointer
// looks into it.
func toValue(v any, depth int, inArray bool) value {
	switch x := v.(type) {
	case nil:
		return value{kind: kindNull}
	case string:
		return value{kind: kindString, s: x}
	case bool:
		return value{kind: kindBool, b: x}
	case float64:
		return value{kind: kindNumber, n: x}
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return invalidValue("a json.Number that is not a float64")
		}
		return value{kind: kindNumber, n: f}
	case map[string]any:
		if depth > MaxDepth {
			return invalidValue(tooDeep)
		}
		members := make([]attribute, 0, len(x))
		for name, e := range x {
			ev := toValue(e, depth+1, false)
			if ev.kind == kindInvalid {
				return ev
			}
			members = append(members, attribute{name: name, val: ev})
		}
		if inArray {
			return value{kind: kindObject}
		}
		return value{kind: kindObject, obj: newObject(members)}
	case []any:
		if depth > MaxDepth {
			return invalidValue(tooDeep)
		}
		list := make([]value, len(x))
		for i, e := range x {
			list[i] = toValue(e, depth+1, true)
			if list[i].kind == kindInvalid {
				return list[i]
			}
		}
		if inArray {
			return value{kind: kindArray}
		}
		return value{kind: kindArray, list: list}
	case []string:
		return arrayOf(x, depth, inArray, func(s string) value { return value{kind: kindString, s: s} })
	case []float64:
		return arrayOf(x, depth, inArray, func(f float64) value { return value{kind: kindNumber, n: f} })
	case []int:
		return arrayOf(x, depth, inArray, func(i int) value { return value{kind: kindNumber, n: float64(i)} })
	case []bool:
		return arrayOf(x, depth, inArray, func(b bool) value { return value{kind: kindBool, b: b} })
	}
	if f, ok := number(v); ok {
		return value{kind: kindNumber, n: f}
	}
	return invalidValue(fmt.Sprintf("values of type %T are not supported", v))
}

func arrayOf[T any](xs []T, depth int, inArray bool, conv func(T) value) value {
	switch {
	case depth > MaxDepth:
		return invalidValue(tooDeep)
	case inArray:
		return value{kind: kindArray}
	}
	list := make([]value, len(xs))
	for i, x := range xs {
		list[i] = conv(x)
	}
	return value{kind: kindArray, list: list}
}

func invalidValue(reason string) value { return value{kind: kindInvalid, s: reason} }

// number converts Go's numeric types to float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// ContextError reports a context that cannot be evaluated: malformed JSON,
// too many attributes, nesting deeper than MaxDepth, or an attribute of an
// unsupported type. Servers
// answer it with INVALID_CONTEXT.
type ContextError struct {
	// Attribute is the offending attribute, or "" for the context as a whole.
	Attribute string
	// Reason says what is wrong.
	Reason string
	// err is what the error unwraps to: ErrTooDeep, or nil.
	err error
}

// Unwrap returns ErrTooDeep for a context nested too deep, otherwise nil.
func (e *ContextError) Unwrap() error { return e.err }

// Error implements error.
func (e *ContextError) Error() string {
	if e.Attribute == "" {
		return "invalid context: " + e.Reason
	}
	return fmt.Sprintf("invalid context: attribute %q: %s", e.Attribute, e.Reason)
}
