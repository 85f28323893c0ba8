package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gopkg.in/yaml.v3"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
)

// The command-line forms of a release's definition.
//
//	--item [flag:|component:]KEY=VALUE
//	--stage [NAME][:segments=a,b][:weight=5%][:gate=GATE][:convergence=95%]
//
// GATE is manual, wait=DURATION, at=RFC3339, approval, approval=COUNT,
// approval=ROLE or approval=ROLE,COUNT. A stage without weight takes all
// of its audience (100%).

// parseStage reads one --stage value.
func parseStage(spec string) (*pb.ReleaseStage, error) {
	st := &pb.ReleaseStage{Weight: model.RolloutTotal}
	parts := splitStage(spec)
	if len(parts) > 0 && !isStageKey(parts[0]) {
		st.Name, parts = parts[0], parts[1:]
	}
	seen := map[string]bool{}
	for _, p := range parts {
		key, val, _ := strings.Cut(p, "=")
		if seen[key] {
			return nil, fmt.Errorf("--stage %q: %s given twice", spec, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "segments":
			st.Segments = strings.Split(val, ",")
		case "weight":
			var w int
			w, err = parsePercent(val, model.RolloutTotal)
			st.Weight = int32(w)
		case "gate":
			st.Gate, err = parseGate(val)
		case "convergence":
			var c int
			c, err = parsePercent(val, 1000)
			st.MinConvergence = float64(c) / 1000
		default:
			err = fmt.Errorf("unknown part %q; want NAME:segments=a,b:weight=5%%:gate=manual|wait=1h|at=RFC3339|approval:convergence=95%%", p)
		}
		if err != nil {
			return nil, fmt.Errorf("--stage %q: %w", spec, err)
		}
	}
	return st, nil
}

// splitStage splits a --stage value at its colons, except those of an
// RFC 3339 time after "gate=at=".
func splitStage(spec string) []string {
	var parts []string
	for i, p := range strings.Split(spec, ":") {
		if i > 0 && !isStageKey(p) && strings.HasPrefix(parts[len(parts)-1], "gate=at=") {
			parts[len(parts)-1] += ":" + p
			continue
		}
		parts = append(parts, p)
	}
	return parts
}

// isStageKey reports whether a part of a --stage value starts with a key.
func isStageKey(part string) bool {
	key, _, ok := strings.Cut(part, "=")
	return ok && (key == "segments" || key == "weight" || key == "gate" || key == "convergence")
}

// parseGate reads the gate of a --stage value.
func parseGate(s string) (*pb.ReleaseGate, error) {
	kind, arg, hasArg := strings.Cut(s, "=")
	switch {
	case kind == "manual" && !hasArg:
		return &pb.ReleaseGate{Manual: &pb.ManualGate{}}, nil
	case kind == "wait":
		d, err := time.ParseDuration(arg)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("gate wait=%q: want a positive duration such as 90m or 24h", arg)
		}
		return &pb.ReleaseGate{Wait: &pb.WaitGate{Duration: arg}}, nil
	case kind == "at":
		t, err := time.Parse(time.RFC3339, arg)
		if err != nil {
			return nil, fmt.Errorf("gate at=%q: want an RFC 3339 time such as 2030-03-01T09:00:00Z", arg)
		}
		return &pb.ReleaseGate{At: &pb.AtGate{Time: timestamppb.New(t)}}, nil
	case kind == "approval":
		g := &pb.ApprovalGate{}
		if !hasArg {
			return &pb.ReleaseGate{Approval: g}, nil
		}
		for _, opt := range strings.Split(arg, ",") {
			if n, err := strconv.Atoi(opt); err == nil && n > 0 {
				g.Count = int32(n)
			} else if opt == model.ApproverReleaseManager || opt == model.ApproverAdmin {
				g.Approvers = opt
			} else {
				return nil, fmt.Errorf("gate approval=%q: want a count, release-manager or admin", arg)
			}
		}
		return &pb.ReleaseGate{Approval: g}, nil
	}
	return nil, fmt.Errorf("gate %q: want manual, wait=DURATION, at=RFC3339 or approval", s)
}

// parsePercent reads a percentage such as "5%" or "12.5%" as a share of
// total (100% is total); it must be a whole multiple of total/100000.
func parsePercent(s string, total int) (int, error) {
	num, ok := strings.CutSuffix(s, "%")
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || math.IsNaN(f) || f < 0 || f > 100 {
		return 0, fmt.Errorf("%q: want a percentage from 0%% to 100%%, such as 5%% or 12.5%%", s)
	}
	units := f * float64(total) / 100
	n := math.Round(units)
	if math.Abs(units-n) > 1e-6 {
		return 0, fmt.Errorf("%q: finer than %g%%", s, 100/float64(total))
	}
	return int(n), nil
}

// itemSpec is a parsed --item value; kind is "flag", "component" or ""
// when the server is to tell which the key names.
type itemSpec struct {
	kind, key, value string
}

// parseItem reads one --item value.
func parseItem(s string) (itemSpec, error) {
	var it itemSpec
	rest := s
	if kind, after, ok := strings.Cut(s, ":"); ok && (kind == "flag" || kind == "component") {
		it.kind, rest = kind, after
	}
	key, value, ok := strings.Cut(rest, "=")
	if !ok || key == "" || value == "" {
		return it, fmt.Errorf("--item %q: want FLAG=VARIANT or COMPONENT=VERSION (prefix flag: or component: when a key names both)", s)
	}
	it.key, it.value = key, value
	return it, nil
}

// pbItem is the release item of a spec whose kind is known.
func (it itemSpec) pbItem() *pb.ReleaseItem {
	if it.kind == "component" {
		return &pb.ReleaseItem{Component: it.key, Version: it.value}
	}
	return &pb.ReleaseItem{Flag: it.key, Variant: it.value}
}

// parseStages reads the --stage values of a plan or template, in order.
func parseStages(specs []string) ([]*pb.ReleaseStage, error) {
	out := make([]*pb.ReleaseStage, len(specs))
	for i, spec := range specs {
		st, err := parseStage(spec)
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// readReleaseFile reads a release definition from a YAML or JSON file in
// the form of the REST API's release body.
func readReleaseFile(path string) (*pb.Release, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r pb.Release
	if err := decodeYAMLOrJSON(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// decodeYAMLOrJSON decodes a message from its JSON form (as the REST API
// takes it) or the same structure in YAML. Unknown fields are errors.
func decodeYAMLOrJSON(data []byte, m proto.Message) error {
	if !json.Valid(data) {
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return err
		}
		var err error
		if data, err = json.Marshal(v); err != nil {
			return err
		}
	}
	return protojson.Unmarshal(data, m)
}
