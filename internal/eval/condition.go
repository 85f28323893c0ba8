package eval

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/semver"
)

// opcode is a compiled operator: the positive form of a model.Op. The
// negations compile to the positive opcode with condition.negate set.
type opcode uint8

const (
	opIn opcode = iota
	opContains
	opStartsWith
	opEndsWith
	opMatches
	opLT
	opLTE
	opGT
	opGTE
	opSemverEQ
	opSemverLT
	opSemverLTE
	opSemverGT
	opSemverGTE
	opBefore
	opAfter
	opExists
	opInSegment
)

// opcodes maps every model operator to its opcode and whether it negates.
func opcodeOf(op model.Op) (code opcode, negate bool, ok bool) {
	switch op {
	case model.OpIn:
		return opIn, false, true
	case model.OpNotIn:
		return opIn, true, true
	case model.OpContains:
		return opContains, false, true
	case model.OpStartsWith:
		return opStartsWith, false, true
	case model.OpEndsWith:
		return opEndsWith, false, true
	case model.OpMatches:
		return opMatches, false, true
	case model.OpLT:
		return opLT, false, true
	case model.OpLTE:
		return opLTE, false, true
	case model.OpGT:
		return opGT, false, true
	case model.OpGTE:
		return opGTE, false, true
	case model.OpSemverEQ:
		return opSemverEQ, false, true
	case model.OpSemverLT:
		return opSemverLT, false, true
	case model.OpSemverLTE:
		return opSemverLTE, false, true
	case model.OpSemverGT:
		return opSemverGT, false, true
	case model.OpSemverGTE:
		return opSemverGTE, false, true
	case model.OpBefore:
		return opBefore, false, true
	case model.OpAfter:
		return opAfter, false, true
	case model.OpExists:
		return opExists, false, true
	case model.OpNotExists:
		return opExists, true, true
	case model.OpInSegment:
		return opInSegment, false, true
	case model.OpNotInSegment:
		return opInSegment, true, true
	}
	return 0, false, false
}

// stringSetThreshold is the number of string values above which an in
// condition looks values up in a set rather than scanning them.
const stringSetThreshold = 8

// condition is a compiled model.Condition. Only the value lists the opcode
// reads are filled; values of other types, unparseable versions and
// non-instants never match and are dropped at compile time.
type condition struct {
	attr     attrRef
	op       opcode
	negate   bool
	strs     []string
	strSet   map[string]struct{}
	nums     []float64
	bools    [2]bool // [0]: false is a value, [1]: true is a value
	regexps  []*regexp.Regexp
	versions []semver.Version
	instants []instant
	segments []*segment
}

// holds evaluates the condition against ctx (DESIGN §3 "Conditions").
func (c *condition) holds(ctx *Context) bool {
	if c.op == opInSegment {
		for _, s := range c.segments {
			if s.contains(ctx) {
				return !c.negate
			}
		}
		return c.negate
	}
	v := ctx.lookup(c.attr.name) // see descend
	if c.attr.path != nil {
		v = v.descend(c.attr.path)
	}
	if c.op == opExists {
		return (v != nil) != c.negate
	}
	if v == nil {
		return false
	}
	found := false
	if v.kind == kindArray {
		for i := range v.list {
			if c.test(&v.list[i]) {
				found = true
				break
			}
		}
	} else {
		found = c.test(v)
	}
	return found != c.negate
}

