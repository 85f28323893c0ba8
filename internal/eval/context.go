package eval

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// TargetingKeyAttribute is the context key that names the unit being
// evaluated. Conditions and bucket_by may name it like an attribute.
const TargetingKeyAttribute = "targetingKey"

// MaxAttributes is the most attributes DecodeContextJSON accepts in one
// context.
const MaxAttributes = 256

// inlineAttributes is how many attributes a Context holds without
// allocating.
const inlineAttributes = 8

// kind is the type of an attribute value.
type kind uint8

const (
	kindNull    kind = iota // a null element of an array; never an attribute
	kindString              // s
	kindNumber              // n
	kindBool                // b
	kindArray               // list
	kindInvalid             // an object or nested array: makes the context invalid
)

// value is one attribute value.
type value struct {
	kind kind
	b    bool
	n    float64
	s    string
	list []value
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
// and named attributes. The zero value is an empty context without a
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
// type makes c invalid, so that evaluating it yields INVALID_CONTEXT.
func (c *Context) Set(name string, v any) *Context {
	if v == nil {
		if name == TargetingKeyAttribute {
			c.setKey("", keyAbsent)
			return c
		}
		c.remove(name)
		return c
	}
	c.set(name, toValue(v, true))
	return c
}

// Err returns a *ContextError when c cannot be evaluated: its targeting
// key is not a string, or an attribute holds a value of an unsupported
// type; otherwise nil. Evaluation reports the same problems as
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
// []any of those (a nil element matches nothing), and for Go callers also
// the other integer and float types, json.Number, []string, []float64,
// []int and []bool. Any other value, such as a map or a nested array,
// makes the context invalid: Err reports it, as it reports a non-string
// targeting key, and evaluation yields INVALID_CONTEXT.
func ContextFromMap(m map[string]any) Context {
	var c Context
	for name, v := range m {
		c.Set(name, v)
	}
	return c
}

// toValue converts a Go value to an attribute value; top says whether
// arrays are allowed (they are not inside arrays).
func toValue(v any, top bool) value {
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
	case []any:
		if !top {
			return invalidValue("nested arrays are not supported")
		}
		list := make([]value, len(x))
		for i, e := range x {
			list[i] = toValue(e, false)
			if list[i].kind == kindInvalid {
				return list[i]
			}
		}
		return value{kind: kindArray, list: list}
	case []string:
		return arrayOf(x, top, func(s string) value { return value{kind: kindString, s: s} })
	case []float64:
		return arrayOf(x, top, func(f float64) value { return value{kind: kindNumber, n: f} })
	case []int:
		return arrayOf(x, top, func(i int) value { return value{kind: kindNumber, n: float64(i)} })
	case []bool:
		return arrayOf(x, top, func(b bool) value { return value{kind: kindBool, b: b} })
	case map[string]any:
		return invalidValue("objects are not supported")
	}
	if f, ok := number(v); ok {
		return value{kind: kindNumber, n: f}
	}
	return invalidValue(fmt.Sprintf("values of type %T are not supported", v))
}

func arrayOf[T any](xs []T, top bool, conv func(T) value) value {
	if !top {
		return invalidValue("nested arrays are not supported")
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
// too many attributes, or an attribute of an unsupported type. Servers
// answer it with INVALID_CONTEXT.
type ContextError struct {
	// Attribute is the offending attribute, or "" for the context as a whole.
	Attribute string
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *ContextError) Error() string {
	if e.Attribute == "" {
		return "invalid context: " + e.Reason
	}
	return fmt.Sprintf("invalid context: attribute %q: %s", e.Attribute, e.Reason)
}
