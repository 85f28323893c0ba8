package model_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/model"
)

func validExperiment() *model.Experiment {
	return &model.Experiment{
		ID: "ab", Environment: "production", Flag: "new-checkout",
		Control: model.ExperimentArm{Variant: "off", Weight: 50000}, Treatments: []model.ExperimentArm{{Variant: "on", Weight: 50000}},
		TrafficShare: 100000, Segments: []string{"eu-users"}, PrimaryMetric: "purchase",
		Guardrails: []model.Guardrail{{Metric: "latency", Threshold: 0.05, Action: model.GuardStop}},
	}
}

// paths returns the paths of a model.Errors, or the error's text.
func paths(err error) []string {
	var fes model.Errors
	if !errors.As(err, &fes) {
		if err == nil {
			return nil
		}
		return []string{err.Error()}
	}
	out := make([]string, len(fes))
	for i, fe := range fes {
		out[i] = fe.Path
	}
	return out
}

func TestValidateExperiment(t *testing.T) {
	tests := []struct {
		name string
		edit func(e *model.Experiment)
		want []string
	}{
		{"valid", func(*model.Experiment) {}, nil},
		{"bad id", func(e *model.Experiment) { e.ID = "-x" }, []string{"id"}},
		{"variant twice", func(e *model.Experiment) { e.Treatments[0].Variant = "off" }, []string{"treatments[0].variant"}},
		{"weight out of range", func(e *model.Experiment) { e.Treatments[0].Weight = 100001 }, []string{"treatments[0].weight"}},
		{"traffic out of range", func(e *model.Experiment) { e.TrafficShare = -1 }, []string{"traffic_share"}},
		{"segment twice", func(e *model.Experiment) { e.Segments = []string{"a", "a"} }, []string{"segments[1]"}},
		{"guardrail action of a release", func(e *model.Experiment) { e.Guardrails[0].Action = model.GuardPause }, []string{"guardrails[0].action"}},
		{"negative threshold", func(e *model.Experiment) { e.Guardrails[0].Threshold = -0.1 }, []string{"guardrails[0].threshold"}},
		{"guardrail twice", func(e *model.Experiment) { e.Guardrails = append(e.Guardrails, e.Guardrails[0]) }, []string{"guardrails[1].metric"}},
		{"ship without variant", func(e *model.Experiment) { e.Decision = &model.Decision{Action: model.DecisionShip} }, []string{"decision.variant"}},
		{"unknown status", func(e *model.Experiment) { e.Status = "PAUSED" }, []string{"status"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := validExperiment()
			tc.edit(e)
			if got := paths(model.ValidateExperiment(e)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ValidateExperiment paths = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckExperimentStartable(t *testing.T) {
	e := validExperiment()
	e.Treatments[0].Weight, e.TrafficShare, e.PrimaryMetric = 0, 0, ""
	want := []string{"treatments[0].weight", "treatments", "traffic_share", "primary_metric"}
	if got := paths(model.CheckExperimentStartable(e)); !reflect.DeepEqual(got, want) {
		t.Errorf("CheckExperimentStartable paths = %v, want %v", got, want)
	}
	if err := model.CheckExperimentStartable(validExperiment()); err != nil {
		t.Errorf("CheckExperimentStartable(valid) = %v", err)
	}
}

func TestCheckExperimentRefs(t *testing.T) {
	doc := &model.Document{
		Project: "shop", Environments: []string{"production"},
		Segments: []*model.Segment{{Key: "eu-users"}},
		Flags:    []*model.Flag{{Key: "new-checkout", Type: model.TypeBool}},
	}
	if err := model.CheckExperimentRefs(doc, validExperiment()); err != nil {
		t.Errorf("CheckExperimentRefs(valid) = %v", err)
	}
	e := validExperiment()
	e.Environment, e.Treatments[0].Variant, e.Segments = "staging", "maybe", []string{"us-users"}
	want := []string{"environment", "treatments[0].variant", "segments[0]"}
	if got := paths(model.CheckExperimentRefs(doc, e)); !reflect.DeepEqual(got, want) {
		t.Errorf("CheckExperimentRefs paths = %v, want %v", got, want)
	}
}

func TestValidateMetric(t *testing.T) {
	tests := []struct {
		name string
		m    model.Metric
		want []string
	}{
		{"conversion", model.Metric{Key: "purchase", Kind: model.MetricConversion}, nil},
		{"mean, lower is better", model.Metric{Key: "latency", Kind: model.MetricMean, Direction: model.DirectionLower, EventKey: "page-load"}, nil},
		{"unknown kind", model.Metric{Key: "x", Kind: "median"}, []string{"kind"}},
		{"unknown direction", model.Metric{Key: "x", Kind: model.MetricMean, Direction: "up"}, []string{"direction"}},
		{"bad event key", model.Metric{Key: "x", Kind: model.MetricMean, EventKey: "a b"}, []string{"event_key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := paths(model.ValidateMetric(&tc.m)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ValidateMetric paths = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExperimentOverlayOnlyWhileRunning(t *testing.T) {
	e := validExperiment()
	if e.Overlay() != nil {
		t.Error("a draft has an overlay")
	}
	e.Status = model.ExperimentRunning
	want := &model.Overlay{
		Release: "experiment:ab", Experiment: "ab", Salt: "ab",
		Audience:   []model.AudienceStage{{Segments: []string{"eu-users"}, Weight: 100000}},
		Items:      []model.ReleaseItem{{Flag: "new-checkout"}},
		Allocation: []model.Weighted{{Variant: "off", Weight: 50000}, {Variant: "on", Weight: 50000}},
	}
	if got := e.Overlay(); !reflect.DeepEqual(got, want) {
		t.Errorf("Overlay() = %+v, want %+v", got, want)
	}
	if got := want.Key(); got != "experiment:ab" || want.Rule() != "experiment:ab" {
		t.Errorf("Key() = %q, Rule() = %q, want experiment:ab", got, want.Rule())
	}
	e.Status = model.ExperimentStopped
	if e.Overlay() != nil {
		t.Error("a stopped experiment has an overlay")
	}
}

func TestStageGuardrailIsValidated(t *testing.T) {
	r := &model.Release{ID: "r", Environment: "production", Plan: []model.Stage{
		{Weight: 5000, Guardrail: &model.Guardrail{Metric: "purchase", Action: model.GuardStop}},
	}}
	err := model.ValidateRelease(r)
	if got := paths(err); !reflect.DeepEqual(got, []string{"plan[0].guardrail.action"}) || !strings.Contains(err.Error(), "pause") {
		t.Errorf("ValidateRelease = %v, want plan[0].guardrail.action refusing stop on a release", err)
	}
}
