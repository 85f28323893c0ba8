package sdk

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/section"
)

// The cache file is cacheMagic, the fingerprint of the SDK key it was
// written with, and a Ruleset message holding every section.
var cacheMagic = [8]byte{'S', 'W', 'Y', 'D', 'C', 'A', 'C', 1}

const cacheHeaderSize = len(cacheMagic) + sha256.Size

// keyFingerprint identifies an SDK key without revealing it.
func keyFingerprint(key string) [sha256.Size]byte {
	return sha256.Sum256([]byte("switchyard sdk cache\x00" + key))
}

// errCacheOtherKey means a cache file was written with another SDK key.
var errCacheOtherKey = errors.New("cache file was written with another SDK key")

// readCache reads the ruleset a cache file holds.
func readCache(path, key string) (*sdkpb.Ruleset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cache file: %w", err)
	}
	fp := keyFingerprint(key)
	switch {
	case len(data) < cacheHeaderSize || !bytes.Equal(data[:len(cacheMagic)], cacheMagic[:]):
		return nil, fmt.Errorf("read cache file %s: not a Switchyard cache file", path)
	case !bytes.Equal(data[len(cacheMagic):cacheHeaderSize], fp[:]):
		return nil, fmt.Errorf("read cache file %s: %w", path, errCacheOtherKey)
	}
	var rs sdkpb.Ruleset
	if err := proto.Unmarshal(data[cacheHeaderSize:], &rs); err != nil {
		return nil, fmt.Errorf("read cache file %s: %w", path, err)
	}
	return &rs, nil
}

// writeCache writes what h holds to path atomically: a temporary file in
// the same directory, synced, then renamed over path. The file is 0600.
func writeCache(path, key string, h *holdings) error {
	msg := &sdkpb.Ruleset{Project: h.project, Environment: h.env, Revision: h.revision, Manifest: h.manifest}
	for _, ref := range h.manifest {
		hash, _ := section.HashFromBytes(ref.GetHash())
		hd := h.sections[hash]
		if hd == nil || hd.payload == nil {
			return fmt.Errorf("write cache file: %s %q has no payload", ref.GetKind(), ref.GetKey())
		}
		msg.Sections = append(msg.Sections, &sdkpb.Section{Ref: ref, Payload: hd.payload})
	}
	body, err := proto.Marshal(msg)
	if err != nil {
		return fmt.Errorf("write cache file: %w", err)
	}
	fp := keyFingerprint(key)
	data := make([]byte, 0, cacheHeaderSize+len(body))
	data = append(append(append(data, cacheMagic[:]...), fp[:]...), body...)

	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write cache file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write cache file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write cache file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write cache file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write cache file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write cache file: %w", err)
	}
	return nil
}
