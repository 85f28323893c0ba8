package sdk

import "github.com/switchyard/switchyard/internal/eval"

// Context is an evaluation context: an optional targeting key and named
// attributes (strings, numbers, bools, arrays of those). Build it with
// NewContext and the chaining setters (String, Number, Bool, Strings, Set)
// or with ContextFromMap. A Context holds up to eight attributes without
// allocating and can be prepared once and evaluated many times; it must
// not be changed while a getter reads it.
type Context = eval.Context

// NewContext returns a context whose targeting key is key.
func NewContext(key string) *Context { return eval.NewContext(key) }

// ContextFromMap builds a context from a map shaped like a JSON object:
// "targetingKey" is the targeting key, every other entry an attribute.
// Values the evaluation cannot use make every evaluation of the context
// answer INVALID_CONTEXT.
func ContextFromMap(m map[string]any) Context { return eval.ContextFromMap(m) }

// ContextFromJSON decodes a context from a JSON object.
func ContextFromJSON(data []byte) (Context, error) { return eval.DecodeContextJSON(data) }
