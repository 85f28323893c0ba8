package model

import (
	"fmt"
	"strings"
)

// AttributeKeys returns the keys an attribute reference — a condition's
// attribute or a bucket_by — names, outermost first (DESIGN §3 "Attribute
// references"). A reference that starts with "/" is a JSON Pointer (RFC
// 6901) into nested objects: its reference tokens, with "~1" read as "/"
// and "~0" as "~" ("/a~1b/x" is the key "x" inside the key "a/b"). Any
// other reference is one top-level key, taken literally ("user.plan" is
// the key "user.plan"). A pointer with a "~" not followed by "0" or "1" is
// an error.
func AttributeKeys(ref string) ([]string, error) {
	if !strings.HasPrefix(ref, "/") {
		return []string{ref}, nil
	}
	tokens := strings.Split(ref[1:], "/")
	for i, tok := range tokens {
		if !strings.Contains(tok, "~") {
			continue
		}
		for j := 0; j < len(tok); j++ {
			if tok[j] == '~' && (j+1 == len(tok) || (tok[j+1] != '0' && tok[j+1] != '1')) {
				return nil, fmt.Errorf("JSON Pointer %q: %q in token %d is not an escape (~0 is ~, ~1 is /)", ref, tok[j:min(j+2, len(tok))], i)
			}
		}
		// "~01" is "~1": undo ~1 first, then ~0.
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}
