package stats_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/switchyard/switchyard/internal/stats"
)

// checkComparisonInvariants fails if c holds a non-finite valid number, a
// p-value outside [0, 1], a half-defined or inverted interval, or
// non-positive degrees of freedom.
func checkComparisonInvariants(t *testing.T, call string, c stats.Comparison) {
	t.Helper()
	if _, err := json.Marshal(c); err != nil { // rejects NaN and ±Inf
		t.Fatalf("%s = %+v: %v", call, c, err)
	}
	intervals := []struct {
		name      string
		low, high stats.Optional
	}{
		{"AbsCI", c.AbsCILow, c.AbsCIHigh},
		{"RelCI", c.RelCILow, c.RelCIHigh},
	}
	for _, iv := range intervals {
		if iv.low.Valid != iv.high.Valid || iv.low.Valid && iv.low.Value > iv.high.Value {
			t.Fatalf("%s.%s = [%v, %v], want an ordered interval or none", call, iv.name, iv.low, iv.high)
		}
	}
	if c.PValue.Valid && !(c.PValue.Value >= 0 && c.PValue.Value <= 1) {
		t.Fatalf("%s.PValue = %v, want within [0, 1]", call, c.PValue)
	}
	if c.DF.Valid && !(c.DF.Value > 0) {
		t.Fatalf("%s.DF = %v, want positive", call, c.DF)
	}
}

func FuzzCompareConversion(f *testing.F) {
	f.Add(int64(10000), int64(1000), int64(10000), int64(1100))
	f.Add(int64(200), int64(0), int64(200), int64(3))
	f.Add(int64(1000), int64(1000), int64(1000), int64(990))
	f.Add(int64(0), int64(0), int64(0), int64(0))
	f.Add(int64(math.MaxInt64), int64(1), int64(1), int64(1))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64-1), int64(math.MaxInt64), int64(3))
	f.Add(int64(-1), int64(-1), int64(5), int64(7))
	f.Fuzz(func(t *testing.T, nc, xc, nt, xt int64) {
		in := stats.Conversion{ControlUnits: nc, ControlConverted: xc, TreatmentUnits: nt, TreatmentConverted: xt}
		checkComparisonInvariants(t, "CompareConversion", stats.CompareConversion(in))
	})
}

func FuzzCompareMean(f *testing.F) {
	f.Add(int64(38572), 733831.9613115232, 18253673.01170958, int64(6633), 123681.02804553388, 3350534.162771428)
	f.Add(int64(10), 114.0, 1316.0, int64(10), 104.0, 1098.0)
	f.Add(int64(2), 0.0, 0.0, int64(2), 1e-300, 1e-300)
	f.Add(int64(1), 5.0, 25.0, int64(1), 6.0, 36.0)
	f.Add(int64(math.MaxInt64), 1e308, math.MaxFloat64, int64(2), -1e308, math.MaxFloat64)
	f.Add(int64(3), 1e-320, 1e-320, int64(math.MaxInt64), 1.0, 1e300)
	f.Add(int64(5), math.NaN(), math.Inf(1), int64(5), math.Inf(-1), -1.0)
	f.Fuzz(func(t *testing.T, nc int64, sc, ssc float64, nt int64, st, sst float64) {
		in := stats.Mean{ControlUnits: nc, ControlSum: sc, ControlSumSq: ssc, TreatmentUnits: nt, TreatmentSum: st, TreatmentSumSq: sst}
		checkComparisonInvariants(t, "CompareMean", stats.CompareMean(in))
	})
}

func FuzzSampleRatio(f *testing.F) {
	f.Add(int64(5000), int64(5000), int64(0), 50.0, 50.0, 0.0, uint8(2))
	f.Add(int64(3321), int64(3367), int64(3312), 1.0, 1.0, 1.0, uint8(3))
	f.Add(int64(46457), int64(125), int64(30445), 54.0, 1.0, 56.0, uint8(3))
	f.Add(int64(math.MaxInt64), int64(0), int64(math.MaxInt64), 1e-300, 1e300, 1.0, uint8(3))
	f.Add(int64(1), int64(0), int64(0), 0.0, -1.0, math.NaN(), uint8(3))
	f.Fuzz(func(t *testing.T, o1, o2, o3 int64, w1, w2, w3 float64, k uint8) {
		n := int(k) % 4
		observed := []int64{o1, o2, o3}[:min(n, 3)]
		weights := []float64{w1, w2, w3}[:min(n, 3)]
		got := stats.SampleRatio(observed, weights)
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("SampleRatio(%v, %v) = %+v: %v", observed, weights, got, err)
		}
		if got.PValue.Valid && !(got.PValue.Value >= 0 && got.PValue.Value <= 1) {
			t.Fatalf("SampleRatio(%v, %v).PValue = %v, want within [0, 1]", observed, weights, got.PValue)
		}
		if got.ChiSquare.Valid && !(got.ChiSquare.Value >= 0) {
			t.Fatalf("SampleRatio(%v, %v).ChiSquare = %v, want non-negative", observed, weights, got.ChiSquare)
		}
		if got.Mismatch && !(got.PValue.Valid && got.PValue.Value < 0.001) {
			t.Fatalf("SampleRatio(%v, %v) = %+v: mismatch without p < 0.001", observed, weights, got)
		}
	})
}
