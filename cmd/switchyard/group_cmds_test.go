package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runGroupCmds runs "switchyard GROUP args…" as s.run does, the group made
// of the commands cmds returns, in place of the root's group of that name:
// it tests the commands of a group that another file registers.
func (s *cliServer) runGroupCmds(t *testing.T, group string, cmds func(*cli) []*cobra.Command, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root, c := newRootCmd(&out, &errOut)
	for _, old := range root.Commands() {
		if old.Name() == group {
			root.RemoveCommand(old)
		}
	}
	g := &cobra.Command{Use: group}
	g.AddCommand(cmds(c)...)
	root.AddCommand(g)
	root.SetArgs(append(append([]string{group}, args...), "--server", s.url, "--token", s.token))
	err = root.ExecuteContext(context.Background())
	if err != nil && !c.prepared && !errors.As(err, new(usageError)) {
		err = usageError{err}
	}
	return out.String(), err
}

// mustGroupCmds is runGroupCmds that must succeed.
func (s *cliServer) mustGroupCmds(t *testing.T, group string, cmds func(*cli) []*cobra.Command, args ...string) string {
	t.Helper()
	out, err := s.runGroupCmds(t, group, cmds, args...)
	if err != nil {
		t.Fatalf("switchyard %s %s: %v\n%s", group, strings.Join(args, " "), err, out)
	}
	return out
}

// failGroupCmds is runGroupCmds that must fail with exit code want; it
// returns the error's text.
func (s *cliServer) failGroupCmds(t *testing.T, want int, group string, cmds func(*cli) []*cobra.Command, args ...string) string {
	t.Helper()
	out, err := s.runGroupCmds(t, group, cmds, args...)
	if err == nil {
		t.Fatalf("switchyard %s %s succeeded, want exit %d\n%s", group, strings.Join(args, " "), want, out)
	}
	if got := exitCode(err); got != want {
		t.Errorf("switchyard %s %s: exit %d (%v), want %d", group, strings.Join(args, " "), got, err, want)
	}
	return err.Error()
}
