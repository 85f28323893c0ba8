package boltstore

import bolt "go.etcd.io/bbolt"

// migrate brings a file of an older schema to the current one.
func migrate(tx *bolt.Tx) error { return nil }
