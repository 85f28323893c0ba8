package server

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/eventlog"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/model"
)

// eventService ingests exposure and track events and reports flag usage.
type eventService struct {
	sdkpb.UnimplementedEventServiceServer
	*Server
}

var _ sdkpb.EventServiceServer = (*eventService)(nil)

// Limits of event ingestion.
const (
	// maxEventsPerRequest caps the events of one SendEvents call.
	maxEventsPerRequest = 10_000
	// maxUnitBytes caps the length of a unit.
	maxUnitBytes = 256
	// maxSDKFieldBytes caps the SDK name and version.
	maxSDKFieldBytes = 128
	// maxBatchIDBytes caps a batch id.
	maxBatchIDBytes = 128
	// maxEventFuture is how far in the future an event may be dated (clock
	// skew); later ones are refused, earlier future ones count as now.
	maxEventFuture = time.Hour
	// maxEventAge is how old an event may be.
	maxEventAge = 7 * 24 * time.Hour
	// maxUsageRange caps the range ListFlagUsage reports.
	maxUsageRange = 31 * 24 * time.Hour
	// defaultUsageRange is the range ListFlagUsage reports by default.
	defaultUsageRange = 24 * time.Hour
)

// Rejection codes of SendEvents (EventRejection.code).
const (
	rejectKindMissing     = "KIND_MISSING"
	rejectFlagNotFound    = "FLAG_NOT_FOUND"
	rejectVariantNotFound = "VARIANT_NOT_FOUND"
	rejectUnitMissing     = "UNIT_MISSING"
	rejectInvalidUnit     = "INVALID_UNIT"
	rejectInvalidEventKey = "INVALID_EVENT_KEY"
	rejectInvalidValue    = "INVALID_VALUE"
	rejectInvalidField    = "INVALID_FIELD"
	rejectTimeInFuture    = "TIME_IN_FUTURE"
	rejectTimeTooOld      = "TIME_TOO_OLD"
)

