package sdk

// CacheRevision returns the revision of the ruleset the cache file at path
// holds, or 0 if it cannot be read.
func CacheRevision(path, key string) uint64 {
	rs, err := readCache(path, key)
	if err != nil {
		return 0
	}
	return rs.GetRevision()
}

// RelayReportInterval is the least time between two reports of a relay's
// client.
const RelayReportInterval = relayReportInterval
