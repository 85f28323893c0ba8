package sdk

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
)

func TestCacheRoundTrip(t *testing.T) {
	msg, err := bootstrapRuleset([]byte(changesBase), "production")
	if err != nil {
		t.Fatal(err)
	}
	msg.Revision = 7
	h, _, err := apply(nil, nil, msg, true)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "cache")
	if err := writeCache(path, "sys_key", h); err != nil {
		t.Fatalf("writeCache: %v", err)
	}
	got, err := readCache(path, "sys_key")
	if err != nil {
		t.Fatalf("readCache: %v", err)
	}
	if !proto.Equal(got, msg) {
		t.Errorf("readCache = %v, want %v", got, msg)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d files after writeCache, want only the cache file", len(entries))
	}

	tests := []struct {
		name    string
		content []byte
		key     string
		want    error
	}{
		{"another key", nil, "sys_other", errCacheOtherKey},
		{"not a cache file", []byte("hello"), "sys_key", nil},
		{"truncated", nil, "sys_key", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := path
			if tc.content != nil || tc.name == "truncated" {
				p = filepath.Join(t.TempDir(), "cache")
				content := tc.content
				if tc.name == "truncated" {
					data, _ := os.ReadFile(path)
					content = data[:len(data)-10]
				}
				if err := os.WriteFile(p, content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := readCache(p, tc.key)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("readCache = %v, want an error (%v)", err, tc.want)
			}
		})
	}
}

func TestWriteCacheNeedsPayloads(t *testing.T) {
	msg, err := bootstrapRuleset([]byte(changesBase), "production")
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := apply(nil, nil, msg, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeCache(filepath.Join(t.TempDir(), "cache"), "k", h); err == nil {
		t.Error("writeCache without payloads = nil, want an error")
	}
}
