package relay_test

import "github.com/switchyard/switchyard/internal/domain"

// hashOf is the hash of a secret, as the store keeps it.
func hashOf(secret string) string { return domain.HashSecret(secret) }
