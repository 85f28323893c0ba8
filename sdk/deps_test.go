package sdk_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestSDKLinksOnlyTheSDKAPI checks the dependency closure of every SDK
// package (tests excluded): of the generated code it may link only the
// sdkpb messages and stubs (sync, evaluation, availability, events), never
// the admin API, the REST gateway or grpc-gateway's runtime.
func TestSDKLinksOnlyTheSDKAPI(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to list dependencies: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v\n%s", err, stderr(err))
	}
	const (
		gen     = "github.com/switchyard/switchyard/internal/gen/"
		allowed = gen + "switchyard/v1/sdkpb"
		gateway = "github.com/grpc-ecosystem/grpc-gateway/"
	)
	var found bool
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case pkg == allowed:
			found = true
		case strings.HasPrefix(pkg, gen), strings.HasPrefix(pkg, gateway):
			t.Errorf("the SDK links %s; it may link only %s of the generated code", pkg, allowed)
		}
	}
	if !found {
		t.Errorf("the SDK does not link %s (listed: %d packages)", allowed, len(strings.Fields(string(out))))
	}
}

// stderr is what a failed command wrote to its standard error.
func stderr(err error) []byte {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.Stderr
	}
	return nil
}
