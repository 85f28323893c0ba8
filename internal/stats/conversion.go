package stats

import "math"

// Conversion holds the exposed units and the converted units of the control
// and of one treatment for a conversion metric.
type Conversion struct {
	ControlUnits       int64 `json:"control_units"`
	ControlConverted   int64 `json:"control_converted"`
	TreatmentUnits     int64 `json:"treatment_units"`
	TreatmentConverted int64 `json:"treatment_converted"`
}

// CompareConversion compares the treatment's conversion rate with the
// control's as DESIGN.md §6 specifies: the lifts with normal (z) 95 %
// intervals from the unpooled standard error, and the p-value of the pooled
// two-proportion z-test. DF is always undefined.
//
// A variant with no units, or with converted units outside [0, units], has
// an undefined rate, and every lift then is undefined too. The intervals are
// undefined when their standard error is zero (both rates 0 or 1), the
// relative lift and its interval when the control rate is 0, and the p-value
// when the pooled rate is 0 or 1.
func CompareConversion(in Conversion) Comparison {
	var c Comparison
	pt, okT := rate(in.TreatmentConverted, in.TreatmentUnits)
	pc, okC := rate(in.ControlConverted, in.ControlUnits)
	if okT {
		c.TreatmentValue = defined(pt)
	}
	if okC {
		c.ControlValue = defined(pc)
	}
	if !okT || !okC {
		return c
	}
	nt, nc := float64(in.TreatmentUnits), float64(in.ControlUnits)
	c.setLifts(pt, pc)
	c.setIntervals(pt, pc, pt*(1-pt)/nt, pc*(1-pc)/nc, z975)

	// Under the null hypothesis both variants share the pooled rate.
	pooled := (float64(in.TreatmentConverted) + float64(in.ControlConverted)) / (nt + nc)
	if se0 := math.Sqrt(pooled * (1 - pooled) * (1/nt + 1/nc)); se0 > 0 {
		c.PValue = defined(normalTwoSided((pt - pc) / se0))
	}
	return c
}

// rate returns converted/units and whether it is a proportion: units > 0 and
// 0 ≤ converted ≤ units.
func rate(converted, units int64) (float64, bool) {
	if units <= 0 || converted < 0 || converted > units {
		return 0, false
	}
	return float64(converted) / float64(units), true
}
