package sdk

import "github.com/switchyard/switchyard/internal/eval"

// Context is an evaluation context: an optional targeting key and named
// attributes (strings, numbers, bools, arrays, and objects nesting more
// attributes, which conditions and bucket_by reach with JSON Pointers such
// as "/user/plan"; DESIGN §3). Build it with NewContext and the chaining
// setters (String, Number, Bool, Strings, Set) or with ContextFromMap; an
// object is a map[string]any. A Context holds up to eight attributes without
// allocating and can be prepared once and evaluated many times; it must
// not be changed while a getter reads it.
type Context = eval.Context

// NewContext returns a context whose targeting key is key.
func NewContext(key string) *Context { return eval.NewContext(key) }

// MaxDepth is the deepest nesting of objects and arrays a context may have,
// the context itself being the first level.
const MaxDepth = eval.MaxDepth

// ContextFromMap builds a context from a map shaped like a JSON object:
// "targetingKey" is the targeting key, every other entry an attribute;
// nested map[string]any values are objects and []any values arrays. Values
// the evaluation cannot use (other Go types, nesting deeper than MaxDepth)
// make every evaluation of the context answer INVALID_CONTEXT.
func ContextFromMap(m map[string]any) Context { return eval.ContextFromMap(m) }

// ContextFromJSON decodes a context from a JSON object; one nested deeper
// than MaxDepth is an error.
func ContextFromJSON(data []byte) (Context, error) { return eval.DecodeContextJSON(data) }
