package model

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Parse and Encode walk the document's types by reflection, driven by their
// JSON tags: a field is named by its tag, and "omitempty" leaves it out of
// the output when it is empty (false, 0, "", nil, or no items). How to read
// and write each type is worked out once, as a codec, and reused.
//
// Each kind of Go type reads and writes as follows:
//   - a string type, bool or int: a scalar (decoder.str, boolean, integer);
//     null is the zero value;
//   - any: any JSON value (decoder.anyValue, builder.any);
//   - a struct: an object of its fields in field order; an unknown key is a
//     problem, and null is the zero struct;
//   - a pointer to a struct: null is nil;
//   - a slice: a list; null and [] read as nil ([]string has a fast path
//     for long key lists), and the items of a list of structs must be
//     objects;
//   - a map with string keys: an object, written in key order; null is nil.
//
// A pointer that is a list item or a map value is never nil: null there is
// a problem in a list and an empty struct in a map, and a nil one is an
// encoding error ("missing flag"). Lists of structs, maps of structs and
// structs are written as blocks, except the structs of inlineType; those,
// and lists and maps of other values, are written inline when short, as is
// any empty object.

// codec reads and writes one Go type.
type codec struct {
	// decode reads v at path into dst, which is settable and holds the
	// zero value.
	decode func(d *decoder, v value, path string, dst reflect.Value)
	// encode returns the node of src.
	encode func(b *builder, src reflect.Value) *yaml.Node
	// object is set for a struct or a pointer to one: a list item must
	// then be an object.
	object bool
}

// field is one field of a struct as the document names it.
type field struct {
	name      string
	index     int
	omitEmpty bool
	codec     *codec
}

// documentCodec is the codec of Document and, through it, of every type a
// document holds.
var documentCodec = sync.OnceValue(func() *codec {
	return codecs{}.of(reflect.TypeFor[Document]())
})

// inlineType reports whether Encode writes the struct type t inline when it
// is short ({key: "on", value: true}) rather than as a block.
func inlineType(t reflect.Type) bool {
	switch t {
	case reflect.TypeFor[Condition](), reflect.TypeFor[Variant](), reflect.TypeFor[Prerequisite](),
		reflect.TypeFor[Target](), reflect.TypeFor[Serve](), reflect.TypeFor[Weighted](), reflect.TypeFor[Version]():
		return true
	}
	return false
}

// codecs holds the codecs made so far, by type.
type codecs map[reflect.Type]*codec

// of returns the codec of t. It panics on a type the document cannot hold,
// which is a mistake in the model types.
func (cs codecs) of(t reflect.Type) *codec {
	if c, ok := cs[t]; ok {
		return c
	}
	c := &codec{}
	cs[t] = c
	switch {
	case t == reflect.TypeFor[[]string]():
		cs.sliceCodec(c, t)
		c.decode = func(d *decoder, v value, path string, dst reflect.Value) {
			*dst.Addr().Interface().(*[]string) = d.stringList(v, path)
		}
	case t.Kind() == reflect.String:
		c.decode = func(d *decoder, v value, path string, dst reflect.Value) { dst.SetString(d.str(v, path)) }
		c.encode = func(_ *builder, src reflect.Value) *yaml.Node { return strNode(src.String()) }
	case t.Kind() == reflect.Bool:
		c.decode = func(d *decoder, v value, path string, dst reflect.Value) { dst.SetBool(d.boolean(v, path)) }
		c.encode = func(_ *builder, src reflect.Value) *yaml.Node { return boolNode(src.Bool()) }
	case t.Kind() == reflect.Int:
		c.decode = func(d *decoder, v value, path string, dst reflect.Value) { dst.SetInt(int64(d.integer(v, path))) }
		c.encode = func(_ *builder, src reflect.Value) *yaml.Node { return intNode(int(src.Int())) }
	case t.Kind() == reflect.Interface && t.NumMethod() == 0:
		c.decode = func(d *decoder, v value, path string, dst reflect.Value) {
			if x := d.anyValue(v, path, 0); x != nil {
				dst.Set(reflect.ValueOf(x))
			}
		}
		c.encode = func(b *builder, src reflect.Value) *yaml.Node { return b.any(src.Interface()) }
	case t.Kind() == reflect.Struct:
		cs.structCodec(c, t)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		cs.pointerCodec(c, t)
	case t.Kind() == reflect.Slice:
		cs.sliceCodec(c, t)
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		cs.mapCodec(c, t)
	default:
		panic(fmt.Sprintf("model: a document cannot hold a %v", t))
	}
	return c
}

