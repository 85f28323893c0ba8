package stats

import "math"

// srmAlpha is the p-value below which a sample-ratio mismatch is reported.
const srmAlpha = 0.001

// SRM is the result of the sample-ratio-mismatch check: Pearson's
// chi-square statistic of the observed units against the allocation, its
// degrees of freedom (variants − 1) and p-value, and whether the p-value is
// below 0.001. ChiSquare, DF and PValue are undefined when the check is,
// and Mismatch is then false.
type SRM struct {
	ChiSquare Optional `json:"chi_square"`
	DF        Optional `json:"df"`
	PValue    Optional `json:"p_value"`
	Mismatch  bool     `json:"mismatch"`
}

// SampleRatio checks observed units per variant against the allocation
// weights, as DESIGN.md §6 specifies: expected units e_i = N·w_i/Σw,
// χ² = Σ(o_i − e_i)²/e_i with k − 1 degrees of freedom, and a mismatch when
// the χ² survival p-value is below 0.001.
//
// The check is undefined, and reports no mismatch, unless observed and
// weights have the same length of at least two, every count is non-negative,
// every weight is finite and positive (a zero weight gives a zero expected
// count, the denominator of its term), and at least one unit was observed.
func SampleRatio(observed []int64, weights []float64) SRM {
	k := len(observed)
	if k < 2 || len(weights) != k {
		return SRM{}
	}
	var total, weightSum float64
	for i := range k {
		if observed[i] < 0 || !(weights[i] > 0) || math.IsInf(weights[i], 0) {
			return SRM{}
		}
		total += float64(observed[i])
		weightSum += weights[i]
	}
	if total == 0 || math.IsInf(weightSum, 0) {
		return SRM{}
	}
	var chi2 float64
	for i := range k {
		e := total * (weights[i] / weightSum)
		diff := float64(observed[i]) - e
		chi2 += diff * diff / e
	}
	res := SRM{ChiSquare: defined(chi2), DF: defined(float64(k - 1))}
	if !res.ChiSquare.Valid {
		return SRM{}
	}
	res.PValue = defined(chiSquareSurvival(chi2, float64(k-1)))
	res.Mismatch = res.PValue.Valid && res.PValue.Value < srmAlpha
	return res
}
