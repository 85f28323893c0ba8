package semver

import (
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Version
		ok   bool
	}{
		{name: "full", in: "1.2.3", want: Version{Major: 1, Minor: 2, Patch: 3}, ok: true},
		{name: "zeros", in: "0.0.0", want: Version{}, ok: true},
		{name: "leading v", in: "v1.2.3", want: Version{Major: 1, Minor: 2, Patch: 3}, ok: true},
		{name: "major only", in: "1", want: Version{Major: 1}, ok: true},
		{name: "major and minor", in: "1.2", want: Version{Major: 1, Minor: 2}, ok: true},
		{name: "v and major only", in: "v7", want: Version{Major: 7}, ok: true},
		{name: "pre-release", in: "1.2.3-beta.1", want: Version{Major: 1, Minor: 2, Patch: 3, Pre: "beta.1"}, ok: true},
		{name: "build", in: "1.2.3+exp.sha.5114f85", want: Version{Major: 1, Minor: 2, Patch: 3, Build: "exp.sha.5114f85"}, ok: true},
		{name: "pre-release and build", in: "1.0.0-rc.1+build.1", want: Version{Major: 1, Pre: "rc.1", Build: "build.1"}, ok: true},
		{name: "hyphen in pre-release", in: "1.0.0-x-y-z.--", want: Version{Major: 1, Pre: "x-y-z.--"}, ok: true},
		{name: "alphanumeric with leading zero", in: "1.0.0-0a", want: Version{Major: 1, Pre: "0a"}, ok: true},
		{name: "zero pre-release identifier", in: "1.0.0-0", want: Version{Major: 1, Pre: "0"}, ok: true},
		{name: "leading zero in build", in: "1.0.0+001", want: Version{Major: 1, Build: "001"}, ok: true},
		{name: "largest uint64", in: "18446744073709551615.0.0", want: Version{Major: 18446744073709551615}, ok: true},
		{name: "empty", in: ""},
		{name: "v only", in: "v"},
		{name: "upper-case V", in: "V1.2.3"},
		{name: "double v", in: "vv1.2.3"},
		{name: "leading space", in: " 1.2.3"},
		{name: "trailing space", in: "1.2.3 "},
		{name: "trailing dot", in: "1."},
		{name: "empty minor", in: "1..3"},
		{name: "four parts", in: "1.2.3.4"},
		{name: "leading zero major", in: "01.2.3"},
		{name: "leading zero minor", in: "1.02.3"},
		{name: "leading zero patch", in: "1.2.03"},
		{name: "leading zero short form", in: "01"},
		{name: "letters", in: "a.b.c"},
		{name: "negative", in: "-1.2.3"},
		{name: "plus sign", in: "+1.2.3"},
		{name: "pre-release on major only", in: "1-beta"},
		{name: "pre-release on short form", in: "1.2-beta"},
		{name: "build on short form", in: "1.2+b"},
		{name: "empty pre-release", in: "1.2.3-"},
		{name: "empty build", in: "1.2.3+"},
		{name: "empty pre-release identifier", in: "1.2.3-a..b"},
		{name: "trailing dot in pre-release", in: "1.2.3-a."},
		{name: "leading zero numeric pre-release", in: "1.2.3-01"},
		{name: "invalid character in pre-release", in: "1.2.3-a_b"},
		{name: "invalid character in build", in: "1.2.3+a/b"},
		{name: "empty build identifier", in: "1.2.3+a..b"},
		{name: "second plus", in: "1.2.3+a+b"},
		{name: "overflow", in: "18446744073709551616.0.0"},
		{name: "unicode digit", in: "１.2.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Parse(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Parse(%q) = %+v, %v, want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{name: "equal", a: "1.2.3", b: "1.2.3", want: 0},
		{name: "major", a: "1.9.9", b: "2.0.0", want: -1},
		{name: "minor", a: "1.10.0", b: "1.9.0", want: 1},
		{name: "patch numeric not lexical", a: "1.2.10", b: "1.2.9", want: 1},
		{name: "short form equals full", a: "1.2", b: "1.2.0", want: 0},
		{name: "major only equals full", a: "v1", b: "1.0.0", want: 0},
		{name: "v ignored", a: "v1.2.3", b: "1.2.3", want: 0},
		{name: "pre-release below release", a: "1.0.0-alpha", b: "1.0.0", want: -1},
		{name: "release above pre-release", a: "1.0.0", b: "1.0.0-rc.1", want: 1},
		{name: "pre-release above lower release", a: "1.0.0-alpha", b: "0.9.9", want: 1},
		{name: "shorter identifier list lower", a: "1.0.0-alpha", b: "1.0.0-alpha.1", want: -1},
		{name: "numeric below alphanumeric", a: "1.0.0-alpha.1", b: "1.0.0-alpha.beta", want: -1},
		{name: "alphanumeric above numeric", a: "1.0.0-beta", b: "1.0.0-1", want: 1},
		{name: "alphanumeric lexical", a: "1.0.0-alpha.beta", b: "1.0.0-beta", want: -1},
		{name: "numeric identifiers numerically", a: "1.0.0-beta.2", b: "1.0.0-beta.11", want: -1},
		{name: "long numeric identifiers", a: "1.0.0-99999999999999999999999", b: "1.0.0-100000000000000000000000", want: -1},
		{name: "rc above beta", a: "1.0.0-beta.11", b: "1.0.0-rc.1", want: -1},
		{name: "ASCII order upper before lower", a: "1.0.0-Beta", b: "1.0.0-alpha", want: -1},
		{name: "hyphen sorts before digits in ASCII", a: "1.0.0--", b: "1.0.0-0a", want: -1},
		{name: "equal pre-release", a: "1.0.0-rc.1", b: "1.0.0-rc.1", want: 0},
		{name: "build ignored", a: "1.0.0+a", b: "1.0.0+b", want: 0},
		{name: "build ignored with pre-release", a: "1.0.0-rc.1+a", b: "1.0.0-rc.1", want: 0},
		{name: "identifier prefix of other", a: "1.0.0-alpha", b: "1.0.0-alphabet", want: -1},
		{name: "large major", a: "18446744073709551615.0.0", b: "18446744073709551614.9.9", want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, okA := Parse(tc.a)
			b, okB := Parse(tc.b)
			if !okA || !okB {
				t.Fatalf("Parse(%q), Parse(%q) = %v, %v, want true, true", tc.a, tc.b, okA, okB)
			}
			if got := Compare(a, b); got != tc.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := Compare(b, a); got != -tc.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
			}
		})
	}
}

