package stats

import (
	"slices"
	"testing"
)

// The Physicians' Health Study (aspirin and myocardial infarction) as worked
// in A. Agresti, An Introduction to Categorical Data Analysis, 2nd ed.
// (Wiley, 2007), §2.2: 189 of 11,034 physicians on placebo and 104 of 11,037
// on aspirin had a heart attack; proportions 0.0171 and 0.0094, difference
// 0.0077 with 95 % CI (0.005, 0.011), relative risk 1.82. Placebo is the
// "treatment" here so that the lift is placebo − aspirin, as in the book.
func TestCompareConversionAgrestiAspirin(t *testing.T) {
	got := CompareConversion(Conversion{
		ControlUnits: 11037, ControlConverted: 104,
		TreatmentUnits: 11034, TreatmentConverted: 189,
	})
	tests := []struct {
		name string
		got  Optional
		want float64
		tol  float64 // absolute: half a unit in the book's last digit
	}{
		{"TreatmentValue", got.TreatmentValue, 0.0171, 5e-5},
		{"ControlValue", got.ControlValue, 0.0094, 5e-5},
		{"AbsLift", got.AbsLift, 0.0077, 5e-5},
		{"AbsCILow", got.AbsCILow, 0.005, 5e-4},
		{"AbsCIHigh", got.AbsCIHigh, 0.011, 5e-4},
		{"RelLift", got.RelLift, 1.82 - 1, 5e-3},
	}
	for _, tc := range tests {
		if !tc.got.Valid || !closeTo(tc.got.Value, tc.want, 0, tc.tol) {
			t.Errorf("CompareConversion(aspirin).%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	// z = 5.00 for the pooled test: p is far below 0.0001, as the book
	// concludes, and equals the chi-square(1) survival of z² (Pearson's X²
	// of the 2×2 table).
	if !got.PValue.Valid || got.PValue.Value > 1e-6 || got.PValue.Value < 1e-7 {
		t.Errorf("CompareConversion(aspirin).PValue = %v, want about 5.7e-7", got.PValue)
	}
	if want := chiSquareSurvival(5.001388204008377*5.001388204008377, 1); !closeTo(got.PValue.Value, want, 1e-12, 0) {
		t.Errorf("CompareConversion(aspirin).PValue = %v, want %v", got.PValue, want)
	}
}

func TestCompareConversionUndefined(t *testing.T) {
	all := []string{"control_value", "treatment_value", "abs_lift", "abs_ci_low", "abs_ci_high", "rel_lift", "rel_ci_low", "rel_ci_high", "p_value"}
	tests := []struct {
		name    string
		in      Conversion
		defined []string
	}{
		{"ordinary", Conversion{1000, 100, 1000, 120}, all},
		{"no control units", Conversion{0, 0, 1000, 120}, []string{"treatment_value"}},
		{"no treatment units", Conversion{1000, 100, 0, 0}, []string{"control_value"}},
		{"negative units", Conversion{-5, 0, 1000, 120}, []string{"treatment_value"}},
		{"more converted than units", Conversion{1000, 1001, 1000, 120}, []string{"treatment_value"}},
		{"negative converted", Conversion{1000, 100, 1000, -1}, []string{"control_value"}},
		{"control rate zero", Conversion{200, 0, 200, 3},
			[]string{"control_value", "treatment_value", "abs_lift", "abs_ci_low", "abs_ci_high", "p_value"}},
		{"both rates zero", Conversion{100, 0, 100, 0},
			[]string{"control_value", "treatment_value", "abs_lift"}},
		{"both rates one", Conversion{100, 100, 50, 50},
			[]string{"control_value", "treatment_value", "abs_lift", "rel_lift"}},
		{"control zero, treatment one", Conversion{100, 0, 100, 100},
			[]string{"control_value", "treatment_value", "abs_lift", "p_value"}},
		{"control one, treatment zero", Conversion{100, 100, 100, 0},
			[]string{"control_value", "treatment_value", "abs_lift", "rel_lift", "p_value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := definedFields(CompareConversion(tc.in)); !slices.Equal(got, tc.defined) {
				t.Errorf("CompareConversion(%+v) defines %v, want %v", tc.in, got, tc.defined)
			}
		})
	}
}

// definedFields lists the JSON names of the valid fields of c, in field order.
func definedFields(c Comparison) []string {
	fields := []struct {
		name string
		o    Optional
	}{
		{"control_value", c.ControlValue}, {"treatment_value", c.TreatmentValue},
		{"abs_lift", c.AbsLift}, {"abs_ci_low", c.AbsCILow}, {"abs_ci_high", c.AbsCIHigh},
		{"rel_lift", c.RelLift}, {"rel_ci_low", c.RelCILow}, {"rel_ci_high", c.RelCIHigh},
		{"p_value", c.PValue}, {"df", c.DF},
	}
	var names []string
	for _, f := range fields {
		if f.o.Valid {
			names = append(names, f.name)
		}
	}
	return names
}
