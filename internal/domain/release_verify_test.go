package domain_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
)

func TestPutReleaseVerification(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error { return tx.CreateRelease("shop", draftRelease()) })
	_, meta, _ := project(t, s.State(), "shop").Release("r1")
	checked := func() *model.Release {
		r := draftRelease()
		r.Verification = []model.StageVerification{{Stage: 1, Resolution: &model.ResolutionCheck{Stage: 1, Passed: true, Revision: 3}}}
		return r
	}
	cases := []struct {
		name    string
		release func() *model.Release
		events  int
		invalid bool
	}{
		{"records the results", checked, 1, false},
		{"equal results change nothing", checked, 0, false},
		{"refuses any other change", func() *model.Release { r := checked(); r.Title = "changed"; return r }, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s.Update(context.Background(), domain.Actor{Name: "verifier"}, func(tx *domain.Tx) error {
				return tx.PutReleaseVerification("shop", tc.release())
			})
			if tc.invalid {
				if !errors.Is(err, domain.ErrInvalid) {
					t.Fatalf("PutReleaseVerification = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Events) != tc.events || c.Revision != 0 {
				t.Fatalf("commit: %d events, revision %d; want %d events and no revision", len(c.Events), c.Revision, tc.events)
			}
			if tc.events > 0 && c.Events[0].Action != "release.verify" {
				t.Errorf("audit action %q, want release.verify", c.Events[0].Action)
			}
			r, now, _ := project(t, s.State(), "shop").Release("r1")
			if now.Etag != meta.Etag || len(r.Verification) != 1 || !r.Verification[0].Resolution.Passed {
				t.Errorf("release etag %s (was %s), verification %+v; want the etag kept and the check stored", now.Etag, meta.Etag, r.Verification)
			}
		})
	}
}
