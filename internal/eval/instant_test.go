package eval

import (
	"math"
	"testing"
	"time"
)

func TestParseInstant(t *testing.T) {
	tests := []struct {
		in       string
		wantUnix int64
		wantFrac uint64
		sticky   bool
		ok       bool
	}{
		{"1970-01-01T00:00:00Z", 0, 0, false, true},
		{"2024-01-01T00:00:00Z", 1704067200, 0, false, true},
		{"2024-01-01T02:30:00+02:30", 1704067200, 0, false, true},
		{"2023-12-31T19:00:00-05:00", 1704067200, 0, false, true},
		{"2024-02-29T12:00:00Z", 1709208000, 0, false, true},
		{"2024-01-01T00:00:00.5Z", 1704067200, 500_000_000_000_000_000, false, true},
		{"2024-01-01T00:00:00.000000001Z", 1704067200, 1_000_000_000, false, true},
		{"2024-01-01T00:00:00.123456789012345678Z", 1704067200, 123_456_789_012_345_678, false, true},
		{"2024-01-01T00:00:00.1234567890123456789Z", 1704067200, 123_456_789_012_345_678, true, true},
		{"2024-01-01T00:00:00.1000000000000000000000Z", 1704067200, 100_000_000_000_000_000, false, true},
		{"1969-12-31T23:59:59.25Z", -1, 250_000_000_000_000_000, false, true},
		{"0001-01-01T00:00:00Z", -62135596800, 0, false, true},
		{"9999-12-31T23:59:59Z", 253402300799, 0, false, true},
		{"2024-01-01t00:00:00Z", 0, 0, false, false},
		{"2024-01-01T00:00:00z", 0, 0, false, false},
		{"2024-01-01 00:00:00Z", 0, 0, false, false},
		{"2024-01-01T00:00:00", 0, 0, false, false},
		{"2024-01-01T00:00:00.Z", 0, 0, false, false},
		{"2024-01-01T00:00:00+0200", 0, 0, false, false},
		{"2024-01-01T00:00:00+24:00", 0, 0, false, false},
		{"2023-02-29T00:00:00Z", 0, 0, false, false},
		{"2024-13-01T00:00:00Z", 0, 0, false, false},
		{"2024-01-01T24:00:00Z", 0, 0, false, false},
		{"2024-01-01T00:60:00Z", 0, 0, false, false},
		{"2024-01-01T00:00:60Z", 0, 0, false, false},
		{"2024-1-01T00:00:00Z", 0, 0, false, false},
		{"+2024-01-01T00:00:00Z", 0, 0, false, false},
		{"2024-01-01", 0, 0, false, false},
		{"", 0, 0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseInstant(tc.in)
			want := instant{sec: tc.wantUnix, frac: tc.wantFrac, sticky: tc.sticky}
			if ok != tc.ok || (ok && got != want) {
				t.Errorf("parseInstant(%q) = %+v, %v, want %+v, %v", tc.in, got, ok, want, tc.ok)
			}
		})
	}
}

// TestParseInstantMatchesTime compares with the standard library for every
// day boundary over several centuries and a few offsets.
func TestParseInstantMatchesTime(t *testing.T) {
	start := time.Date(1890, 1, 1, 0, 0, 0, 0, time.UTC)
	zones := []*time.Location{time.UTC, time.FixedZone("", 5*3600+30*60), time.FixedZone("", -8*3600)}
	for d := start; d.Year() < 2110; d = d.Add(97*time.Hour + 13*time.Minute + 7*time.Second) {
		for _, z := range zones {
			s := d.In(z).Format(time.RFC3339)
			got, ok := parseInstant(s)
			if !ok || got.sec != d.Unix() || got.frac != 0 {
				t.Fatalf("parseInstant(%q) = %+v, %v, want %d", s, got, ok, d.Unix())
			}
		}
	}
}

func TestInstantFromSeconds(t *testing.T) {
	tests := []struct {
		in     float64
		want   instant
		wantOK bool
	}{
		{0, instant{}, true},
		{1704067200, instant{sec: 1704067200}, true},
		{1704067200.5, instant{sec: 1704067200, frac: 500_000_000_000_000_000}, true},
		{-0.5, instant{sec: -1, frac: 500_000_000_000_000_000}, true},
		{-2, instant{sec: -2}, true},
		{0.1, instant{sec: 0, frac: 100_000_000_000_000_005, sticky: true}, true}, // 0.1000000000000000055511151231257827…
		{-0.1, instant{sec: -1, frac: 899_999_999_999_999_994, sticky: true}, true},
		{5e-324, instant{sec: 0, frac: 0, sticky: true}, true},
		{math.Inf(1), instant{}, false},
		{math.NaN(), instant{}, false},
		{1 << 62, instant{}, false},
	}
	for _, tc := range tests {
		got, ok := instantFromSeconds(tc.in)
		if ok != tc.wantOK || (ok && got != tc.want) {
			t.Errorf("instantFromSeconds(%v) = %+v, %v, want %+v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestCompareInstantsExactly(t *testing.T) {
	at := func(s string) instant {
		in, ok := parseInstant(s)
		if !ok {
			t.Fatalf("parseInstant(%q) failed", s)
		}
		return in
	}
	secs := func(x float64) instant {
		in, ok := instantFromSeconds(x)
		if !ok {
			t.Fatalf("instantFromSeconds(%v) failed", x)
		}
		return in
	}
	tests := []struct {
		name string
		a, b instant
		want int
	}{
		{"equal whole seconds", at("2024-01-01T00:00:00Z"), secs(1704067200), 0},
		{"equal half seconds", at("2024-01-01T00:00:00.5Z"), secs(1704067200.5), 0},
		{"float 0.1 is below decimal 0.1", secs(1704067200.1), at("2024-01-01T00:00:00.1Z"), -1},
		{"sub-nanosecond digits count", at("2024-01-01T00:00:00.0000000001Z"), at("2024-01-01T00:00:00Z"), 1},
		{"digits beyond 18 count", at("2024-01-01T00:00:00.0000000000000000001Z"), at("2024-01-01T00:00:00Z"), 1},
		{"offsets", at("2024-01-01T01:00:00+01:00"), at("2024-01-01T00:00:00Z"), 0},
		{"negative fraction", secs(-0.25), at("1969-12-31T23:59:59.75Z"), 0},
		{"earlier", at("2019-04-05T18:22:00Z"), secs(1559353380), -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := compareInstants(tc.a, tc.b); got != tc.want {
				t.Errorf("compareInstants(%+v, %+v) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := compareInstants(tc.b, tc.a); got != -tc.want {
				t.Errorf("compareInstants(%+v, %+v) = %d, want %d", tc.b, tc.a, got, -tc.want)
			}
		})
	}
}
