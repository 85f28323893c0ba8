package keylist

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

func readAll(t *testing.T, r *Reader) ([]string, error) {
	t.Helper()
	var keys []string
	for {
		batch, err := r.Next()
		if err == io.EOF {
			return keys, nil
		}
		if err != nil {
			return keys, err
		}
		keys = append(keys, batch...)
	}
}

func TestReader(t *testing.T) {
	limits := Limits{MaxKeys: 3, MaxKeyBytes: 6}
	tests := []struct {
		name     string
		body     string
		csv      bool
		want     []string
		wantLine int // 0: no error
	}{
		{"lines", "a\nb\n", false, []string{"a", "b"}, 0},
		{"crlf, blanks and spaces", "a\r\n\r\n  b \n\nc", false, []string{"a", "b", "c"}, 0},
		{"csv first field", "a,x\n\"b,c\",y\nd\n", true, []string{"a", "b,c", "d"}, 0},
		{"too many", "a\nb\n\nc\nd\n", false, nil, 5},
		{"too long", "a\nabcdefghijkl\n", false, nil, 2},
		{"too long csv", "a\nabcdefghijkl\n", true, nil, 2},
		{"invalid UTF-8", "\xff\n", false, nil, 1},
		{"control character", "a\tb\n", false, nil, 1},
		{"bad csv quote", "a\n\"b\n", true, nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, NewReader(strings.NewReader(tc.body), tc.csv, limits))
			var le *LineError
			switch {
			case tc.wantLine == 0 && err != nil:
				t.Fatalf("read = %v, want no error", err)
			case tc.wantLine == 0 && !slices.Equal(got, tc.want):
				t.Errorf("keys = %q, want %q", got, tc.want)
			case tc.wantLine != 0 && (!errors.As(err, &le) || le.Line != tc.wantLine):
				t.Errorf("read = %v, want an error on line %d", err, tc.wantLine)
			}
		})
	}
}

func TestShardIsStable(t *testing.T) {
	// Pinned: the shard is part of the storage and sync format.
	for key, want := range map[string]int{"user-1": 372, "device-42": 872, "": 0x811c9dc5 % Shards} {
		if got := Shard(key); got != want {
			t.Errorf("Shard(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestContains(t *testing.T) {
	long := make([]string, ChunkThreshold*2)
	for i := range long {
		long[i] = fmt.Sprintf("user-%06d", i)
	}
	long = Arrange(long)
	short := []string{"b", "a"}
	tests := []struct {
		name string
		list []string
		key  string
		want bool
	}{
		{"short list member", short, "a", true},
		{"short list stranger", short, "c", false},
		{"first key of a long list", long, long[0], true},
		{"last key of a long list", long, long[len(long)-1], true},
		{"middle key of a long list", long, "user-004242", true},
		{"stranger to a long list", long, "user-999999", false},
		{"empty list", nil, "a", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Contains(tc.list, tc.key); got != tc.want {
				t.Errorf("Contains(%q) = %v, want %v", tc.key, got, tc.want)
			}
		})
	}
}
