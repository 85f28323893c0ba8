package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migrate brings a file of domain schema "1" to "2", in the open
// transaction: the keys that were big-endian binary become fixed-width
// lowercase hex (the audit log's and the webhook deliveries' 8-byte
// sequence numbers, the 2-byte shards of segment key chunks), the last
// sequence number becomes hex, and the audit log's bucket sequence becomes
// the record meta/audit. Files of another schema are left to the domain.
func migrate(tx *bolt.Tx) error {
	meta := tx.Bucket([]byte(bucketMeta))
	if meta == nil || string(meta.Get([]byte("schema"))) != "1" {
		return nil
	}
	if seq := hex64(meta.Get([]byte("seq"))); seq != nil {
		if err := meta.Put([]byte("seq"), seq); err != nil {
			return err
		}
	}
	if audit := tx.Bucket([]byte("audit")); audit != nil {
		if n := audit.Sequence(); n > 0 {
			if err := meta.Put([]byte("audit"), fmt.Appendf(nil, "%016x", n)); err != nil {
				return err
			}
		}
		if err := rekey(audit, 8); err != nil {
			return fmt.Errorf("migrate audit: %w", err)
		}
	}
	if deliveries := tx.Bucket([]byte("webhook_deliveries")); deliveries != nil {
		err := deliveries.ForEachBucket(func(project []byte) error {
			pb := deliveries.Bucket(project)
			return pb.ForEachBucket(func(webhook []byte) error { return rekey(pb.Bucket(webhook), 8) })
		})
		if err != nil {
			return fmt.Errorf("migrate webhook deliveries: %w", err)
		}
	}
	if projects := tx.Bucket([]byte("projects")); projects != nil {
		err := projects.ForEachBucket(func(project []byte) error {
			sk := projects.Bucket(project).Bucket([]byte("segment_keys"))
			if sk == nil {
				return nil
			}
			return sk.ForEachBucket(func(segment []byte) error {
				sb := sk.Bucket(segment)
				return sb.ForEachBucket(func(list []byte) error { return rekey(sb.Bucket(list), 2) })
			})
		})
		if err != nil {
			return fmt.Errorf("migrate segment key chunks: %w", err)
		}
	}
	return meta.Put([]byte("schema"), []byte("2"))
}

// hex64 is an 8-byte big-endian number as 16 hex digits; nil for none.
func hex64(v []byte) []byte {
	if len(v) != 8 {
		return nil
	}
	return fmt.Appendf(nil, "%016x", binary.BigEndian.Uint64(v))
}

// rekey renames the width-byte big-endian keys of b's records to
// 2×width hex digits.
func rekey(b *bolt.Bucket, width int) error {
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if v != nil && len(k) == width {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		v := bytes.Clone(b.Get(k))
		if err := b.Delete(k); err != nil {
			return err
		}
		var n uint64
		for _, c := range k {
			n = n<<8 | uint64(c)
		}
		if err := b.Put(fmt.Appendf(nil, "%0*x", 2*width, n), v); err != nil {
			return err
		}
	}
	return nil
}