// SendEvents validates each event, stores the accepted ones and counts the
// rejected ones, and answers once that is durable.
func (s *eventService) SendEvents(ctx context.Context, req *sdkpb.SendEventsRequest) (*sdkpb.SendEventsResponse, error) {
	c := callerFrom(ctx)
	project, environment, err := auth.Scope(&c.principal, req.GetProject(), req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	rs := s.rulesets.Get(project, environment)
	if rs == nil {
		return nil, notFound("environment %s/%s", project, environment)
	}
	if n := len(req.GetEvents()); n > maxEventsPerRequest {
		return nil, invalidField("events", "has %d events, more than the limit of %d per call", n, maxEventsPerRequest)
	}
	if len(req.GetSdkName()) > maxSDKFieldBytes || !utf8.ValidString(req.GetSdkName()) {
		return nil, invalidField("sdk_name", "must be valid UTF-8 of at most %d bytes", maxSDKFieldBytes)
	}
	if len(req.GetSdkVersion()) > maxSDKFieldBytes || !utf8.ValidString(req.GetSdkVersion()) {
		return nil, invalidField("sdk_version", "must be valid UTF-8 of at most %d bytes", maxSDKFieldBytes)
	}
	if id := req.GetBatchId(); !validBatchID(id) {
		return nil, invalidField("batch_id", "must be at most %d letters, digits and \"._:-\"", maxBatchIDBytes)
	}

	now := time.Now().UTC()
	batch := &eventlog.Batch{
		Project: project, Environment: environment, Received: now,
		SDKName: req.GetSdkName(), SDKVersion: req.GetSdkVersion(), ID: req.GetBatchId(),
		Events: make([]eventlog.Event, 0, len(req.GetEvents())),
	}
	resp := &sdkpb.SendEventsResponse{}
	var rejected map[string]int
	refs := newExperimentRefs(s.store.State(), project, environment)
	for i, e := range req.GetEvents() {
		ev, code, reason := checkEvent(rs, e, now)
		if code == "" {
			code, reason = refs.check(&ev)
		}
		if code != "" {
			if rejected == nil {
				rejected = map[string]int{}
			}
			rejected[code]++
			resp.Rejections = append(resp.Rejections, &sdkpb.EventRejection{
				Index: int32(i), Code: code, Reason: fmt.Sprintf("events[%d]%s", i, reason),
			})
			continue
		}
		batch.Events = append(batch.Events, ev)
	}
	if err := s.events.Append(ctx, batch, rejected); err != nil {
		return nil, err
	}
	switch {
	case batch.Duplicate:
		s.metrics.events.WithLabelValues("duplicate").Add(float64(len(req.GetEvents())))
	default:
		if len(batch.Events) > 0 {
			s.experiments.Kick()
		}
		s.metrics.events.WithLabelValues("accepted").Add(float64(len(batch.Events)))
		s.metrics.events.WithLabelValues("rejected").Add(float64(len(resp.Rejections)))
	}
	resp.Accepted = int32(len(batch.Events))
	resp.Rejected = int32(len(resp.Rejections))
	return resp, nil
}

// checkEvent validates one event against the environment's ruleset. It
// returns the event to store, or a rejection code and a reason that starts
// with the offending field's path within the event (".exposure.flag: …").
func checkEvent(rs *eval.Ruleset, e *sdkpb.Event, now time.Time) (eventlog.Event, string, string) {
	ev := eventlog.Event{Time: now}
	if ts := e.GetTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return ev, rejectInvalidField, ".time: " + err.Error()
		}
		t := ts.AsTime()
		switch {
		case t.After(now.Add(maxEventFuture)):
			return ev, rejectTimeInFuture, fmt.Sprintf(".time: %s is more than %s ahead of the server's clock", t.Format(time.RFC3339), maxEventFuture)
		case t.Before(now.Add(-maxEventAge)):
			return ev, rejectTimeTooOld, fmt.Sprintf(".time: %s is more than %s old", t.Format(time.RFC3339), maxEventAge)
		case t.Before(now):
			ev.Time = t
		}
	}
	switch k := e.GetKind().(type) {
	case *sdkpb.Event_Exposure:
		x := k.Exposure
		if code, reason := checkUnit(".exposure.unit", x.GetUnit()); code != "" {
			return ev, code, reason
		}
		if _, ok := rs.FlagType(x.GetFlag()); !ok {
			return ev, rejectFlagNotFound, fmt.Sprintf(".exposure.flag: flag %q does not exist in project %s", x.GetFlag(), rs.Project())
		}
		if v := x.GetVariant(); v != "" && !rs.HasVariant(x.GetFlag(), v) {
			return ev, rejectVariantNotFound, fmt.Sprintf(".exposure.variant: flag %q has no variant %q", x.GetFlag(), v)
		}
		if r := x.GetRule(); r != "" && !validRule(r) {
			return ev, rejectInvalidField, fmt.Sprintf(".exposure.rule: %q is not a rule id (%s)", r, model.KeyPattern)
		}
		if x := x.GetExperiment(); x != "" && !model.ValidKey(x) {
			return ev, rejectInvalidField, fmt.Sprintf(".exposure.experiment: %q is not an experiment key (%s)", x, model.KeyPattern)
		}
		ev.Kind = eventlog.Exposure
		ev.Unit, ev.Flag, ev.Variant, ev.Rule = x.GetUnit(), x.GetFlag(), x.GetVariant(), x.GetRule()
		ev.Revision, ev.Experiment = x.GetRevision(), x.GetExperiment()
	case *sdkpb.Event_Track:
		x := k.Track
		if code, reason := checkUnit(".track.unit", x.GetUnit()); code != "" {
			return ev, code, reason
		}
		if !model.ValidKey(x.GetKey()) {
			return ev, rejectInvalidEventKey, fmt.Sprintf(".track.key: %q is not an event key (%s)", x.GetKey(), model.KeyPattern)
		}
		if x.Value != nil && (math.IsNaN(x.GetValue()) || math.IsInf(x.GetValue(), 0)) {
			return ev, rejectInvalidValue, fmt.Sprintf(".track.value: %v is not a finite number", x.GetValue())
		}
		ev.Kind = eventlog.Track
		ev.Unit, ev.Key = x.GetUnit(), x.GetKey()
		ev.Value, ev.HasValue = x.GetValue(), x.Value != nil
	default:
		return ev, rejectKindMissing, ": the event is neither an exposure nor a track event"
	}
	return ev, "", ""
}

// validRule reports whether r names a rule a result can carry: a rule id
// (or "targets", "default"), or a release's or experiment's rule,
// "release:{id}" or "experiment:{id}".
func validRule(r string) bool {
	for _, prefix := range []string{model.OverlayRule(""), model.ExperimentRule("")} {
		if id, ok := strings.CutPrefix(r, prefix); ok {
			return model.ValidKey(id)
		}
	}
	return model.ValidKey(r)
}