// test reports whether the positive operator holds for one value and any
// of the condition's values; it never holds for an object or an array.
func (c *condition) test(v *value) bool {
	switch c.op {
	case opIn:
		switch v.kind {
		case kindString:
			if c.strSet != nil {
				_, ok := c.strSet[v.s]
				return ok
			}
			for _, s := range c.strs {
				if s == v.s {
					return true
				}
			}
		case kindNumber:
			for _, n := range c.nums {
				if n == v.n {
					return true
				}
			}
		case kindBool:
			return c.bools[boolIndex(v.b)]
		}
	case opContains, opStartsWith, opEndsWith:
		if v.kind != kindString {
			return false
		}
		for _, s := range c.strs {
			if (c.op == opContains && strings.Contains(v.s, s)) ||
				(c.op == opStartsWith && strings.HasPrefix(v.s, s)) ||
				(c.op == opEndsWith && strings.HasSuffix(v.s, s)) {
				return true
			}
		}
	case opMatches:
		if v.kind != kindString {
			return false
		}
		for _, re := range c.regexps {
			if re.MatchString(v.s) {
				return true
			}
		}
	case opLT, opLTE, opGT, opGTE:
		if v.kind != kindNumber {
			return false
		}
		for _, n := range c.nums {
			if ordered(c.op-opLT, compareFloats(v.n, n)) {
				return true
			}
		}
	case opSemverEQ, opSemverLT, opSemverLTE, opSemverGT, opSemverGTE:
		if v.kind != kindString {
			return false
		}
		a, ok := semver.Parse(v.s)
		if !ok {
			return false
		}
		for _, b := range c.versions {
			cmp := semver.Compare(a, b)
			if (c.op == opSemverEQ && cmp == 0) || (c.op != opSemverEQ && ordered(c.op-opSemverLT, cmp)) {
				return true
			}
		}
	case opBefore, opAfter:
		var a instant
		ok := false
		switch v.kind {
		case kindString:
			a, ok = parseInstant(v.s)
		case kindNumber:
			a, ok = instantFromSeconds(v.n)
		}
		if !ok {
			return false
		}
		for _, b := range c.instants {
			cmp := compareInstants(a, b)
			if (c.op == opBefore && cmp < 0) || (c.op == opAfter && cmp > 0) {
				return true
			}
		}
	}
	return false
}

// ordered applies the comparison rel (0 lt, 1 lte, 2 gt, 3 gte) to the
// result of a three-way comparison; an unordered comparison (2) is false.
func ordered(rel opcode, cmp int) bool {
	switch rel {
	case 0:
		return cmp == -1
	case 1:
		return cmp == -1 || cmp == 0
	case 2:
		return cmp == 1
	default:
		return cmp == 1 || cmp == 0
	}
}

// compareFloats is a three-way comparison that yields 2 when either side
// is NaN, so that no ordering holds.
func compareFloats(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	return 2
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compileCondition compiles m; segment references resolve through seg.
func compileCondition(m model.Condition, seg func(key string) (*segment, error)) (condition, error) {
	op, negate, ok := opcodeOf(m.Op)
	if !ok {
		return condition{}, fmt.Errorf("unknown operator %q", m.Op)
	}
	attr, err := compileRef(m.Attribute)
	if err != nil {
		return condition{}, fmt.Errorf("attribute: %w", err)
	}
	c := condition{attr: attr, op: op, negate: negate}
	for i, raw := range m.Values {
		s, isString := raw.(string)
		n, isNumber := number(raw)
		switch op {
		case opIn:
			switch {
			case isString:
				c.strs = append(c.strs, s)
			case isNumber:
				c.nums = append(c.nums, n)
			default:
				if b, isBool := raw.(bool); isBool {
					c.bools[boolIndex(b)] = true
				}
			}
		case opContains, opStartsWith, opEndsWith:
			if isString {
				c.strs = append(c.strs, s)
			}
		case opMatches:
			if isString {
				re, err := regexp.Compile(s)
				if err != nil {
					return condition{}, fmt.Errorf("values[%d]: %w", i, err)
				}
				c.regexps = append(c.regexps, re)
			}
		case opLT, opLTE, opGT, opGTE:
			if isNumber {
				c.nums = append(c.nums, n)
			}
		case opSemverEQ, opSemverLT, opSemverLTE, opSemverGT, opSemverGTE:
			if v, ok := semver.Parse(s); isString && ok {
				c.versions = append(c.versions, v)
			}
		case opBefore, opAfter:
			var in instant
			ok := false
			switch {
			case isString:
				in, ok = parseInstant(s)
			case isNumber:
				in, ok = instantFromSeconds(n)
			}
			if ok {
				c.instants = append(c.instants, in)
			}
		case opInSegment:
			if !isString {
				return condition{}, fmt.Errorf("values[%d]: a segment key must be a string", i)
			}
			sg, err := seg(s)
			if err != nil {
				return condition{}, fmt.Errorf("values[%d]: %w", i, err)
			}
			c.segments = append(c.segments, sg)
		}
	}
	if op == opIn && len(c.strs) > stringSetThreshold {
		c.strSet = make(map[string]struct{}, len(c.strs))
		for _, s := range c.strs {
			c.strSet[s] = struct{}{}
		}
	}
	return c, nil
}