// structCodec makes c the codec of the struct type t.
func (cs codecs) structCodec(c *codec, t reflect.Type) {
	var fields []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		fields = append(fields, field{
			name:      name,
			index:     i,
			omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty"),
			codec:     cs.of(sf.Type),
		})
	}
	flow := inlineType(t)
	c.object = true
	c.decode = func(d *decoder, v value, path string, dst reflect.Value) {
		d.object(v, path, func(key string, v value, path string) bool {
			for i := range fields {
				if f := &fields[i]; f.name == key {
					f.codec.decode(d, v, path, dst.Field(f.index))
					return true
				}
			}
			return false
		})
	}
	c.encode = func(b *builder, src reflect.Value) *yaml.Node {
		n := mappingNode()
		for i := range fields {
			f := &fields[i]
			fv := src.Field(f.index)
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.name}
			n.Content = append(n.Content, key, f.codec.encode(b, fv))
		}
		if flow || len(n.Content) == 0 {
			return inline(n)
		}
		return n
	}
}

// pointerCodec makes c the codec of t, a pointer to a struct.
func (cs codecs) pointerCodec(c *codec, t reflect.Type) {
	elem := cs.of(t.Elem())
	missing := fmt.Errorf("missing %s", strings.ToLower(t.Elem().Name()))
	c.object = true
	c.decode = func(d *decoder, v value, path string, dst reflect.Value) {
		if d.resolve(v).kind() != kindNull {
			newElement(elem, d, v, path, dst)
		}
	}
	c.encode = func(b *builder, src reflect.Value) *yaml.Node {
		if src.IsNil() {
			b.fail(missing)
			return nullNode()
		}
		return elem.encode(b, src.Elem())
	}
}

// element returns how to decode an item of a list or a value of a map of
// t: a pointer is never left nil.
func (cs codecs) element(t reflect.Type) func(d *decoder, v value, path string, dst reflect.Value) {
	if t.Kind() != reflect.Pointer {
		return cs.of(t).decode
	}
	elem := cs.of(t.Elem())
	return func(d *decoder, v value, path string, dst reflect.Value) { newElement(elem, d, v, path, dst) }
}

// newElement points dst at a new value decoded by elem.
func newElement(elem *codec, d *decoder, v value, path string, dst reflect.Value) {
	p := reflect.New(dst.Type().Elem())
	elem.decode(d, v, path, p.Elem())
	dst.Set(p)
}

// sliceCodec makes c the codec of the slice type t.
func (cs codecs) sliceCodec(c *codec, t reflect.Type) {
	ec := cs.of(t.Elem())
	decodeItem := cs.element(t.Elem())
	objects := ec.object
	c.decode = func(d *decoder, v value, path string, dst reflect.Value) {
		items := d.list(v, path)
		if len(items) == 0 {
			return
		}
		dst.Grow(len(items))
		dst.SetLen(len(items))
		n := 0
		for i, it := range items {
			p := indexPath(path, i)
			if objects && !d.item(it, p) {
				continue
			}
			decodeItem(d, it, p, dst.Index(n))
			n++
		}
		if n == 0 {
			dst.SetZero()
			return
		}
		dst.SetLen(n)
	}
	c.encode = func(b *builder, src reflect.Value) *yaml.Node {
		if src.Len() == 0 {
			return emptyListNode()
		}
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: make([]*yaml.Node, src.Len())}
		for i := range n.Content {
			n.Content[i] = ec.encode(b, src.Index(i))
		}
		if objects {
			return n
		}
		return inline(n)
	}
}

// mapCodec makes c the codec of the map type t, whose keys are strings.
func (cs codecs) mapCodec(c *codec, t reflect.Type) {
	ec := cs.of(t.Elem())
	decodeValue := cs.element(t.Elem())
	c.decode = func(d *decoder, v value, path string, dst reflect.Value) {
		var kv, ev reflect.Value
		d.object(v, path, func(key string, v value, path string) bool {
			if dst.IsNil() {
				dst.Set(reflect.MakeMap(t))
				kv, ev = reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			}
			kv.SetString(key)
			ev.SetZero()
			decodeValue(d, v, path, ev)
			dst.SetMapIndex(kv, ev)
			return true
		})
	}
	c.encode = func(b *builder, src reflect.Value) *yaml.Node {
		n := mappingNode()
		keys := src.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			n.Content = append(n.Content, strNode(k.String()), ec.encode(b, src.MapIndex(k)))
		}
		if ec.object {
			return n
		}
		return inline(n)
	}
}

// isEmpty reports whether a field with omitempty is left out: false, 0,
// "", nil, or no items.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.String:
		return v.Len() == 0
	case reflect.Struct:
		return false
	}
	return v.IsZero()
}
