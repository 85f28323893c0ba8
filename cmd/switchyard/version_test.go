package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/buildinfo"
)

func TestVersionPrintsBuildInfo(t *testing.T) {
	want := buildinfo.Get()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &out); err != nil {
		t.Fatalf("version: %v\n%s", err, out.String())
	}
	for _, field := range []string{"switchyard " + want.Version, "commit " + want.Commit, want.GoVersion} {
		if !strings.Contains(out.String(), field) {
			t.Errorf("version printed %q, want a line with %q", out.String(), field)
		}
	}
}

func TestVersionJSON(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version", "--json"}, &out, &out); err != nil {
		t.Fatalf("version --json: %v\n%s", err, out.String())
	}
	var got buildinfo.Info
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("version --json printed %q: %v", out.String(), err)
	}
	if want := buildinfo.Get(); got != want {
		t.Errorf("version --json = %+v, want %+v", got, want)
	}
}

func TestVersionHelpNamesBothUses(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version", "--help"}, &out, &out); err != nil {
		t.Fatalf("version --help: %v", err)
	}
	for _, want := range []string{"switchyard version --output json", "register", "list"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version --help lacks %q:\n%s", want, out.String())
		}
	}
}
