package model

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Encode writes doc in format "yaml" or "json". The output is
// deterministic: fields in the order of the model, segments, flags and
// components in document order, map keys sorted. YAML is block style with
// short lists and small objects inline, and strings quoted where a YAML
// 1.1 or 1.2 reader would take them for something else ("on", "2.4",
// "null"). For a document that passes Validate, Parse(Encode(doc))
// deep-equals doc, provided doc holds nil rather than empty lists and maps
// (as Parse leaves them).
func Encode(doc *Document, format string) ([]byte, error) {
	if doc == nil {
		return nil, fmt.Errorf("encode document: no document")
	}
	var b builder
	root := documentCodec().encode(&b, reflect.ValueOf(doc).Elem())
	if b.err != nil {
		return nil, fmt.Errorf("encode document: %w", b.err)
	}
	switch format {
	case "yaml":
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(root); err != nil {
			return nil, fmt.Errorf("encode document as YAML: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("encode document as YAML: %w", err)
		}
		return buf.Bytes(), nil
	case "json":
		out := appendJSON(nil, root, "", false)
		return append(out, '\n'), nil
	}
	return nil, fmt.Errorf("encode document: unknown format %q, want yaml or json", format)
}

// flowWidth is the widest a list or object may be to be written inline.
const flowWidth = 80

// builder turns the model into a YAML node tree, which both formats are
// written from. It keeps the first value it cannot encode.
type builder struct {
	err error
}

// mappingNode is an empty block mapping.
func mappingNode() *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
}

// strNode is a string scalar, double-quoted when a YAML reader would take it
// for something else and yaml.v3 would not quote it by itself: a YAML 1.1
// boolean or sexagesimal number, or the merge key "<<". yaml.v3 quotes the
// strings that YAML 1.2 reads as null, booleans, numbers or timestamps.
func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if mustQuote(s) || strings.ContainsAny(s, "\n\r\u0085\u2028\u2029") && !literalSafe(s) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// literalSafe reports whether yaml.v3 writes the multi-line string s as a
// literal block that reads back unchanged: lines separated by "\n" only,
// none starting with white space, no leading line break and at most one
// trailing one. Other multi-line strings are double-quoted.
func literalSafe(s string) bool {
	if strings.ContainsAny(s, "\r\u0085\u2028\u2029") || strings.HasSuffix(s, "\n\n") {
		return false
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(s, "\n"), "\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			return false
		}
	}
	return true
}

// mustQuote reports whether s is a YAML 1.1 boolean or base-60 number, or
// the merge key.
func mustQuote(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"on", "On", "ON", "off", "Off", "OFF", "<<":
		return true
	}
	return len(s) > 0 && s[0] <= '9' && base60.MatchString(s)
}

var base60 = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func intNode(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

// number formats f like encoding/json, tagged as yaml.v3 resolves the text.
func (b *builder) number(f float64) *yaml.Node {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		b.fail(fmt.Errorf("number %v is not finite", f))
		return nullNode()
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	text := strconv.FormatFloat(f, format, -1, 64)
	tag := "!!float"
	if _, err := strconv.ParseInt(text, 10, 64); err == nil {
		tag = "!!int"
	} else if _, err := strconv.ParseUint(text, 10, 64); err == nil {
		tag = "!!int"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: text}
}

func nullNode() *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// emptyListNode is an inline empty list.
func emptyListNode() *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
}

// inline switches n to flow style when it is short and single-line.
func inline(n *yaml.Node) *yaml.Node {
	if width(n, flowWidth) <= flowWidth {
		n.Style |= yaml.FlowStyle
	}
	return n
}

// width estimates the inline width of n, stopping once it exceeds limit.
// A multi-line string counts as too wide.
func width(n *yaml.Node, limit int) int {
	if n.Kind == yaml.ScalarNode {
		if strings.ContainsAny(n.Value, "\n\r") {
			return limit + 1
		}
		return len(n.Value) + 2
	}
	w := 2
	for _, c := range n.Content {
		w += width(c, limit-w) + 2
		if w > limit {
			return limit + 1
		}
	}
	return w
}

func (b *builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// any encodes a variant or condition value: nil, bool, string, float64,
// []any or map[string]any.
func (b *builder) any(v any) *yaml.Node {
	switch t := v.(type) {
	case nil:
		return nullNode()
	case bool:
		return boolNode(t)
	case string:
		return strNode(t)
	case float64:
		return b.number(t)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: make([]*yaml.Node, len(t))}
		for i, e := range t {
			n.Content[i] = b.any(e)
		}
		return inline(n)
	case map[string]any:
		n := mappingNode()
		for _, k := range sortedKeys(t) {
			n.Content = append(n.Content, strNode(k), b.any(t[k]))
		}
		return inline(n)
	}
	b.fail(fmt.Errorf("cannot encode a value of Go type %T", v))
	return nullNode()
}

// appendJSON writes the node tree as JSON: objects and lists that YAML
// writes inline stay on one line, others are indented by two spaces.
func appendJSON(out []byte, n *yaml.Node, indent string, flat bool) []byte {
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		open, closing := byte('['), byte(']')
		step := 1
		if n.Kind == yaml.MappingNode {
			open, closing, step = '{', '}', 2
		}
		out = append(out, open)
		flat = flat || n.Style&yaml.FlowStyle != 0
		inner := indent + "  "
		for i := 0; i < len(n.Content); i += step {
			if i > 0 {
				out = append(out, ',')
				if flat {
					out = append(out, ' ')
				}
			}
			if !flat {
				out = append(out, '\n')
				out = append(out, inner...)
			}
			if step == 2 {
				out = appendJSONString(out, n.Content[i].Value)
				out = append(out, ": "...)
			}
			out = appendJSON(out, n.Content[i+step-1], inner, flat)
		}
		if !flat && len(n.Content) > 0 {
			out = append(out, '\n')
			out = append(out, indent...)
		}
		return append(out, closing)
	}
	switch n.Tag {
	case "!!str":
		return appendJSONString(out, n.Value)
	case "!!null":
		return append(out, "null"...)
	}
	return append(out, n.Value...)
}

// appendJSONString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as with encoding/json; HTML characters are not escaped.
func appendJSONString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				out = append(out, '\\', c)
			case c == '\n':
				out = append(out, '\\', 'n')
			case c == '\r':
				out = append(out, '\\', 'r')
			case c == '\t':
				out = append(out, '\\', 't')
			case c < 0x20:
				out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			out = append(out, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return append(out, '"')
}
