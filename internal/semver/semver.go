// Package semver parses semantic versions the way Switchyard's document and
// evaluator read them (DESIGN §3) and orders them by SemVer 2.0.0
// precedence.
//
// The accepted syntax is SemVer 2.0.0 with two relaxations: an optional
// lower-case leading "v", and the short forms "1" and "1.2", which mean
// 1.0.0 and 1.2.0 and take no pre-release or build suffix. Numeric
// identifiers have no leading zeros.
package semver

import "strconv"

// Version is a parsed semantic version. Pre holds the pre-release
// identifiers and Build the build metadata, each without its leading '-'
// or '+' and empty when absent. Compare ignores Build.
type Version struct {
	Major, Minor, Patch uint64
	Pre                 string
	Build               string
}

// Parse parses s as a semantic version. It reports false when s is not one,
// including when a numeric part does not fit in a uint64.
func Parse(s string) (Version, bool) {
	var v Version
	if len(s) > 0 && s[0] == 'v' {
		s = s[1:]
	}
	var ok bool
	if v.Major, s, ok = number(s); !ok {
		return Version{}, false
	}
	if s == "" {
		return v, true
	}
	if s[0] != '.' {
		return Version{}, false
	}
	if v.Minor, s, ok = number(s[1:]); !ok {
		return Version{}, false
	}
	if s == "" {
		return v, true
	}
	if s[0] != '.' {
		return Version{}, false
	}
	if v.Patch, s, ok = number(s[1:]); !ok {
		return Version{}, false
	}
	if s != "" && s[0] == '-' {
		end := len(s)
		for i := 1; i < len(s); i++ {
			if s[i] == '+' {
				end = i
				break
			}
		}
		v.Pre = s[1:end]
		if !identifiers(v.Pre, true) {
			return Version{}, false
		}
		s = s[end:]
	}
	if s != "" && s[0] == '+' {
		v.Build = s[1:]
		if !identifiers(v.Build, false) {
			return Version{}, false
		}
		s = ""
	}
	if s != "" {
		return Version{}, false
	}
	return v, true
}

// number reads a numeric identifier without leading zeros from the start of
// s and returns its value and the rest of s.
func number(s string) (uint64, string, bool) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return 0, s, false
	}
	n, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil {
		return 0, s, false
	}
	return n, s[i:], true
}

// identifiers reports whether s is a non-empty dot-separated list of
// non-empty identifiers of [0-9A-Za-z-]. With pre set, numeric identifiers
// may not have leading zeros.
func identifiers(s string, pre bool) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
				return false
			}
			continue
		}
		id := s[start:i]
		if id == "" {
			return false
		}
		if pre && len(id) > 1 && id[0] == '0' && numeric(id) {
			return false
		}
		start = i + 1
	}
	return true
}

// numeric reports whether id consists of digits only.
func numeric(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// Compare returns -1, 0 or +1 as a has lower, equal or higher precedence
// than b under SemVer 2.0.0: major, minor and patch compare numerically; a
// version with a pre-release is lower than the same version without one;
// pre-release identifiers compare left to right, numeric ones numerically
// and below alphanumeric ones, which compare in ASCII order, and a shorter
// list of equal identifiers is lower. Build metadata is ignored. Compare
// does not allocate.
func Compare(a, b Version) int {
	if c := cmpUint(a.Major, b.Major); c != 0 {
		return c
	}
	if c := cmpUint(a.Minor, b.Minor); c != 0 {
		return c
	}
	if c := cmpUint(a.Patch, b.Patch); c != 0 {
		return c
	}
	switch {
	case a.Pre == b.Pre:
		return 0
	case a.Pre == "":
		return 1
	case b.Pre == "":
		return -1
	}
	return comparePre(a.Pre, b.Pre)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// comparePre compares two non-empty pre-release strings identifier by
// identifier.
func comparePre(a, b string) int {
	for {
		ia, ra, moreA := cut(a)
		ib, rb, moreB := cut(b)
		if c := compareIdentifier(ia, ib); c != 0 {
			return c
		}
		switch {
		case !moreA && !moreB:
			return 0
		case !moreA:
			return -1
		case !moreB:
			return 1
		}
		a, b = ra, rb
	}
}

// cut splits s at its first dot.
func cut(s string) (id, rest string, more bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func compareIdentifier(a, b string) int {
	na, nb := numeric(a), numeric(b)
	switch {
	case na && nb:
		// No leading zeros: a longer number is larger.
		if c := cmpUint(uint64(len(a)), uint64(len(b))); c != 0 {
			return c
		}
	case na:
		return -1
	case nb:
		return 1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// String returns v in canonical form, "MAJOR.MINOR.PATCH" followed by
// "-PRE" and "+BUILD" when present, without a leading "v".
func (v Version) String() string {
	b := make([]byte, 0, 16+len(v.Pre)+len(v.Build))
	b = strconv.AppendUint(b, v.Major, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, v.Minor, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, v.Patch, 10)
	if v.Pre != "" {
		b = append(b, '-')
		b = append(b, v.Pre...)
	}
	if v.Build != "" {
		b = append(b, '+')
		b = append(b, v.Build...)
	}
	return string(b)
}
