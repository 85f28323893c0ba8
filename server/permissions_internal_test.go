package server

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/reflection"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/snapshot"
)

// TestEveryRPCHasAPermission walks every method the gRPC server serves:
// each must be in the permission table (a method missing there is refused
// to every key, so a new RPC would be unusable rather than open), and the
// table must name no method the server does not serve.
func TestEveryRPCHasAPermission(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rs := snapshot.NewSet(log)
	st, file := domaintest.OpenBolt(t, filepath.Join(t.TempDir(), "s.db"), domain.Options{OnCommit: rs.Apply})
	rt, err := runtime.New(log, st, rs, runtime.Options{Events: boltlog.New(file, eventlog.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(log, st, rs, rt)
	if err != nil {
		t.Fatal(err)
	}
	reflection.Register(s.grpc) // as Serve does on loopback
	served := map[string]bool{}
	for service, info := range s.grpc.GetServiceInfo() {
		for _, m := range info.Methods {
			method := "/" + service + "/" + m.Name
			served[method] = true
			if _, ok := s.permissions[method]; !ok {
				t.Errorf("%s has no permission", method)
			}
		}
	}
	for method := range s.permissions {
		if !served[method] {
			t.Errorf("permission table names %s, which is not served", method)
		}
	}
	if len(served) < 50 {
		t.Errorf("only %d methods served; is a service missing?", len(served))
	}
}

// TestRoleMatrix pins who may call an RPC of each permission: every role
// reads; editors edit; release managers also run releases; admins also
// manage keys, environments and projects; SDK keys evaluate and sync;
// client keys only evaluate; relay keys sync and send events. Every RPC maps to one of these permissions
// (TestEveryRPCHasAPermission), so this is the matrix for every RPC.
func TestRoleMatrix(t *testing.T) {
	principals := map[string]auth.Principal{
		"viewer":          {Kind: auth.KindAdmin, Role: auth.RoleViewer},
		"editor":          {Kind: auth.KindAdmin, Role: auth.RoleEditor},
		"release-manager": {Kind: auth.KindAdmin, Role: auth.RoleReleaseManager},
		"admin":           {Kind: auth.KindAdmin, Role: auth.RoleAdmin},
		"sdk":             {Kind: auth.KindSDK, Project: "p", Environment: "e"},
		"client":          {Kind: auth.KindClient, Project: "p", Environment: "e"},
		"relay":           {Kind: auth.KindRelay, Project: "p", Environments: []string{"e"}},
	}
	allowed := map[auth.Permission]string{
		auth.Public:   "viewer editor release-manager admin sdk client relay",
		auth.Evaluate: "viewer editor release-manager admin sdk client",
		auth.Sync:     "sdk relay",
		auth.Events:   "viewer editor release-manager admin sdk client relay",
		auth.Read:     "viewer editor release-manager admin",
		auth.Edit:     "editor release-manager admin",
		auth.Release:  "release-manager admin",
		auth.Admin:    "admin",
	}
	for method, perm := range methodPermissions() {
		want, ok := allowed[perm]
		if !ok {
			t.Fatalf("%s needs unknown permission %v", method, perm)
		}
		for name, p := range principals {
			err := auth.Authorize(&p, perm)
			if got, wantOK := err == nil, strings.Contains(" "+want+" ", " "+name+" "); got != wantOK {
				t.Errorf("%s (%s) for %s: allowed = %v, want %v (%v)", method, perm, name, got, wantOK, err)
			}
		}
	}
}
