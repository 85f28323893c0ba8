package stats_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchyard/switchyard/internal/conformance"
	"github.com/switchyard/switchyard/internal/stats"
)

// vectorFile is one statistics conformance file. Expectations stay raw so
// that the test can check which keys they carry before decoding them.
type vectorFile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Conversion  []struct {
		In     stats.Conversion `json:"in"`
		Expect json.RawMessage  `json:"expect"`
	} `json:"conversion"`
	Mean []struct {
		In     stats.Mean      `json:"in"`
		Expect json.RawMessage `json:"expect"`
	} `json:"mean"`
	SRM []struct {
		In struct {
			Observed []int64   `json:"observed"`
			Weights  []float64 `json:"weights"`
		} `json:"in"`
		Expect json.RawMessage `json:"expect"`
	} `json:"srm"`
}

func TestStatisticsConformance(t *testing.T) {
	conversionKeys := []string{"control_value", "treatment_value", "abs_lift", "abs_ci_low", "abs_ci_high", "rel_lift", "rel_ci_low", "rel_ci_high", "p_value"}
	meanKeys := append(slices.Clone(conversionKeys), "df")
	srmKeys := []string{"chi_square", "df", "p_value", "mismatch"}
	files, err := conformance.Files(conformance.Dir(t, "stats"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			vf := readVectorFile(t, path)
			if len(vf.Conversion)+len(vf.Mean)+len(vf.SRM) == 0 {
				t.Fatalf("%s holds no cases", path)
			}
			for i, tc := range vf.Conversion {
				t.Run(fmt.Sprintf("conversion/%d", i), func(t *testing.T) {
					var want stats.Comparison
					decodeExpect(t, tc.Expect, conversionKeys, &want)
					got := stats.CompareConversion(tc.In)
					checkComparison(t, fmt.Sprintf("CompareConversion(%+v)", tc.In), got, want)
				})
			}
			for i, tc := range vf.Mean {
				t.Run(fmt.Sprintf("mean/%d", i), func(t *testing.T) {
					var want stats.Comparison
					decodeExpect(t, tc.Expect, meanKeys, &want)
					got := stats.CompareMean(tc.In)
					checkComparison(t, fmt.Sprintf("CompareMean(%+v)", tc.In), got, want)
				})
			}
			for i, tc := range vf.SRM {
				t.Run(fmt.Sprintf("srm/%d", i), func(t *testing.T) {
					var want stats.SRM
					decodeExpect(t, tc.Expect, srmKeys, &want)
					got := stats.SampleRatio(tc.In.Observed, tc.In.Weights)
					call := fmt.Sprintf("SampleRatio(%v, %v)", tc.In.Observed, tc.In.Weights)
					checkOptional(t, call+".ChiSquare", got.ChiSquare, want.ChiSquare)
					checkOptional(t, call+".DF", got.DF, want.DF)
					checkOptional(t, call+".PValue", got.PValue, want.PValue)
					if got.Mismatch != want.Mismatch {
						t.Errorf("%s.Mismatch = %v, want %v", call, got.Mismatch, want.Mismatch)
					}
				})
			}
		})
	}
}

func readVectorFile(t *testing.T, path string) vectorFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var vf vectorFile
	if err := dec.Decode(&vf); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return vf
}

// decodeExpect decodes an expectation into v after checking that it has
// exactly the given keys, so that a missing key is not mistaken for null.
func decodeExpect(t *testing.T, raw json.RawMessage, keys []string, v any) {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("decode expect: %v", err)
	}
	for _, k := range keys {
		if _, ok := fields[k]; !ok {
			t.Fatalf("expect %s has no %q", raw, k)
		}
	}
	if len(fields) != len(keys) {
		t.Fatalf("expect %s has keys beyond %v", raw, keys)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode expect %s: %v", raw, err)
	}
}

func checkComparison(t *testing.T, call string, got, want stats.Comparison) {
	t.Helper()
	checkOptional(t, call+".ControlValue", got.ControlValue, want.ControlValue)
	checkOptional(t, call+".TreatmentValue", got.TreatmentValue, want.TreatmentValue)
	checkOptional(t, call+".AbsLift", got.AbsLift, want.AbsLift)
	checkOptional(t, call+".AbsCILow", got.AbsCILow, want.AbsCILow)
	checkOptional(t, call+".AbsCIHigh", got.AbsCIHigh, want.AbsCIHigh)
	checkOptional(t, call+".RelLift", got.RelLift, want.RelLift)
	checkOptional(t, call+".RelCILow", got.RelCILow, want.RelCILow)
	checkOptional(t, call+".RelCIHigh", got.RelCIHigh, want.RelCIHigh)
	checkOptional(t, call+".PValue", got.PValue, want.PValue)
	checkOptional(t, call+".DF", got.DF, want.DF)
}

// checkOptional compares with the vectors' tolerance: relative 1e-6,
// absolute 1e-12 near zero; undefined only matches undefined.
func checkOptional(t *testing.T, what string, got, want stats.Optional) {
	t.Helper()
	if got.Valid != want.Valid || got.Valid && !closeTo(got.Value, want.Value, 1e-6, 1e-12) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// closeTo reports whether got and want differ by at most rel times the
// larger magnitude, or by at most abs.
func closeTo(got, want, rel, abs float64) bool {
	diff := math.Abs(got - want)
	return diff <= abs || diff <= rel*math.Max(math.Abs(got), math.Abs(want))
}

func TestVectorFilesRejectsEmptyAndMissingDirectories(t *testing.T) {
	tests := []struct {
		name string
		dir  string
	}{
		{name: "empty", dir: t.TempDir()},
		{name: "missing", dir: filepath.Join(t.TempDir(), "absent")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if files, err := conformance.Files(tc.dir); err == nil {
				t.Errorf("vectorFiles(%s) = %v, nil, want an error", tc.name, files)
			}
		})
	}
}
