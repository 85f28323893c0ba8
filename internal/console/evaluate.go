package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// evaluatePage answers "why does user X see this?": a context, and for
// every flag (or one) the variant, value, reason and the rule that matched.
type evaluatePage struct {
	Layout
	TargetingKey string
	Attributes   string // a JSON object
	Flag         string
	// ContextErr is a problem with the context as typed.
	ContextErr string
	Evaluated  bool
	Revision   uint64
	Results    []evalRow
}

type evalRow struct {
	Flag, Variant, Value, Reason, Rule, Error string
	// Why explains the reason in words.
	Why string
	// RuleLink is the flag page when a rule matched.
	RuleLink string
}

func (c *Console) evaluateForm(w http.ResponseWriter, r *http.Request, s *Session) {
	p := &evaluatePage{Layout: c.layout(r, s, "Evaluate", "evaluate"), Attributes: "{\n  \n}"}
	p.Flag = r.URL.Query().Get("flag")
	c.render(w, http.StatusOK, "evaluate", p)
}

// evaluate evaluates the posted context (POST keeps the context, which may
// identify a person, out of URLs and logs) in the current environment.
func (c *Console) evaluate(w http.ResponseWriter, r *http.Request, s *Session) {
	p := &evaluatePage{Layout: c.layout(r, s, "Evaluate", "evaluate")}
	p.TargetingKey = strings.TrimSpace(r.PostFormValue("targetingKey"))
	p.Attributes = r.PostFormValue("attributes")
	p.Flag = strings.TrimSpace(r.PostFormValue("flag"))
	ctx, err := buildContext(p.TargetingKey, p.Attributes)
	if err != nil {
		p.ContextErr = err.Error()
		c.render(w, http.StatusBadRequest, "evaluate", p)
		return
	}
	req := &sdkpb.EvaluateBatchRequest{Project: p.Project, Environment: p.Environment, Context: ctx}
	if p.Flag != "" {
		req.Flags = []string{p.Flag}
	}
	resp, err := c.api.evaluation.EvaluateBatch(call(r, s), req)
	if err != nil {
		e := errorOf(err)
		if e.Status != http.StatusBadRequest {
			c.apiFail(w, r, s, err)
			return
		}
		p.ContextErr = e.Message
		c.render(w, http.StatusBadRequest, "evaluate", p)
		return
	}
	p.Evaluated, p.Revision = true, resp.GetRevision()
	for _, res := range resp.GetResults() {
		row := evalRow{
			Flag: res.GetFlag(), Variant: res.GetVariant(), Reason: res.GetReason(), Rule: res.GetRule(),
			Error: strings.TrimSpace(res.GetErrorCode() + " " + res.GetErrorMessage()),
		}
		if res.GetValue() != nil {
			data, _ := protojson.Marshal(res.GetValue())
			row.Value = string(data)
		}
		row.Why = why(res)
		if res.GetRule() != "" {
			row.RuleLink = "/flags/" + res.GetFlag()
		}
		p.Results = append(p.Results, row)
	}
	c.render(w, http.StatusOK, "evaluate", p)
}

// buildContext makes the evaluation context from a targeting key and a
// JSON object of attributes.
func buildContext(key, attributes string) (*structpb.Struct, error) {
	m := map[string]any{}
	if a := strings.TrimSpace(attributes); a != "" {
		dec := json.NewDecoder(strings.NewReader(a))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("attributes: not JSON: %v", err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("attributes: want a JSON object like {\"country\": \"DE\"}")
		}
		m = obj
	}
	if key != "" {
		m["targetingKey"] = key
	}
	data, _ := json.Marshal(m)
	out := &structpb.Struct{}
	if err := protojson.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("attributes: %v", err)
	}
	return out, nil
}

// why says in words why a result came out as it did.
func why(res *sdkpb.EvaluationResult) string {
	switch res.GetReason() {
	case "TARGETING_MATCH":
		if res.GetRule() == "targets" {
			return "The targeting key is listed in the flag's individual targets."
		}
		if strings.HasPrefix(res.GetRule(), "experiment:") {
			return "Assigned by the running experiment " + res.GetExperiment() + "."
		}
		return "Rule \"" + res.GetRule() + "\" matched: all its segments and conditions hold."
	case "SPLIT":
		if res.GetRule() == "default" {
			return "No rule matched; the default rollout placed the unit in this variant by its bucket."
		}
		return "Rule \"" + res.GetRule() + "\" matched; its rollout placed the unit in this variant by its bucket."
	case "DEFAULT":
		return "No target or rule matched; the default variant is served."
	case "STATIC":
		return "The flag has no targets or rules here; everyone gets the default."
	case "DISABLED":
		return "The flag is switched off in this environment; the off variant is served."
	case "PREREQUISITE_FAILED":
		return "A prerequisite flag did not serve its required variant; the off variant is served."
	case "ERROR":
		return "Evaluation failed; the application's default value applies."
	}
	return ""
}
