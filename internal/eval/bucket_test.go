package eval

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/spaolacci/murmur3"
)

// murmur3Sum32 hashes with github.com/spaolacci/murmur3's streaming form,
// which, unlike its one-shot Sum32, passes the race detector's checks.
func murmur3Sum32(data []byte) uint32 {
	h := murmur3.New32()
	h.Write(data)
	return h.Sum32()
}

func TestBucketMatchesMurmur3(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	units := []string{"", "user-1", "Zoë", "用户-42", strings.Repeat("x", 300), strings.Repeat("y", 254)}
	for i := 0; i < 200; i++ {
		b := make([]byte, r.IntN(40))
		for j := range b {
			b[j] = byte(r.UintN(256))
		}
		units = append(units, string(b))
	}
	for _, salt := range []string{"", "a", "ab", "abc", "new-checkout", strings.Repeat("s", 255)} {
		for _, unit := range units {
			h := murmur3Sum32([]byte(salt + "." + unit))
			want := uint32(uint64(h) * 100000 >> 32)
			if got := Bucket(salt, unit); got != want {
				t.Errorf("Bucket(%q, %q) = %d, want %d", salt, unit, got, want)
			}
			if got := Bucket(salt, unit); got >= 100000 {
				t.Errorf("Bucket(%q, %q) = %d, out of range", salt, unit, got)
			}
		}
	}
}

func TestBucketDoesNotAllocate(t *testing.T) {
	long := strings.Repeat("x", 1000)
	if n := testing.AllocsPerRun(100, func() { Bucket(long, long) }); n != 0 {
		t.Errorf("Bucket allocates %v times", n)
	}
	ctx := NewContext("k").Number("n", -7).Set("user", map[string]any{"org": map[string]any{"id": 42}})
	for _, ref := range []string{"n", "/user/org/id"} {
		by, err := compileRef(ref)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { unitBucket("salt", &by, ctx) }); n != 0 {
			t.Errorf("unitBucket(%q) with a number allocates %v times", ref, n)
		}
	}
}

func TestUnitBucket(t *testing.T) {
	tests := []struct {
		name   string
		ctx    *Context
		by     string
		unit   string // the string the unit must hash as; "" = no unit
		wantOK bool
	}{
		{"targeting key", NewContext("user-1"), "targetingKey", "user-1", true},
		{"empty targeting key", NewContext(""), "targetingKey", "", true},
		{"no targeting key", new(Context), "targetingKey", "", false},
		{"string attribute", new(Context).String("acct", "a-9"), "acct", "a-9", true},
		{"integral number", new(Context).Number("acct", 42), "acct", "42", true},
		{"42.0 is 42", new(Context).Number("acct", 42.0), "acct", "42", true},
		{"negative", new(Context).Number("acct", -7), "acct", "-7", true},
		{"negative zero", new(Context).Number("acct", math.Copysign(0, -1)), "acct", "0", true},
		{"largest integral", new(Context).Number("acct", 1<<53-1), "acct", "9007199254740991", true},
		{"2^53 is too large", new(Context).Number("acct", 1<<53), "acct", "", false},
		{"-2^53 is too large", new(Context).Number("acct", -(1 << 53)), "acct", "", false},
		{"fraction", new(Context).Number("acct", 4.5), "acct", "", false},
		{"bool", new(Context).Bool("acct", true), "acct", "", false},
		{"array", new(Context).Strings("acct", "a"), "acct", "", false},
		{"absent", new(Context), "acct", "", false},
		{"object", new(Context).Set("acct", map[string]any{"id": "a-9"}), "acct", "", false},
		{"pointer to a string", new(Context).Set("user", map[string]any{"id": "a-9"}), "/user/id", "a-9", true},
		{"pointer to a number", new(Context).Set("user", map[string]any{"org": map[string]any{"id": 7}}), "/user/org/id", "7", true},
		{"pointer with escapes", new(Context).Set("a/b", map[string]any{"m~n": "x"}), "/a~1b/m~0n", "x", true},
		{"pointer to an object", new(Context).Set("user", map[string]any{"id": map[string]any{}}), "/user/id", "", false},
		{"pointer through an array", new(Context).Set("user", []any{map[string]any{"id": "a-9"}}), "/user/0/id", "", false},
		{"pointer through a string", new(Context).String("user", "u"), "/user/id", "", false},
		{"pointer to a missing key", new(Context).Set("user", map[string]any{"di": "a-9"}), "/user/id", "", false},
		{"dotted name is one key", new(Context).Set("user", map[string]any{"id": "a-9"}).String("user.id", "lit"), "user.id", "lit", true},
		{"pointer to the targeting key", NewContext("user-1"), "/targetingKey", "user-1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			by, err := compileRef(tc.by)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := unitBucket("salt", &by, tc.ctx)
			if ok != tc.wantOK || (ok && got != Bucket("salt", tc.unit)) {
				t.Errorf("unitBucket = %d, %v, want Bucket(salt, %q), %v", got, ok, tc.unit, tc.wantOK)
			}
		})
	}
}
