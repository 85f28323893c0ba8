package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeSections are the README sections whose ```sh blocks run, in order,
// against one fresh server; their curl commands must answer below 400 and
// match the sample output a "# {...}" line after them shows. Sections not
// listed here walk a release through its life with the CLI, or need one
// (incidents, reviews), which a fresh server has not.
var readmeSections = []string{"A short tour", "Keys", "Release models", "The release report"}

// readmeBlock is one ```sh block of README.md and the section it is in.
type readmeBlock struct {
	section string
	line    int // of the opening fence
	lines   []string
}

// readmeBlocks returns the ```sh blocks of README.md (indented ones too).
func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeBlock
	var section string
	var cur *readmeBlock
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, trimmed)
		case trimmed == "```sh":
			cur = &readmeBlock{section: section, line: i + 1}
		case strings.HasPrefix(line, "#"):
			section = strings.TrimSpace(strings.TrimLeft(line, "#"))
		}
	}
	return out
}

// curlCommand is one curl command of a block, with the sample answer
// shown after it, if any. A command "NAME=$(curl … | sed -n 's/RE/\\1/p')"
// sets the variable NAME to what the sed expression prints of the answer.
type curlCommand struct {
	line   int
	text   string // the command line, continuations joined, after "curl "
	sample string
	assign string // NAME, for an assignment
	sed    string // the sed expression of an assignment
}

// assignment is "NAME=$(curl … | sed -n '…')".
var assignment = regexp.MustCompile(`^([A-Z_]+)=\$\(curl (.*) \| sed -n '([^']*)'\)$`)

// commands joins continued lines and returns a block's curl commands;
// every other command (the variables the test sets itself, make) is left
// out.
func (b readmeBlock) commands() []curlCommand {
	var out []curlCommand
	for i := 0; i < len(b.lines); i++ {
		line, at := b.lines[i], b.line+1+i
		for strings.HasSuffix(line, "\\") && i+1 < len(b.lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + b.lines[i]
		}
		for strings.Count(line, "'")%2 == 1 && i+1 < len(b.lines) {
			// A quoted body spread over lines: join up to the closing quote.
			i++
			line += "\n" + b.lines[i]
		}
		switch m := assignment.FindStringSubmatch(line); {
		case strings.HasPrefix(line, "# {") && len(out) > 0:
			out[len(out)-1].sample = strings.TrimPrefix(line, "# ")
		case strings.HasPrefix(line, "curl "):
			out = append(out, curlCommand{line: at, text: strings.TrimPrefix(line, "curl ")})
		case m != nil:
			out = append(out, curlCommand{line: at, text: m[2], assign: m[1], sed: m[3]})
		}
	}
	return out
}

// sedPrint applies "s/RE/\\1/p" (a basic regular expression, as sed -n
// takes it) to each line of text and returns what it prints.
func sedPrint(t *testing.T, expr, text string) string {
	t.Helper()
	parts := strings.Split(expr, "/")
	if len(parts) != 4 || parts[0] != "s" || parts[2] != "\\1" || parts[3] != "p" {
		t.Fatalf("README: sed expression %q is not one the test interprets (s/RE/\\1/p)", expr)
	}
	re := regexp.MustCompile(strings.NewReplacer(`\(`, `(`, `\)`, `)`).Replace(parts[1]))
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	return strings.Join(out, "\n")
}

