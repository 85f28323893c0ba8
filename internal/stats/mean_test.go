package stats

import (
	"math"
	"slices"
	"testing"
)

// meanFromSummary builds a Mean from per-variant (n, mean, standard
// deviation): sum = n·mean, sum_sq = (n−1)·s² + n·mean².
func meanFromSummary(nc int64, mc, sc float64, nt int64, mt, st float64) Mean {
	fc, ft := float64(nc), float64(nt)
	return Mean{
		ControlUnits: nc, ControlSum: fc * mc, ControlSumSq: (fc-1)*sc*sc + fc*mc*mc,
		TreatmentUnits: nt, TreatmentSum: ft * mt, TreatmentSumSq: (ft-1)*st*st + ft*mt*mt,
	}
}

// NIST/SEMATECH e-Handbook of Statistical Methods, §1.3.5.3 "Two-Sample
// t-Test for Equal Means", AUTO83B.DAT (miles per gallon, US cars n = 249,
// mean 20.14458, s 6.41470; Japanese cars n = 79, mean 30.48101,
// s 6.10771). Without the equal-variance assumption the handbook gives
// T = −12.94627 with ν = 136.8750 degrees of freedom.
func TestCompareMeanNISTAutoMPG(t *testing.T) {
	got := CompareMean(meanFromSummary(79, 30.48101, 6.10771, 249, 20.14458, 6.41470))
	if !got.DF.Valid || !closeTo(got.DF.Value, 136.8750, 0, 5e-5) {
		t.Errorf("CompareMean(AUTO83B).DF = %v, want 136.8750", got.DF)
	}
	if !got.AbsLift.Valid || !closeTo(got.AbsLift.Value, 20.14458-30.48101, 1e-12, 0) {
		t.Errorf("CompareMean(AUTO83B).AbsLift = %v, want %v", got.AbsLift, 20.14458-30.48101)
	}
	// T = d / SE, with SE recovered from the interval d ± q·SE.
	q := studentQuantile(0.975, got.DF.Value)
	se := (got.AbsCIHigh.Value - got.AbsCILow.Value) / (2 * q)
	if tstat := got.AbsLift.Value / se; !closeTo(tstat, -12.94627, 0, 5e-6) {
		t.Errorf("CompareMean(AUTO83B) T = %v, want -12.94627", tstat)
	}
}

// R's t.test(ts1, ts2) (Welch) as quoted in a Cross Validated answer on
// Welch confidence intervals: ts1 = 11 9 10 11 10 12 9 11 12 9,
// ts2 = 11 13 10 13 12 9 11 12 12 11; t = −1.8325, df = 17.9,
// p-value = 0.08356, 95 % CI of mean(ts1) − mean(ts2) (−2.1469104,
// 0.1469104). ts1 is the treatment so that the lift is ts1 − ts2.
func TestCompareMeanWelchRExample(t *testing.T) {
	ts1 := []float64{11, 9, 10, 11, 10, 12, 9, 11, 12, 9}
	ts2 := []float64{11, 13, 10, 13, 12, 9, 11, 12, 12, 11}
	sum := func(xs []float64, f func(float64) float64) float64 {
		var s float64
		for _, x := range xs {
			s += f(x)
		}
		return s
	}
	id := func(x float64) float64 { return x }
	sq := func(x float64) float64 { return x * x }
	got := CompareMean(Mean{
		ControlUnits: 10, ControlSum: sum(ts2, id), ControlSumSq: sum(ts2, sq),
		TreatmentUnits: 10, TreatmentSum: sum(ts1, id), TreatmentSumSq: sum(ts1, sq),
	})
	tests := []struct {
		name string
		got  Optional
		want float64
		tol  float64 // absolute: half a unit in R's last printed digit
	}{
		{"ControlValue", got.ControlValue, 11.4, 1e-12},
		{"TreatmentValue", got.TreatmentValue, 10.4, 1e-12},
		{"AbsLift", got.AbsLift, -1, 1e-12},
		{"AbsCILow", got.AbsCILow, -2.1469104, 5e-8},
		{"AbsCIHigh", got.AbsCIHigh, 0.1469104, 5e-8},
		{"PValue", got.PValue, 0.08356, 5e-6},
		{"DF", got.DF, 17.9, 5e-2},
	}
	for _, tc := range tests {
		if !tc.got.Valid || !closeTo(tc.got.Value, tc.want, 0, tc.tol) {
			t.Errorf("CompareMean(ts1 vs ts2).%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// With a constant control (s_c = 0) Welch's degrees of freedom reduce to
// n_t − 1, and the interval uses the t quantile for them.
func TestCompareMeanZeroControlVarianceGivesTreatmentDF(t *testing.T) {
	got := CompareMean(meanFromSummary(50, 10, 0, 12, 11, 2))
	if !got.DF.Valid || !closeTo(got.DF.Value, 11, 1e-12, 0) {
		t.Errorf("CompareMean(s_c = 0).DF = %v, want 11", got.DF)
	}
	se := 2 / math.Sqrt(12)
	if want := 1 - studentQuantile(0.975, 11)*se; !got.AbsCILow.Valid || !closeTo(got.AbsCILow.Value, want, 1e-12, 0) {
		t.Errorf("CompareMean(s_c = 0).AbsCILow = %v, want %v", got.AbsCILow, want)
	}
}

func TestCompareMeanUndefined(t *testing.T) {
	all := []string{"control_value", "treatment_value", "abs_lift", "abs_ci_low", "abs_ci_high", "rel_lift", "rel_ci_low", "rel_ci_high", "p_value", "df"}
	lifts := []string{"control_value", "treatment_value", "abs_lift", "rel_lift"}
	tests := []struct {
		name    string
		in      Mean
		defined []string
	}{
		{"ordinary", meanFromSummary(100, 10, 3, 120, 11, 4), all},
		{"no control units", Mean{TreatmentUnits: 10, TreatmentSum: 50, TreatmentSumSq: 300}, []string{"treatment_value"}},
		{"negative treatment units", Mean{ControlUnits: 10, ControlSum: 50, ControlSumSq: 300, TreatmentUnits: -3}, []string{"control_value"}},
		{"one treatment unit", meanFromSummary(100, 10, 3, 1, 11, 0), lifts},
		{"both variances zero", meanFromSummary(100, 10, 0, 120, 11, 0), lifts},
		{"control mean zero", meanFromSummary(100, 0, 3, 120, 1, 4),
			[]string{"control_value", "treatment_value", "abs_lift", "abs_ci_low", "abs_ci_high", "p_value", "df"}},
		{"NaN control sum", Mean{ControlUnits: 10, ControlSum: math.NaN(), TreatmentUnits: 10, TreatmentSum: 5, TreatmentSumSq: 9}, []string{"treatment_value"}},
		{"infinite sum of squares", Mean{ControlUnits: 10, ControlSum: 5, ControlSumSq: math.Inf(1), TreatmentUnits: 10, TreatmentSum: 5, TreatmentSumSq: 9}, lifts},
		{"negative variances taken as zero", Mean{ControlUnits: 3, ControlSum: 0.3, ControlSumSq: 0.029, TreatmentUnits: 3, TreatmentSum: 0.3, TreatmentSumSq: 0.029}, lifts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := definedFields(CompareMean(tc.in)); !slices.Equal(got, tc.defined) {
				t.Errorf("CompareMean(%+v) defines %v, want %v", tc.in, got, tc.defined)
			}
		})
	}
}
