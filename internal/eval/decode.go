package eval

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// DecodeContextJSON decodes a JSON object into a Context without building
// intermediate maps. It accepts exactly what json.Unmarshal into a
// map[string]any followed by ContextFromMap accepts and yields the same
// context, except that it rejects anything but an object, more than
// MaxAttributes attributes, and nesting deeper than MaxDepth (anywhere,
// the targeting key included); every error is a *ContextError. A
// non-string targetingKey is not an error here: evaluation reports it as
// INVALID_CONTEXT. Strings share one copy of data.
func DecodeContextJSON(data []byte) (Context, error) {
	var c Context
	if err := c.DecodeJSON(data); err != nil {
		return Context{}, err
	}
	return c, nil
}

// DecodeJSON resets c and decodes data into it as DecodeContextJSON does,
// reusing c's storage. On error c is left empty.
func (c *Context) DecodeJSON(data []byte) error {
	c.Reset()
	d := decoder{data: data, src: string(data)}
	if err := d.context(c); err != nil {
		c.Reset()
		return err
	}
	return nil
}

type decoder struct {
	data []byte
	src  string // data as a string: decoded strings are slices of it
	pos  int
	attr string // the attribute being decoded, for errors
}

// tooDeep returns the error for nesting deeper than MaxDepth.
func (d *decoder) tooDeep() error {
	return &ContextError{Attribute: d.attr, Reason: tooDeep, err: ErrTooDeep}
}

func (d *decoder) syntaxError(what string) error {
	return &ContextError{Reason: fmt.Sprintf("invalid JSON at offset %d: %s", d.pos, what)}
}

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (d *decoder) peek() byte {
	d.ws()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

func (d *decoder) expect(b byte) error {
	if d.peek() != b {
		return d.syntaxError(fmt.Sprintf("expected %q", b))
	}
	d.pos++
	return nil
}

// context decodes the context object into c.
func (d *decoder) context(c *Context) error {
	if d.peek() != '{' {
		return &ContextError{Reason: "a context must be a JSON object"}
	}
	d.pos++
	if d.peek() == '}' {
		d.pos++
		return d.end()
	}
	for {
		if d.peek() != '"' {
			return d.syntaxError("expected a string key")
		}
		name, err := d.str()
		if err != nil {
			return err
		}
		if err := d.expect(':'); err != nil {
			return err
		}
		if err := d.member(c, name); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return d.end()
		default:
			return d.syntaxError("expected ',' or '}'")
		}
	}
}

func (d *decoder) end() error {
	if d.peek() != 0 || d.pos < len(d.data) {
		return d.syntaxError("data after the object")
	}
	return nil
}

// member decodes the value of the member name into c.
func (d *decoder) member(c *Context, name string) error {
	d.attr = name
	if name == TargetingKeyAttribute {
		switch d.peek() {
		case '"':
			s, err := d.str()
			if err != nil {
				return err
			}
			c.setKey(s, keyString)
		case 'n':
			if err := d.literal("null"); err != nil {
				return err
			}
			c.setKey("", keyAbsent)
		default:
			if err := d.skip(2); err != nil {
				return err
			}
			c.setKey("", keyInvalid)
		}
		return nil
	}
	v, err := d.value(2, false)
	if err != nil {
		return err
	}
	if v.kind == kindNull {
		c.remove(name)
		return nil
	}
	if c.find(name) == nil && c.Len() >= MaxAttributes {
		return &ContextError{Reason: fmt.Sprintf("more than %d attributes", MaxAttributes)}
	}
	c.set(name, v)
	return nil
}

// value decodes the value at d.pos, nesting at depth (the context object
// is level 1, so an attribute is at level 2). An array or object inside an
// array is validated and skipped: it keeps no content (see type value).
func (d *decoder) value(depth int, inArray bool) (value, error) {
	switch d.peek() {
	case '{':
		if inArray {
			return value{kind: kindObject}, d.skip(depth)
		}
		return d.object(depth)
	case '[':
		if inArray {
			return value{kind: kindArray}, d.skip(depth)
		}
		return d.array(depth)
	}
	return d.scalar()
}

// object decodes an object value nesting at depth.
func (d *decoder) object(depth int) (value, error) {
	if depth > MaxDepth {
		return value{}, d.tooDeep()
	}
	d.pos++
	var members []attribute
	if d.peek() == '}' {
		d.pos++
		return value{kind: kindObject, obj: newObject(nil)}, nil
	}
	for {
		if d.peek() != '"' {
			return value{}, d.syntaxError("expected a string key")
		}
		name, err := d.str()
		if err != nil {
			return value{}, err
		}
		if err := d.expect(':'); err != nil {
			return value{}, err
		}
		v, err := d.value(depth+1, false)
		if err != nil {
			return value{}, err
		}
		members = append(members, attribute{name: name, val: v})
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return value{kind: kindObject, obj: newObject(members)}, nil
		default:
			return value{}, d.syntaxError("expected ',' or '}'")
		}
	}
}

