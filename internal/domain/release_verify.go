package domain

import (
	"fmt"
	"reflect"

	"github.com/switchyard/switchyard/internal/model"
)

// verificationView is what the audit event of a verification records.
type verificationView struct {
	Verification []model.StageVerification `json:"verification,omitempty"`
	FinalCheck   *model.ResolutionCheck    `json:"final_check,omitempty"`
}

// PutReleaseVerification replaces the verification results of the release
// with r's id — its Verification and FinalCheck — by r's; every other field
// of r must equal the stored release's (else ErrInvalid). Verification
// results are what the server observed of a release, not a change a client
// could lose: the release keeps its etag and timeline, no environment's
// state changes, and the audit event "release.verify" records the results.
// Equal results change nothing.
func (tx *Tx) PutReleaseVerification(project string, r *model.Release) error {
	if err := tx.usable(); err != nil {
		return err
	}
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	name := ReleaseName(project, r.ID)
	i, ok := d.ps.rels.idx[r.ID]
	if !ok {
		return notFound(name)
	}
	old, e := d.ps.rels.items[i], d.ps.rels.entries[i]
	nr, _, err := normalize("release "+r.ID, r)
	if err != nil {
		return err
	}
	a, b := *old, *nr
	a.Verification, a.FinalCheck, b.Verification, b.FinalCheck = nil, nil, nil, nil
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("%s: only the verification results may change: %w", name, ErrInvalid)
	}
	if reflect.DeepEqual(old, nr) {
		return nil
	}
	d.writable()
	d.ps.rels.set(i, nr, e)
	d.markDirty(kindRelease, r.ID)
	tx.record(AuditEvent{
		Action:      "release.verify",
		Resource:    name,
		Project:     project,
		Environment: nr.Environment,
		After:       encode(verificationView{nr.Verification, nr.FinalCheck}),
	}, false)
	return nil
}
