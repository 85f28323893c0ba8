package keylist

import (
	"fmt"
	"slices"
	"testing"
)

func TestSearchRunsSplitsAnArrangedList(t *testing.T) {
	keys := make([]string, 3*ChunkThreshold)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%d", i)
	}
	arranged := Arrange(keys)
	runs := SearchRuns(arranged)
	_ = Chunks(arranged, func(shard int, want []string) error {
		if got := arranged[runs[shard]:runs[shard+1]]; !slices.Equal(got, want) {
			t.Errorf("shard %d: SearchRuns gives %d keys, Chunks %d", shard, len(got), len(want))
		}
		return nil
	})
	for _, list := range [][]string{nil, keys} { // empty, and not in shard order
		runs := SearchRuns(list)
		for s := range Shards {
			if runs[s] > runs[s+1] || runs[s+1] > len(list) {
				t.Fatalf("runs of a list of %d keys not ascending within it at shard %d: %d, %d", len(list), s, runs[s], runs[s+1])
			}
		}
	}
}
