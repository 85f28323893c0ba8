package console

import "testing"

func TestNewReleaseErrorsLandNextToTheirFields(t *testing.T) {
	p := &newReleasePage{Errs: map[string]string{}}
	for i := range newReleaseItems {
		p.Items = append(p.Items, ItemRow{Index: i})
	}
	for i := range newReleaseStages {
		p.Stages = append(p.Stages, StageRow{Index: i, Errs: map[string]string{}})
	}
	// The form's rows 1 and 2 were filled (API items[0], items[1]), and
	// its stage rows 0 and 3 (API plan[0], plan[1]).
	itemRow, stageRow := []int{1, 2}, []int{0, 3}
	for _, e := range []struct{ path, msg string }{
		{"id", "bad id"},
		{"items[1].variant", "no variant"},
		{"items[0].flag", "bad flag"},
		{"plan[1].gate.wait.duration", "bad duration"},
		{"plan[1].segments[0]", "bad segment"},
		{"plan[0].weight", "bad weight"},
		{"plan[0].min_convergence", "bad share"},
		{"plan[0].guardrail.threshold", "bad threshold"},
		{"plan[1].gate.at.time", "in the past"},
		{"links.ticket", "bad ticket"},
		{"salt", "bad mode"},
		{"plan[7].weight", "no such row"},
	} {
		p.place(e.path, e.msg, itemRow, stageRow)
	}
	checks := []struct{ name, got, want string }{
		{"id", p.Errs["id"], "bad id"},
		{"item row 2 variant", p.Items[2].VariantError, "no variant"},
		{"item row 1 flag", p.Items[1].FlagError, "bad flag"},
		{"stage row 3 wait", p.Stages[3].Errs["wait"], "bad duration"},
		{"stage row 3 segments", p.Stages[3].Errs["segments"], "bad segment"},
		{"stage row 0 weight", p.Stages[0].Errs["weight"], "bad weight"},
		{"stage row 0 convergence", p.Stages[0].Errs["min_convergence"], "bad share"},
		{"stage row 0 guardrail", p.Stages[0].Errs["threshold"], "bad threshold"},
		{"stage row 3 at", p.Stages[3].Errs["at"], "in the past"},
		{"ticket", p.Errs["links.ticket"], "bad ticket"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s error = %q, want %q", c.name, c.got, c.want)
		}
	}
	if len(p.Other) != 2 || p.Other[0] != "salt: bad mode" || p.Other[1] != "plan[7].weight: no such row" {
		t.Errorf("other errors = %q, want mode's and plan[7]'s", p.Other)
	}
}
