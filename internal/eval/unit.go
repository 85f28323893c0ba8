package eval

import (
	"math"
	"strconv"
)

// Unit returns the bucketing unit of the flag key for ctx, for exposure
// events: the value of the flag's bucket_by attribute in this environment
// (targetingKey by default, and for unknown flags or flags without
// targeting here) as bucketing reads it — a string as is, an integral
// number in plain decimal — and whether ctx has one. It allocates only to
// format a number.
func (rs *Ruleset) Unit(key string, ctx *Context) (string, bool) {
	return rs.flag(key).unit(ctx)
}

// unit is Unit for the flag f, nil when unknown.
func (f *flag) unit(ctx *Context) (string, bool) {
	if ctx == nil {
		return "", false
	}
	by := &attrRef{name: TargetingKeyAttribute}
	if f != nil {
		by = &f.t.bucketBy
	}
	v := ctx.lookup(by.name) // see descend
	if by.path != nil {
		v = v.descend(by.path)
	}
	if v == nil {
		return "", false
	}
	switch v.kind {
	case kindString:
		return v.s, true
	case kindNumber:
		if v.n == math.Trunc(v.n) && math.Abs(v.n) < 1<<53 {
			return strconv.FormatInt(int64(v.n), 10), true
		}
	}
	return "", false
}
