package stats

import (
	"math"
	"testing"
)

// Mendel's dihybrid cross (G. Mendel, "Versuche über Pflanzen-Hybriden",
// 1866): 315 round yellow, 108 round green, 101 wrinkled yellow and
// 32 wrinkled green peas against the 9:3:3:1 ratio, the textbook chi-square
// goodness-of-fit example (e.g. P. McClean, NDSU genetics notes, "The
// Chi-Square Test": χ² = 0.47, 3 df, P > 0.90). Exact: χ² = 0.470024,
// p = 0.925426.
func TestSampleRatioMendel(t *testing.T) {
	got := SampleRatio([]int64{315, 108, 101, 32}, []float64{9, 3, 3, 1})
	if !got.ChiSquare.Valid || !closeTo(got.ChiSquare.Value, 0.470024, 0, 5e-7) {
		t.Errorf("SampleRatio(Mendel).ChiSquare = %v, want 0.470024", got.ChiSquare)
	}
	if !got.DF.Valid || got.DF.Value != 3 {
		t.Errorf("SampleRatio(Mendel).DF = %v, want 3", got.DF)
	}
	if !got.PValue.Valid || !closeTo(got.PValue.Value, 0.925426, 0, 5e-7) {
		t.Errorf("SampleRatio(Mendel).PValue = %v, want 0.925426", got.PValue)
	}
	if got.Mismatch {
		t.Errorf("SampleRatio(Mendel).Mismatch = true, want false")
	}
}

func TestSampleRatioMismatchThreshold(t *testing.T) {
	tests := []struct {
		name     string
		observed []int64
		mismatch bool
	}{
		// χ² = 10, p = 0.00157: suspicious but not below 0.001.
		{"p just above 0.001", []int64{50500, 49500}, false},
		// χ² = 12.96, p = 0.00032.
		{"p below 0.001", []int64{50570, 49430}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SampleRatio(tc.observed, []float64{1, 1}); got.Mismatch != tc.mismatch {
				t.Errorf("SampleRatio(%v, [1 1]) = %+v, want mismatch %v", tc.observed, got, tc.mismatch)
			}
		})
	}
}

func TestSampleRatioUndefined(t *testing.T) {
	tests := []struct {
		name     string
		observed []int64
		weights  []float64
	}{
		{"no variants", nil, nil},
		{"one variant", []int64{100}, []float64{1}},
		{"length mismatch", []int64{100, 100}, []float64{1, 1, 1}},
		{"no units", []int64{0, 0}, []float64{1, 1}},
		{"negative count", []int64{-1, 100}, []float64{1, 1}},
		{"zero weight", []int64{0, 100}, []float64{0, 1}},
		{"negative weight", []int64{100, 100}, []float64{-1, 1}},
		{"NaN weight", []int64{100, 100}, []float64{math.NaN(), 1}},
		{"infinite weight", []int64{100, 100}, []float64{math.Inf(1), 1}},
		{"weights overflow their sum", []int64{100, 100}, []float64{math.MaxFloat64, math.MaxFloat64}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SampleRatio(tc.observed, tc.weights); got != (SRM{}) {
				t.Errorf("SampleRatio(%v, %v) = %+v, want undefined", tc.observed, tc.weights, got)
			}
		})
	}
}
