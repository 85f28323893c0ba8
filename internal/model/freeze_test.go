package model_test

import (
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/model"
)

func TestValidateFreezeNamesTheField(t *testing.T) {
	start := time.Date(2030, 12, 20, 0, 0, 0, 0, time.UTC)
	valid := func() *model.Freeze {
		return &model.Freeze{Key: "year-end", StartTime: start, EndTime: start.Add(14 * 24 * time.Hour), Reason: "year-end"}
	}
	tests := []struct {
		name string
		mod  func(f *model.Freeze)
		path string
	}{
		{"bad key", func(f *model.Freeze) { f.Key = "-x" }, "key"},
		{"no start", func(f *model.Freeze) { f.StartTime = time.Time{} }, "start_time"},
		{"no end", func(f *model.Freeze) { f.EndTime = time.Time{} }, "end_time"},
		{"end before start", func(f *model.Freeze) { f.EndTime = start.Add(-time.Hour) }, "end_time"},
		{"unknown zone", func(f *model.Freeze) { f.TimeZone = "Mars/Olympus" }, "time_zone"},
		{"bad rule", func(f *model.Freeze) { f.RRule = "FREQ=SOMETIMES" }, "rrule"},
		{"rule with DTSTART", func(f *model.Freeze) { f.RRule = "DTSTART:20301220T000000Z\nRRULE:FREQ=YEARLY" }, "rrule"},
		{"too frequent", func(f *model.Freeze) { f.RRule = "FREQ=MINUTELY" }, "rrule"},
		{"never", func(f *model.Freeze) { f.RRule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30" }, "rrule"},
		{"no reason", func(f *model.Freeze) { f.Reason = " " }, "reason"},
		{"environment twice", func(f *model.Freeze) { f.Environments = []string{"production", "production"} }, "environments[1]"},
		{"bad component", func(f *model.Freeze) { f.Components = []string{"a b"} }, "components[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := valid()
			tc.mod(f)
			var errs model.Errors
			if err := model.ValidateFreeze(f); !errors.As(err, &errs) || errs[0].Path != tc.path {
				t.Errorf("ValidateFreeze = %v, want an error at %s", err, tc.path)
			}
		})
	}
	if err := model.ValidateFreeze(valid()); err != nil {
		t.Errorf("ValidateFreeze(valid) = %v", err)
	}
}

func TestFreezeWindows(t *testing.T) {
	start := time.Date(2030, 1, 4, 16, 0, 0, 0, time.UTC) // a Friday
	f := &model.Freeze{Key: "fridays", StartTime: start, EndTime: start.Add(64 * time.Hour), RRule: "FREQ=WEEKLY;COUNT=3", Reason: "weekend"}
	ws := f.Windows(start.Add(time.Hour), start.AddDate(0, 1, 0))
	if len(ws) != 3 || !ws[0].Start.Equal(start) || !ws[2].End.Equal(start.AddDate(0, 0, 14).Add(64*time.Hour)) {
		t.Fatalf("Windows = %v, want the three weekly occurrences", ws)
	}
	if _, ok := f.At(start.Add(65 * time.Hour)); ok {
		t.Error("At(Monday 09:00) is frozen, want free")
	}
	if w, ok := f.At(start.AddDate(0, 0, 7).Add(time.Hour)); !ok || !w.Start.Equal(start.AddDate(0, 0, 7)) {
		t.Errorf("At(second Friday 17:00) = %v, %v; want the second occurrence", w, ok)
	}
	// A start the rule does not yield is still the first occurrence.
	thu := start.AddDate(0, 0, -1)
	g := &model.Freeze{Key: "g", StartTime: thu, EndTime: thu.Add(time.Hour), RRule: "FREQ=WEEKLY;BYDAY=FR", Reason: "r"}
	if ws := g.Windows(thu, thu.AddDate(0, 0, 9)); len(ws) != 3 || !ws[0].Start.Equal(thu) || !ws[1].Start.Equal(start) {
		t.Errorf("Windows from a Thursday start = %v, want that Thursday, then the Fridays", ws)
	}
}

// BenchmarkFreezeAt is the scheduler's check of a weekly freeze two years
// after its first occurrence.
func BenchmarkFreezeAt(b *testing.B) {
	start := time.Date(2028, 1, 7, 16, 0, 0, 0, time.UTC)
	f := &model.Freeze{Key: "fridays", StartTime: start, EndTime: start.Add(64 * time.Hour), RRule: "FREQ=WEEKLY", TimeZone: "Europe/Berlin", Reason: "r"}
	t := start.AddDate(2, 0, 3)
	for b.Loop() {
		f.At(t)
	}
}
