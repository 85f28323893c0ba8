package stats

import (
	"encoding/json"
	"testing"
)

func TestOptionalJSON(t *testing.T) {
	tests := []struct {
		name string
		o    Optional
		json string
	}{
		{"undefined", Optional{}, "null"},
		{"zero", Optional{Value: 0, Valid: true}, "0"},
		{"fraction", Optional{Value: 0.021075189273797812, Valid: true}, "0.021075189273797812"},
		{"tiny", Optional{Value: 4.22866e-319, Valid: true}, "4.22866e-319"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(tc.o)
			if err != nil || string(data) != tc.json {
				t.Errorf("json.Marshal(%v) = %s, %v, want %s", tc.o, data, err, tc.json)
			}
			var back Optional
			if err := json.Unmarshal([]byte(tc.json), &back); err != nil || back != tc.o {
				t.Errorf("json.Unmarshal(%s) = %+v, %v, want %+v", tc.json, back, err, tc.o)
			}
		})
	}
}

func TestOptionalUnmarshalRejectsNonNumbers(t *testing.T) {
	for _, in := range []string{`"1"`, `true`, `{}`} {
		var o Optional
		if err := json.Unmarshal([]byte(in), &o); err == nil {
			t.Errorf("json.Unmarshal(%s) = %+v, nil, want an error", in, o)
		}
	}
}

func TestDefinedRejectsNonFinite(t *testing.T) {
	zero := 0.0
	for _, v := range []float64{zero / zero, 1 / zero, -1 / zero} {
		if got := defined(v); got.Valid {
			t.Errorf("defined(%v) = %+v, want undefined", v, got)
		}
	}
}

// A conversion comparison has no df key; undefined fields are null.
func TestComparisonJSON(t *testing.T) {
	data, err := json.Marshal(CompareConversion(Conversion{ControlUnits: 200, ControlConverted: 0, TreatmentUnits: 200, TreatmentConverted: 3}))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	if _, ok := fields["df"]; ok {
		t.Errorf("json.Marshal(conversion comparison) = %s, want no df", data)
	}
	if got := string(fields["rel_lift"]); got != "null" {
		t.Errorf("rel_lift = %s, want null", got)
	}
	if got := string(fields["treatment_value"]); got != "0.015" {
		t.Errorf("treatment_value = %s, want 0.015", got)
	}
}