// TestCompareSpecOrder checks the precedence example of SemVer 2.0.0 §11.
func TestCompareSpecOrder(t *testing.T) {
	order := []string{
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1",
	}
	for i := range order {
		for j := range order {
			a, _ := Parse(order[i])
			b, _ := Parse(order[j])
			want := cmpUint(uint64(i), uint64(j))
			if got := Compare(a, b); got != want {
				t.Errorf("Compare(%q, %q) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "full", in: "1.2.3", want: "1.2.3"},
		{name: "leading v dropped", in: "v1.2.3", want: "1.2.3"},
		{name: "short form expanded", in: "1.2", want: "1.2.0"},
		{name: "major only expanded", in: "4", want: "4.0.0"},
		{name: "pre-release and build kept", in: "1.0.0-rc.1+b.7", want: "1.0.0-rc.1+b.7"},
		{name: "build only", in: "1.0.0+b", want: "1.0.0+b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := Parse(tc.in)
			if !ok {
				t.Fatalf("Parse(%q) failed", tc.in)
			}
			if got := v.String(); got != tc.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCompareNoAlloc(t *testing.T) {
	a, _ := Parse("1.0.0-alpha.beta.11")
	b, _ := Parse("1.0.0-alpha.beta.2")
	var sink int
	allocs := testing.AllocsPerRun(100, func() { sink += Compare(a, b) })
	_ = sink
	if allocs != 0 {
		t.Errorf("Compare allocates %v times per call, want 0", allocs)
	}
}

func BenchmarkCompareNoAlloc(b *testing.B) {
	x, _ := Parse("1.0.0-alpha.beta.11")
	y, _ := Parse("1.0.0-alpha.beta.2")
	b.ReportAllocs()
	for b.Loop() {
		Compare(x, y)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.2.3", "v1", "1.2", "1.0.0-rc.1+b", "01.2.3", "1.2.3-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := Parse(s)
		if !ok {
			return
		}
		again, ok := Parse(v.String())
		if !ok || again != v {
			t.Errorf("Parse(%q) = %+v, String %q parses to %+v, %v", s, v, v.String(), again, ok)
		}
		if Compare(v, again) != 0 {
			t.Errorf("Compare(%+v, %+v) != 0", v, again)
		}
	})
}
