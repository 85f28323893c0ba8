package server

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eval"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/snapshot"
)

// evaluationService evaluates flags on the compiled rulesets.
type evaluationService struct {
	sdkpb.UnimplementedEvaluationServiceServer
	*Server
}

var _ sdkpb.EvaluationServiceServer = (*evaluationService)(nil)

// ruleset resolves the environment a call addresses to its ruleset.
func (s *evaluationService) ruleset(ctx context.Context, project, environment string) (*eval.Ruleset, error) {
	return s.scopedRuleset(&callerFrom(ctx).principal, project, environment)
}

// Evaluate evaluates one flag.
func (s *evaluationService) Evaluate(ctx context.Context, req *sdkpb.EvaluateRequest) (*sdkpb.EvaluationResult, error) {
	s.metrics.evalGRPC.Inc()
	rs, err := s.ruleset(ctx, req.GetProject(), req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	var ectx eval.Context
	if err := contextFromStruct(&ectx, req.GetContext()); err != nil {
		return nil, err
	}
	res := rs.Evaluate(req.GetFlag(), &ectx)
	s.metrics.flags.count(rs, req.GetFlag(), &res)
	return s.resultsOf(rs).proto(req.GetFlag(), &res), nil
}

// EvaluateBatch evaluates the listed flags, or all of them.
func (s *evaluationService) EvaluateBatch(ctx context.Context, req *sdkpb.EvaluateBatchRequest) (*sdkpb.EvaluateBatchResponse, error) {
	s.metrics.evalGRPC.Inc()
	rs, err := s.ruleset(ctx, req.GetProject(), req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	var ectx eval.Context
	if err := contextFromStruct(&ectx, req.GetContext()); err != nil {
		return nil, err
	}
	cache := s.resultsOf(rs)
	flags := s.metrics.flags.table(rs)
	resp := &sdkpb.EvaluateBatchResponse{Revision: rs.Revision}
	if len(req.GetFlags()) == 0 {
		resp.Results = make([]*sdkpb.EvaluationResult, 0, rs.FlagCount())
		rs.EvaluateAll(&ectx, func(key string, res eval.Result) {
			flags.count(key, &res)
			resp.Results = append(resp.Results, cache.proto(key, &res))
		})
		return resp, nil
	}
	resp.Results = make([]*sdkpb.EvaluationResult, len(req.GetFlags()))
	for i, key := range req.GetFlags() {
		res := rs.Evaluate(key, &ectx)
		flags.count(key, &res)
		resp.Results[i] = cache.proto(key, &res)
	}
	return resp, nil
}

// contextFromStruct turns a protobuf Struct into an evaluation context. A
// context with more than eval.MaxAttributes attributes, or nesting objects
// and lists deeper than eval.MaxDepth (the Struct itself being the first
// level), is refused as an invalid argument naming the attribute.
func contextFromStruct(dst *eval.Context, st *structpb.Struct) error {
	n := len(st.GetFields())
	if _, ok := st.GetFields()[eval.TargetingKeyAttribute]; ok {
		n--
	}
	if n > eval.MaxAttributes {
		return invalidField("context", "has %d attributes, more than the limit of %d", n, eval.MaxAttributes)
	}
	for k, v := range st.GetFields() {
		if tooDeep(v, 2) {
			return invalidField("context."+k, "nests objects and arrays more than %d levels deep (the limit)", eval.MaxDepth)
		}
	}
	m := make(map[string]any, len(st.GetFields()))
	for k, v := range st.GetFields() {
		m[k] = v.AsInterface()
	}
	// An unusable context is not an error of the call: evaluation answers
	// INVALID_CONTEXT in the result, as DESIGN §3 says.
	*dst = eval.ContextFromMap(m)
	return nil
}

// tooDeep reports whether v, nesting at depth, holds a struct or list
// deeper than eval.MaxDepth. It looks no deeper than that.
func tooDeep(v *structpb.Value, depth int) bool {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StructValue:
		if depth > eval.MaxDepth {
			return true
		}
		for _, f := range k.StructValue.GetFields() {
			if tooDeep(f, depth+1) {
				return true
			}
		}
	case *structpb.Value_ListValue:
		if depth > eval.MaxDepth {
			return true
		}
		for _, e := range k.ListValue.GetValues() {
			if tooDeep(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// resultCache holds the result messages of one ruleset. A result depends
// on the context only through which variant, reason and rule it has, so
// there are few distinct ones; they are built once and shared (read-only)
// by every response, which saves the conversion of values to protobuf.
type resultCache struct {
	rs *eval.Ruleset
	m  sync.Map // resultKey → *sdkpb.EvaluationResult
}

type resultKey struct {
	flag, variant, rule string
	reason              eval.Reason
	code                eval.ErrorCode
}

// resultsOf returns the result cache of the environment's current ruleset.
func (s *Server) resultsOf(rs *eval.Ruleset) *resultCache {
	env := snapshot.Env{Project: rs.Project(), Environment: rs.Environment()}
	if c, ok := s.results.Load(env); ok && c.(*resultCache).rs == rs {
		return c.(*resultCache)
	}
	c := &resultCache{rs: rs}
	s.results.Store(env, c)
	return c
}

// proto returns the message of a result. Results for unknown flags are not
// kept: their keys come from clients.
func (c *resultCache) proto(key string, res *eval.Result) *sdkpb.EvaluationResult {
	if res.ErrorCode == eval.ErrorFlagNotFound {
		return resultProto(key, res, c.rs.Revision)
	}
	k := resultKey{flag: key, variant: res.Variant, rule: res.Rule, reason: res.Reason, code: res.ErrorCode}
	if m, ok := c.m.Load(k); ok {
		return m.(*sdkpb.EvaluationResult)
	}
	m := resultProto(key, res, c.rs.Revision)
	c.m.Store(k, m)
	return m
}

// resultProto converts an evaluation result.
func resultProto(key string, res *eval.Result, revision uint64) *sdkpb.EvaluationResult {
	out := &sdkpb.EvaluationResult{
		Flag:         key,
		Variant:      res.Variant,
		Reason:       string(res.Reason),
		Rule:         res.Rule,
		Revision:     revision,
		ErrorCode:    string(res.ErrorCode),
		ErrorMessage: res.ErrorMessage,
		Experiment:   res.Experiment,
	}
	if res.Variant != "" {
		v, err := structpb.NewValue(res.Value)
		if err == nil {
			out.Value = v
		}
	}
	return out
}

// notFound is a store-style not-found error for a described resource.
func notFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), domain.ErrNotFound)
}
