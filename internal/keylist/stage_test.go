package keylist

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// stagedKeys returns what Shards yields, flattened, and checks the
// shards come in order with their keys.
func stagedKeys(t *testing.T, s *Stage) []string {
	t.Helper()
	var got []string
	want := 0
	if err := s.Shards(func(shard int, keys []string) error {
		if shard != want {
			t.Fatalf("shard %d, want %d", shard, want)
		}
		want++
		for _, k := range keys {
			if Shard(k) != shard {
				t.Errorf("key %q in shard %d, want %d", k, shard, Shard(k))
			}
		}
		got = append(got, keys...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want != Shards {
		t.Errorf("Shards called fn %d times, want %d", want, Shards)
	}
	return got
}

// TestStageSpillsAndMergesInShardOrder: past its memory limit a stage
// spills runs to a file; Shards yields every key (duplicates too), grouped
// by shard in upload order, as Arrange would order them; Close removes the
// file.
func TestStageSpillsAndMergesInShardOrder(t *testing.T) {
	dir := t.TempDir()
	keys := make([]string, 20_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%06d", i%15_000) // 5,000 duplicates
	}
	s := NewStage(dir, 64<<10)
	for batch := range slices.Chunk(keys, 777) {
		if err := s.Add(batch); err != nil {
			t.Fatal(err)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 1 {
		t.Errorf("%d files in the stage's directory, want its one spill file", len(files))
	}
	if s.Len() != len(keys) {
		t.Errorf("Len() = %d, want %d", s.Len(), len(keys))
	}
	if _, ok := s.Small(); ok {
		t.Error("Small() of a spilled stage is ok")
	}
	if got, want := stagedKeys(t, s), Arrange(keys); !slices.Equal(got, want) {
		t.Errorf("Shards yields %d keys, want the %d arranged", len(got), len(want))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Errorf("files left after Close: %v", files)
	}
}

func TestStageSmallKeepsUploadOrder(t *testing.T) {
	s, err := StageOf("b", "a", "", "b")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, ok := s.Small(); !ok || !slices.Equal(got, []string{"b", "a", "", "b"}) {
		t.Errorf("Small() = %q, %v; want [b a  b] in upload order", got, ok)
	}
	if got := stagedKeys(t, s); len(got) != 4 {
		t.Errorf("Shards yields %q, want 4 keys, the empty one too", got)
	}
}

func TestStageRefusesNewlines(t *testing.T) {
	s := NewStage(t.TempDir(), 0)
	defer s.Close()
	if err := s.Add([]string{"a\nb"}); err == nil {
		t.Error("Add(a\\nb) = nil, want an error")
	}
}

func TestStageLeavesNoFileInMemory(t *testing.T) {
	dir := t.TempDir()
	s := NewStage(dir, 0)
	s.Add([]string{"a", "b"})
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("a small stage wrote %d files", len(files))
	}
	s.Close()
}
