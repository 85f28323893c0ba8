package server

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/experiment"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/stats"
)

// resultsProto converts an experiment's results.
func resultsProto(project string, r *experiment.Results) (*pb.ExperimentResults, error) {
	e := r.Experiment
	out := &pb.ExperimentResults{
		Project:          project,
		Experiment:       e.ID,
		Environment:      e.Environment,
		Flag:             e.Flag,
		Status:           string(e.Status),
		PrimaryMetric:    e.PrimaryMetric,
		MinSampleSize:    int32(e.MinSampleSize),
		MinSampleReached: r.MinSampleReached,
		Verdict:          r.Verdict,
		IgnoredEvents:    r.Ignored,
		Srm: &pb.SampleRatioCheck{
			ChiSquare: optionalProto(r.SRM.ChiSquare),
			Df:        optionalProto(r.SRM.DF),
			PValue:    optionalProto(r.SRM.PValue),
			Mismatch:  r.SRM.Mismatch,
		},
	}
	if e.StartTime != nil {
		out.StartTime = timestamppb.New(*e.StartTime)
	}
	if e.StopTime != nil {
		out.StopTime = timestamppb.New(*e.StopTime)
	}
	if e.Decision != nil {
		out.Decision = &pb.ExperimentDecision{}
		if err := toProto(e.Decision, out.Decision); err != nil {
			return nil, err
		}
	}
	for _, a := range r.Arms {
		out.Arms = append(out.Arms, &pb.ExperimentArmResult{
			Variant: a.Variant, Weight: int32(a.Weight), Control: a.Control, Units: a.Units, MinSampleReached: a.MinSampleReached,
		})
	}
	for _, m := range r.Metrics {
		mp, err := metricResultProto(m)
		if err != nil {
			return nil, err
		}
		out.Metrics = append(out.Metrics, mp)
	}
	return out, nil
}

// metricResultProto converts one metric's results.
func metricResultProto(m experiment.MetricResult) (*pb.MetricResult, error) {
	mp := &pb.MetricResult{
		Metric:    m.Metric.Key,
		Kind:      string(m.Metric.Kind),
		Direction: string(m.Metric.Direction),
		Primary:   m.Primary,
		Tripped:   m.Tripped,
	}
	if mp.Direction == "" {
		mp.Direction = string(model.DirectionHigher)
	}
	if m.Guardrail != nil {
		mp.Guardrail = &pb.Guardrail{}
		if err := toProto(m.Guardrail, mp.Guardrail); err != nil {
			return nil, err
		}
	}
	for _, v := range m.Variants {
		mp.Variants = append(mp.Variants, variantResultProto(m.Metric.Kind, v))
	}
	return mp, nil
}

// exposuresProto converts exposed units over time.
func exposuresProto(counts []experiment.ExposureCount) []*pb.ExposureCount {
	out := make([]*pb.ExposureCount, 0, len(counts))
	for _, c := range counts {
		out = append(out, &pb.ExposureCount{Time: timestamppb.New(c.Time), Units: c.Units})
	}
	return out
}

// variantResultProto converts one variant's value of a metric.
func variantResultProto(kind model.MetricKind, v experiment.VariantResult) *pb.MetricVariantResult {
	out := &pb.MetricVariantResult{Variant: v.Variant, Units: v.Units, Outcome: v.Outcome}
	if kind == model.MetricMean {
		out.Sum, out.SumSq, out.Mean = v.Sum, v.SumSq, optionalProto(v.Value)
	} else {
		out.Conversions, out.Rate = v.Conversions, optionalProto(v.Value)
	}
	if c := v.Comparison; c != nil {
		out.AbsLift, out.AbsCiLow, out.AbsCiHigh = optionalProto(c.AbsLift), optionalProto(c.AbsCILow), optionalProto(c.AbsCIHigh)
		out.RelLift, out.RelCiLow, out.RelCiHigh = optionalProto(c.RelLift), optionalProto(c.RelCILow), optionalProto(c.RelCIHigh)
		out.PValue = optionalProto(c.PValue)
	}
	return out
}

// optionalProto is a proto3 optional double: absent when undefined.
func optionalProto(o stats.Optional) *float64 {
	if !o.Valid {
		return nil
	}
	v := o.Value
	return &v
}