// validBatchID reports whether id may be a batch id: empty (none), or at
// most maxBatchIDBytes ASCII letters, digits and "._:-".
func validBatchID(id string) bool {
	if len(id) > maxBatchIDBytes {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("._:-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// checkUnit validates a bucketing unit.
func checkUnit(path, unit string) (string, string) {
	switch {
	case unit == "":
		return rejectUnitMissing, path + ": the unit (targeting key) is required"
	case len(unit) > maxUnitBytes || !utf8.ValidString(unit):
		return rejectInvalidUnit, fmt.Sprintf("%s: must be valid UTF-8 of at most %d bytes", path, maxUnitBytes)
	}
	return "", ""
}

// ListFlagUsage reports the exposures of an environment's flags.
func (s *eventService) ListFlagUsage(ctx context.Context, req *sdkpb.ListFlagUsageRequest) (*sdkpb.ListFlagUsageResponse, error) {
	ps, ok := s.store.State().Project(req.GetProject())
	if !ok {
		return nil, notFound("%s", domain.ProjectName(req.GetProject()))
	}
	if _, ok := ps.Environment(req.GetEnvironment()); !ok {
		return nil, notFound("%s", domain.EnvironmentName(req.GetProject(), req.GetEnvironment()))
	}
	to := time.Now().UTC()
	if req.GetTo() != nil {
		if err := req.GetTo().CheckValid(); err != nil {
			return nil, invalidField("to", "%v", err)
		}
		to = req.GetTo().AsTime()
	}
	from := to.Add(-defaultUsageRange)
	if req.GetFrom() != nil {
		if err := req.GetFrom().CheckValid(); err != nil {
			return nil, invalidField("from", "%v", err)
		}
		from = req.GetFrom().AsTime()
	}
	switch {
	case from.After(to):
		return nil, invalidField("from", "%s is after to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	case to.Sub(from) > maxUsageRange:
		return nil, invalidField("from", "the range from %s to %s is longer than %s", from.Format(time.RFC3339), to.Format(time.RFC3339), maxUsageRange)
	}
	u, err := s.events.FlagUsage(ctx, eventlog.UsageQuery{
		Project: req.GetProject(), Environment: req.GetEnvironment(), Flag: req.GetFlag(), From: from, To: to,
	})
	if err != nil {
		return nil, err
	}

	byKey := make(map[string]*sdkpb.FlagUsage, len(u.Flags))
	resp := &sdkpb.ListFlagUsageResponse{}
	for _, f := range u.Flags {
		fu := &sdkpb.FlagUsage{Flag: f.Flag}
		var last, lastEval time.Time
		for _, v := range f.Variants {
			vu := &sdkpb.VariantUsage{Variant: v.Variant, Total: v.Total, EvaluationsTotal: v.Evaluations,
				LastSeen: optionalTime(v.LastSeen), LastEvaluated: optionalTime(v.LastEvaluated)}
			for _, h := range v.Hours {
				vu.Count += h.Count
				vu.Hours = append(vu.Hours, &sdkpb.HourlyCount{Hour: timestamppb.New(h.Hour), Count: h.Count})
			}
			for _, h := range v.EvaluationHours {
				vu.Evaluations += h.Count
				vu.EvaluationHours = append(vu.EvaluationHours, &sdkpb.HourlyCount{Hour: timestamppb.New(h.Hour), Count: h.Count})
			}
			fu.Count += vu.Count
			fu.Evaluations += vu.Evaluations
			if v.LastSeen.After(last) {
				last = v.LastSeen
			}
			if v.LastEvaluated.After(lastEval) {
				lastEval = v.LastEvaluated
			}
			fu.Variants = append(fu.Variants, vu)
		}
		fu.LastSeen, fu.LastEvaluated = optionalTime(last), optionalTime(lastEval)
		byKey[f.Flag] = fu
		resp.Flags = append(resp.Flags, fu)
	}
	for _, f := range ps.Document().Flags {
		if req.GetFlag() != "" && f.Key != req.GetFlag() {
			continue
		}
		if fu, ok := byKey[f.Key]; ok {
			fu.Exists = true
			continue
		}
		resp.Flags = append(resp.Flags, &sdkpb.FlagUsage{Flag: f.Key, Exists: true})
	}
	slices.SortFunc(resp.Flags, func(a, b *sdkpb.FlagUsage) int { return strings.Compare(a.GetFlag(), b.GetFlag()) })
	for _, r := range u.Rejected {
		resp.Rejected = append(resp.Rejected, &sdkpb.RejectedEvents{Code: r.Code, Count: r.Count, LastSeen: timestamppb.New(r.LastSeen)})
	}
	return resp, nil
}

// optionalTime is t as a timestamp, nil for the zero time.
func optionalTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
