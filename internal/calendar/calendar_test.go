package calendar_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/calendar"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

var now = time.Date(2030, 6, 3, 9, 0, 0, 0, time.UTC) // a Monday

const doc = `{"version": 1, "project": "shop", "environments": ["production", "staging"],
  "flags": [
    {"key": "checkout", "type": "bool", "environments": {"production": {"enabled": true}, "staging": {"enabled": true}}},
    {"key": "banner", "type": "bool", "environments": {"production": {"enabled": true}}}
  ],
  "components": [{"key": "app", "versions": [{"version": "1.0.0"}, {"version": "2.0.0"}]}]}`

// project builds shop with the releases and freezes given as JSON.
func project(t *testing.T, releases []string, freezes ...*model.Freeze) *domain.ProjectState {
	return projectB(t, releases, freezes...)
}

func projectB(t testing.TB, releases []string, freezes ...*model.Freeze) *domain.ProjectState {
	t.Helper()
	st := domaintest.Open(t, filepath.Join(t.TempDir(), "s.db"), domain.Options{Now: func() time.Time { return now }})
	d, err := model.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Update(context.Background(), domain.Actor{Name: "test"}, func(tx *domain.Tx) error {
		if _, err := tx.Import(d, false); err != nil {
			return err
		}
		for _, js := range releases {
			var r model.Release
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				return err
			}
			if err := release.Create(tx, "shop", &r); err != nil {
				return err
			}
		}
		for _, f := range freezes {
			if err := tx.CreateFreeze("shop", f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := st.State().Project("shop")
	return ps
}

func at(day, hour int) string {
	return time.Date(2030, 6, day, hour, 0, 0, 0, time.UTC).Format(time.RFC3339)
}

func TestBuildPlacesStagesInTime(t *testing.T) {
	ps := project(t, []string{
		`{"id": "timed", "environment": "production", "items": [{"flag": "checkout", "variant": "on"}], "plan": [
		   {"weight": 100, "gate": {"at": {"time": "` + at(4, 10) + `"}}},
		   {"weight": 1000, "gate": {"wait": {"duration": "2h"}}},
		   {"weight": 5000, "gate": {"approval": {}}},
		   {"weight": 100000, "gate": {"wait": {"duration": "1h"}}}]}`,
		`{"id": "manual", "environment": "production", "items": [{"flag": "banner", "variant": "on"}], "plan": [{"weight": 100000}]}`,
	})
	c := calendar.Build(ps, now, now.AddDate(0, 0, 30), now)
	var got []string
	for _, s := range c.Steps {
		got = append(got, s.Release+"/"+string(rune('0'+s.Stage))+"@"+s.Time.Format("02T15"))
	}
	// Stage 3 waits for an approval: it and the wait after it have no time.
	want := "timed/1@04T10 timed/2@04T12"
	if strings.Join(got, " ") != want {
		t.Errorf("steps %v, want %s", got, want)
	}
	if len(c.Conflicts) != 0 {
		t.Errorf("conflicts %v, want none", c.Conflicts)
	}
}

func TestConflicts(t *testing.T) {
	freeze := &model.Freeze{Key: "fri", Reason: "weekend", StartTime: time.Date(2030, 6, 7, 16, 0, 0, 0, time.UTC),
		EndTime: time.Date(2030, 6, 10, 6, 0, 0, 0, time.UTC), RRule: "FREQ=WEEKLY"}
	appOnly := &model.Freeze{Key: "app", Reason: "store review", Components: []string{"app"},
		StartTime: time.Date(2030, 6, 4, 0, 0, 0, 0, time.UTC), EndTime: time.Date(2030, 6, 5, 0, 0, 0, 0, time.UTC)}
	rel := func(id, env, item string, days ...int) string {
		var plan []string
		for _, d := range days {
			plan = append(plan, `{"weight": 100000, "gate": {"at": {"time": "`+at(d, 10)+`"}}}`)
		}
		return `{"id": "` + id + `", "environment": "` + env + `", "items": [` + item + `], "plan": [` + strings.Join(plan, ",") + `]}`
	}
	checkout := `{"flag": "checkout", "variant": "on"}`
	ps := project(t, []string{
		rel("a", "production", checkout, 4, 6),
		rel("b", "production", checkout, 5, 12),                               // overlaps a on checkout
		rel("c", "staging", checkout, 4, 6),                                   // other environment
		rel("d", "production", `{"flag": "banner", "variant": "on"}`, 14, 15), // other flag; the 15th is a Saturday
	}, freeze, appOnly)
	cs := calendar.Build(ps, now, now.AddDate(0, 0, 30), now).Conflicts
	var got []string
	for _, c := range cs {
		got = append(got, c.Kind+":"+strings.Join(c.Releases, ",")+":"+c.Item+c.Freeze)
	}
	want := "freeze:d:fri overlap:a,b:flags/checkout"
	if strings.Join(got, " ") != want {
		t.Errorf("conflicts %v, want %s", got, want)
	}
	if of := calendar.ConflictsOf(ps, "c", now); len(of) != 0 {
		t.Errorf("ConflictsOf(c) = %v, want none", of)
	}
	if of := calendar.ConflictsOf(ps, "b", now); len(of) != 1 || of[0].Overlap == nil ||
		!of[0].Overlap.Start.Equal(time.Date(2030, 6, 5, 10, 0, 0, 0, time.UTC)) || !of[0].Overlap.End.Equal(time.Date(2030, 6, 6, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("ConflictsOf(b) = %+v, want the overlap from the 5th to the 6th", of)
	}
}

// BenchmarkBuild is a 30-day schedule of 50 three-stage releases of 10
// flags, with a weekly freeze.
func BenchmarkBuild(b *testing.B) {
	var rels []string
	for i := range 50 {
		flag := []string{"checkout", "banner"}[i%2]
		rels = append(rels, `{"id": "r`+string(rune('a'+i/26))+string(rune('a'+i%26))+`", "environment": "production", "items": [{"flag": "`+flag+`", "variant": "on"}], "plan": [
		   {"weight": 100, "gate": {"at": {"time": "`+at(4+i%20, 10)+`"}}},
		   {"weight": 1000, "gate": {"wait": {"duration": "24h"}}},
		   {"weight": 100000, "gate": {"wait": {"duration": "48h"}}}]}`)
	}
	ps := projectB(b, rels, &model.Freeze{Key: "fri", Reason: "weekend", StartTime: time.Date(2030, 6, 7, 16, 0, 0, 0, time.UTC),
		EndTime: time.Date(2030, 6, 10, 6, 0, 0, 0, time.UTC), RRule: "FREQ=WEEKLY"})
	for b.Loop() {
		calendar.Build(ps, now, now.AddDate(0, 0, 30), now)
	}
}