// array decodes an array value nesting at depth.
func (d *decoder) array(depth int) (value, error) {
	if depth > MaxDepth {
		return value{}, d.tooDeep()
	}
	d.pos++
	if d.peek() == ']' {
		d.pos++
		return value{kind: kindArray, list: []value{}}, nil
	}
	list := make([]value, 0, 4)
	for {
		e, err := d.value(depth+1, true)
		if err != nil {
			return value{}, err
		}
		list = append(list, e)
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return value{kind: kindArray, list: list}, nil
		default:
			return value{}, d.syntaxError("expected ',' or ']'")
		}
	}
}

// scalar decodes a string, number, bool or null.
func (d *decoder) scalar() (value, error) {
	switch c := d.peek(); {
	case c == '"':
		s, err := d.str()
		return value{kind: kindString, s: s}, err
	case c == '-' || isDigit(c):
		n, err := d.number()
		return value{kind: kindNumber, n: n}, err
	case c == 't':
		return value{kind: kindBool, b: true}, d.literal("true")
	case c == 'f':
		return value{kind: kindBool}, d.literal("false")
	case c == 'n':
		return value{kind: kindNull}, d.literal("null")
	}
	return value{}, d.syntaxError("expected a value")
}

func (d *decoder) literal(lit string) error {
	if len(d.data)-d.pos < len(lit) || d.src[d.pos:d.pos+len(lit)] != lit {
		return d.syntaxError("invalid literal")
	}
	d.pos += len(lit)
	return nil
}

// str decodes the string at d.pos. A string without escapes that is valid
// UTF-8 is a slice of d.src; any other goes through encoding/json, so
// escapes and invalid UTF-8 decode exactly as json.Unmarshal decodes them.
func (d *decoder) str() (string, error) {
	start := d.pos
	simple, ascii := true, true
	i := start + 1
	for ; i < len(d.data); i++ {
		c := d.data[i]
		if c == '"' {
			break
		}
		switch {
		case c == '\\':
			simple = false
			i++
		case c < 0x20:
			d.pos = i
			return "", d.syntaxError("control character in string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if i >= len(d.data) {
		d.pos = len(d.data)
		return "", d.syntaxError("unterminated string")
	}
	d.pos = i + 1
	s := d.src[start+1 : i]
	if simple && (ascii || utf8.ValidString(s)) {
		return s, nil
	}
	var out string
	if err := json.Unmarshal(d.data[start:i+1], &out); err != nil {
		d.pos = start
		return "", d.syntaxError("invalid string")
	}
	return out, nil
}

// number decodes a JSON number; one out of float64's range is an error, as
// it is for json.Unmarshal.
func (d *decoder) number() (float64, error) {
	start := d.pos
	i := start
	if i < len(d.data) && d.data[i] == '-' {
		i++
	}
	switch {
	case i < len(d.data) && d.data[i] == '0':
		i++
	case i < len(d.data) && isDigit(d.data[i]):
		for i < len(d.data) && isDigit(d.data[i]) {
			i++
		}
	default:
		return 0, d.syntaxError("invalid number")
	}
	if i < len(d.data) && d.data[i] == '.' {
		i++
		if i >= len(d.data) || !isDigit(d.data[i]) {
			d.pos = i
			return 0, d.syntaxError("invalid number")
		}
		for i < len(d.data) && isDigit(d.data[i]) {
			i++
		}
	}
	if i < len(d.data) && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < len(d.data) && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if i >= len(d.data) || !isDigit(d.data[i]) {
			d.pos = i
			return 0, d.syntaxError("invalid number")
		}
		for i < len(d.data) && isDigit(d.data[i]) {
			i++
		}
	}
	d.pos = i
	f, err := strconv.ParseFloat(d.src[start:i], 64)
	if err != nil {
		d.pos = start
		return 0, d.syntaxError("number out of range")
	}
	return f, nil
}

// skip validates and skips one JSON value of any kind, nesting at depth.
func (d *decoder) skip(depth int) error {
	switch d.peek() {
	case '{', '[':
		if depth > MaxDepth {
			return d.tooDeep()
		}
	}
	switch d.peek() {
	case '{':
		d.pos++
		if d.peek() == '}' {
			d.pos++
			return nil
		}
		for {
			if d.peek() != '"' {
				return d.syntaxError("expected a string key")
			}
			if _, err := d.str(); err != nil {
				return err
			}
			if err := d.expect(':'); err != nil {
				return err
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			switch d.peek() {
			case ',':
				d.pos++
			case '}':
				d.pos++
				return nil
			default:
				return d.syntaxError("expected ',' or '}'")
			}
		}
	case '[':
		d.pos++
		if d.peek() == ']' {
			d.pos++
			return nil
		}
		for {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			switch d.peek() {
			case ',':
				d.pos++
			case ']':
				d.pos++
				return nil
			default:
				return d.syntaxError("expected ',' or ']'")
			}
		}
	}
	_, err := d.scalar()
	return err
}
