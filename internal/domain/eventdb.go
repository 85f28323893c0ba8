package domain

import (
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// boltDB is the bbolt database the event log (events.go) writes to: the
// Backend's own file when the engine is bbolt (internal/store/boltstore),
// else nil. It goes when the event log moves out of this package.
type boltDB = *bolt.DB

func eventFile(b Backend) boltDB {
	if f, ok := b.(interface{ DB() *bolt.DB }); ok {
		return f.DB()
	}
	return nil
}

// u64 and fromU64 are the event log's 8-byte big-endian keys.
func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func fromU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
