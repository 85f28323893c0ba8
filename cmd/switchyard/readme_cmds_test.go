package main

import (
	"io"
	"os"
	"strings"
	"testing"
)

// TestReadmeResourceCommandsParse checks that every switchyard command
// line of the README's "Commands for every resource" section names a
// command that runs, with flags it has and the arguments it takes.
func TestReadmeResourceCommandsParse(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(data), "\n## Commands for every resource\n")
	section, _, _ = strings.Cut(section, "\n## ")
	n := 0
	for line := range strings.Lines(section) {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "$ "))
		if _, after, ok := strings.Cut(line, "| SWITCHYARD_SDK_KEY=$SDK "); ok {
			line = after
		}
		if !strings.HasPrefix(line, "switchyard ") {
			continue
		}
		n++
		args, err := shellWords(strings.TrimPrefix(line, "switchyard "))
		if err != nil {
			t.Errorf("README: %s: %v", line, err)
			continue
		}
		root, _ := newRootCmd(io.Discard, io.Discard)
		cmd, rest, err := root.Find(args)
		if err != nil || cmd == root || !cmd.Runnable() {
			t.Errorf("README: %s: no such command (%v)", line, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("README: %s: %v", line, err)
			continue
		}
		if cmd.Args != nil {
			if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
				t.Errorf("README: %s: %v", line, err)
			}
		}
	}
	if n < 20 {
		t.Errorf("README's resource commands: %d command lines, want the section's (at least 20)", n)
	}
}

// shellWords splits a command line as sh would for simple quoting: words
// separated by spaces, '…' and "…" quoted, a # word starting a comment.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words, in = append(words, cur.String()), false
				cur.Reset()
			}
		case r == '#' && !in:
			return words, nil
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, io.ErrUnexpectedEOF
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