// shellWords splits a command line as sh would for the quoting the README
// uses: single quotes literal, double quotes and bare words with $VAR
// expanded from vars.
func shellWords(t *testing.T, line string, vars map[string]string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	expand := func(s string) string {
		return os.Expand(s, func(name string) string {
			v, ok := vars[name]
			if !ok {
				t.Fatalf("README: $%s is not a variable the test knows: %s", name, line)
			}
			return v
		})
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				t.Fatalf("README: unclosed quote: %s", line)
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				t.Fatalf("README: unclosed quote: %s", line)
			}
			w.WriteString(expand(line[i+1 : i+1+j]))
			i += j + 1
			inWord = true
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t\n'\"", rune(line[j])) {
				j++
			}
			w.WriteString(expand(line[i:j]))
			i = j - 1
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// curl runs the curl flags the README uses (-s, -i, -H, -X, -d, a URL) as
// curl would, against base in place of the README's 127.0.0.1:8080 and
// localhost:8080.
func curl(t *testing.T, base string, args []string) (*http.Response, []byte) {
	t.Helper()
	method, url := "", ""
	var body io.Reader
	header := http.Header{}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-s" || a == "-i":
		case (a == "-H" || a == "-X" || a == "-d") && i+1 < len(args):
			i++
			switch a {
			case "-H":
				name, value, _ := strings.Cut(args[i], ":")
				header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
			case "-X":
				method = args[i]
			case "-d":
				body = strings.NewReader(args[i])
				if header.Get("Content-Type") == "" {
					header.Set("Content-Type", "application/x-www-form-urlencoded") // as curl does
				}
			}
		case strings.HasPrefix(a, "-"):
			t.Fatalf("README: curl flag %s is not one the test interprets", a)
		default:
			url = a
		}
	}
	for _, host := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "127.0.0.1:8080", "localhost:8080"} {
		if rest, ok := strings.CutPrefix(url, host); ok {
			url = base + rest
			break
		}
	}
	if method == "" {
		method = http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatalf("README: curl %v: %v", args, err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("README: curl %v: %v", args, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// sameShape reports where got differs from the sample want: the same
// members, strings and bools equal, numbers both numbers (revisions
// differ from server to server).
func sameShape(got, want any, path string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path + ": not an object"
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return path + "." + k + ": missing"
			}
			if d := sameShape(gv, wv, path+"."+k); d != "" {
				return d
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return path + "." + k + ": not in the sample"
			}
		}
	case float64:
		if _, ok := got.(float64); !ok {
			return path + ": not a number"
		}
	default:
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Sprintf("%s: %v, sample %v", path, got, want)
		}
	}
	return ""
}

// TestREADMECommands runs the curl commands of the README's tour and API
// sections against a real server, so the documentation cannot drift from
// the product.
func TestREADMECommands(t *testing.T) {
	ts := startServer(t)
	// What the sections after the tour take as given: an editor and a
	// viewer token, the staff segment and the new-checkout flag of the
	// release walk-through.
	vars := map[string]string{
		"ADMIN":  ts.creds.AdminToken,
		"SDK":    ts.creds.SDKKey,
		"API":    ts.httpURL + "/api/v1",
		"EDITOR": ts.newKey(t, map[string]any{"name": "editor", "kind": "admin", "role": "editor"}),
		"VIEWER": ts.newKey(t, map[string]any{"name": "viewer", "kind": "admin", "role": "viewer"}),
	}
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/segments", `{"key":"staff","include":["staff-1"]}`)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)

	ran := map[string]int{}
	for _, b := range readmeBlocks(t) {
		if !contains(readmeSections, b.section) {
			continue
		}
		for _, c := range b.commands() {
			ran[b.section]++
			args := shellWords(t, c.text, vars)
			resp, body := curl(t, ts.httpURL, args)
			if c.assign != "" {
				vars[c.assign] = sedPrint(t, c.sed, string(body))
				if vars[c.assign] == "" {
					t.Errorf("README.md:%d: %s is empty: sed %q printed nothing of %s", c.line, c.assign, c.sed, body)
				}
			}
			if resp.StatusCode >= 400 {
				t.Errorf("README.md:%d: curl %s = %d %s", c.line, strings.Join(args, " "), resp.StatusCode, body)
				continue
			}
			if c.sample == "" {
				continue
			}
			var got, want any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Errorf("README.md:%d: answer %s is not JSON: %v", c.line, body, err)
				continue
			}
			if err := json.Unmarshal([]byte(c.sample), &want); err != nil {
				t.Errorf("README.md:%d: sample %s is not JSON: %v", c.line, c.sample, err)
				continue
			}
			if d := sameShape(got, want, "answer"); d != "" {
				t.Errorf("README.md:%d: answer %s differs from the sample %s at %s", c.line, bytes.TrimSpace(body), c.sample, d)
			}
		}
	}
	for _, s := range readmeSections {
		if ran[s] == 0 {
			t.Errorf("README section %q has no curl command to run", s)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
