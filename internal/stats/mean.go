package stats

import "math"

// Mean holds, for the control and one treatment of a mean metric, the
// exposed units and the sum and sum of squares of the per-unit values.
type Mean struct {
	ControlUnits   int64   `json:"control_units"`
	ControlSum     float64 `json:"control_sum"`
	ControlSumSq   float64 `json:"control_sum_sq"`
	TreatmentUnits int64   `json:"treatment_units"`
	TreatmentSum   float64 `json:"treatment_sum"`
	TreatmentSumSq float64 `json:"treatment_sum_sq"`
}

// CompareMean compares the treatment's mean with the control's as
// DESIGN.md §6 specifies: Welch's t-test with the Welch–Satterthwaite
// degrees of freedom (DF), the absolute interval from the 0.975 quantile of
// Student's t with those degrees of freedom, and the relative interval by the
// delta method with the normal 0.975 quantile.
//
// A variant's mean is undefined without units or with a non-finite sum; its
// variance (the unbiased s², taken as 0 if rounding makes it negative) is
// undefined with fewer than two units or a non-finite sum of squares. The
// lifts need both means, and the relative lift a non-zero control mean; the
// intervals, p-value and DF need both variances and a non-zero standard
// error.
func CompareMean(in Mean) Comparison {
	var c Comparison
	t := summarize(in.TreatmentUnits, in.TreatmentSum, in.TreatmentSumSq)
	ctl := summarize(in.ControlUnits, in.ControlSum, in.ControlSumSq)
	if t.meanOK {
		c.TreatmentValue = defined(t.mean)
	}
	if ctl.meanOK {
		c.ControlValue = defined(ctl.mean)
	}
	if !t.meanOK || !ctl.meanOK {
		return c
	}
	c.setLifts(t.mean, ctl.mean)
	if !t.varOK || !ctl.varOK {
		return c
	}
	varT, varC := t.variance/t.n, ctl.variance/ctl.n
	se := math.Sqrt(varT + varC)
	if !(se > 0) || math.IsInf(se, 0) {
		return c
	}
	// Welch–Satterthwaite: SE⁴ / ((s_t²/n_t)²/(n_t−1) + (s_c²/n_c)²/(n_c−1)),
	// with the weights normalized so that nothing is raised to the fourth
	// power.
	wt, wc := varT/(varT+varC), varC/(varT+varC)
	df := 1 / (wt*wt/(t.n-1) + wc*wc/(ctl.n-1))
	c.DF = defined(df)
	c.setIntervals(t.mean, ctl.mean, varT, varC, studentQuantile(0.975, df))
	c.PValue = defined(studentTwoSided((t.mean-ctl.mean)/se, df))
	return c
}

// summary is one variant of a mean metric.
type summary struct {
	n        float64
	mean     float64
	variance float64 // unbiased s²
	meanOK   bool
	varOK    bool
}

// summarize derives a variant's mean and unbiased variance from its units,
// sum and sum of squares.
func summarize(units int64, sum, sumSq float64) summary {
	if units <= 0 || math.IsNaN(sum) || math.IsInf(sum, 0) {
		return summary{}
	}
	n := float64(units)
	s := summary{n: n, mean: sum / n, meanOK: true}
	if units < 2 || math.IsNaN(sumSq) || math.IsInf(sumSq, 0) {
		return s
	}
	s.variance = math.Max(0, (sumSq-n*s.mean*s.mean)/(n-1))
	s.varOK = !math.IsInf(s.variance, 0) && !math.IsNaN(s.variance)
	return s
}
