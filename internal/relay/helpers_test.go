package relay_test

import "github.com/switchyard/switchyard/internal/store"

// hashOf is the hash of a secret, as the store keeps it.
func hashOf(secret string) string { return store.HashSecret(secret) }
