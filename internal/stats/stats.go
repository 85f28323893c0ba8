// Package stats computes the experiment statistics of DESIGN.md §6: the
// comparison of a treatment with the control for conversion and mean metrics
// (absolute and relative lift with 95 % confidence intervals and a two-sided
// p-value) and the sample-ratio-mismatch check of observed units against the
// allocation weights.
//
// Every function is pure and total: it never panics, never returns an error
// and never returns NaN or ±Inf. A quantity whose denominator or standard
// error is zero, or that cannot be computed from the inputs, is undefined and
// reported as an invalid Optional, which JSON renders as null.
//
// The special functions behind the p-values and quantiles (normal, Student's
// t and chi-square distributions) are implemented here with the standard
// library only.
package stats

import (
	"encoding/json"
	"math"
	"strconv"
)

// z975 is the 0.975 quantile of the standard normal distribution, the
// multiplier of every normal 95 % confidence interval (DESIGN.md §6).
const z975 = 1.959963984540054

// Optional is a number that may be undefined. The zero value is undefined.
// A valid Optional always holds a finite Value.
type Optional struct {
	Value float64
	Valid bool
}

// defined returns v as a valid Optional if it is finite, and an undefined
// Optional otherwise, so that an overflow or a 0/0 never escapes as a number.
func defined(v float64) Optional {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Optional{}
	}
	return Optional{Value: v, Valid: true}
}

// String returns the value in the shortest form that round-trips, or "null"
// when it is undefined.
func (o Optional) String() string {
	if !o.Valid {
		return "null"
	}
	return strconv.FormatFloat(o.Value, 'g', -1, 64)
}

// MarshalJSON encodes a valid Optional as a JSON number and an undefined one
// as null.
func (o Optional) MarshalJSON() ([]byte, error) {
	if !o.Valid {
		return []byte("null"), nil
	}
	return json.Marshal(o.Value)
}

// UnmarshalJSON decodes null as undefined and a JSON number as a valid
// Optional.
func (o *Optional) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*o = Optional{}
		return nil
	}
	var v float64
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*o = Optional{Value: v, Valid: true}
	return nil
}

// Comparison is the result of comparing a treatment with the control on one
// metric. Values are the per-variant proportion or mean; AbsLift is
// treatment − control with its 95 % confidence interval; RelLift is AbsLift
// divided by the control value with its delta-method 95 % confidence
// interval; PValue is two-sided. DF is Welch's degrees of freedom, defined
// only for means and omitted from JSON when undefined. Any field is
// undefined when DESIGN.md §6 leaves it so (zero denominator or zero
// standard error) or when the inputs do not allow it (no units, too few
// units for a variance, impossible counts, non-finite sums).
type Comparison struct {
	ControlValue   Optional `json:"control_value"`
	TreatmentValue Optional `json:"treatment_value"`
	AbsLift        Optional `json:"abs_lift"`
	AbsCILow       Optional `json:"abs_ci_low"`
	AbsCIHigh      Optional `json:"abs_ci_high"`
	RelLift        Optional `json:"rel_lift"`
	RelCILow       Optional `json:"rel_ci_low"`
	RelCIHigh      Optional `json:"rel_ci_high"`
	PValue         Optional `json:"p_value"`
	DF             Optional `json:"df,omitzero"`
}

// setLifts sets the absolute lift mt − mc and, when mc ≠ 0, the relative
// lift (mt − mc)/mc.
func (c *Comparison) setLifts(mt, mc float64) {
	c.AbsLift = defined(mt - mc)
	if mc != 0 {
		c.RelLift = defined((mt - mc) / mc)
	}
}

// setIntervals sets both 95 % confidence intervals from the variant values
// and the variances of their estimates (varT = s_t²/n_t, varC = s_c²/n_c):
// the absolute one as d ± q·SE, the relative one by the delta method as
// r ± z·√V. An interval whose standard error is zero stays undefined, as
// does the relative one when mc = 0.
func (c *Comparison) setIntervals(mt, mc, varT, varC, q float64) {
	d := mt - mc
	if se := math.Sqrt(varT + varC); se > 0 {
		c.AbsCILow = defined(d - q*se)
		c.AbsCIHigh = defined(d + q*se)
	}
	if mc == 0 {
		return
	}
	r := d / mc
	// V = varT/mc² + mt²·varC/mc⁴, written so that mc⁴ cannot underflow.
	ratio := mt / mc
	if half := z975 * math.Sqrt(varT+ratio*ratio*varC) / math.Abs(mc); half > 0 {
		c.RelCILow = defined(r - half)
		c.RelCIHigh = defined(r + half)
	}
}
