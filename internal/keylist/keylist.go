// Package keylist owns the include and exclude lists of targeting keys of
// a segment when they are edited as a resource of their own: the parsing
// of streamed uploads, the limits on them, and the plan for storing and
// syncing lists of a million keys.
//
// # Design
//
// A segment's lists are a sub-resource, …/segments/{s}/keys/{include|exclude},
// changed by add, remove and replace, each one streamed upload applied in
// one store transaction and one revision: a replace is atomic (readers see
// the old list until the commit publishes the new one). Reads page through
// a list and check one key. The audit event of a key-list change carries
// counts and a bounded sample, never the list. Segment answers carry the
// counts and a content hash (keys_hash, computed by the store once per
// change of a list) and leave out every list longer than ChunkThreshold;
// an update that does not name such a list keeps it (the very slice: no
// copy, no recompile). The audit events of whole-segment updates and
// imports are kept as a diff (counts and samples) when they are large.
// Documents with long lists are imported and exported in parts: the
// document, then each long list streamed (server: documents:import-stream
// and the text download of a list).
//
// Uploads. A Reader turns a body of newline-delimited keys, or text/csv
// (the first field of each record), into batches of at most BatchSize keys,
// checking each key as it goes (Limits: key length, key count, UTF-8, no
// control characters) and naming the 1-based line of the first bad one.
// The server reads the body in batches and never buffers the raw body, so
// the 4 MiB cap of the JSON API does not apply to these routes; the limits
// are the key count and key length. The parsed keys go into a Stage,
// grouped by shard, which spills them to a temporary file past StageMemory;
// the commit merges the stage with the list shard by shard in one
// transaction. An upload's memory is thus bounded by StageMemory and a
// shard, beside the old list (which serves until the commit) and the new.
//
// Validation is incremental. The store validates a project's whole document
// on every write, but not its key lists: a key is checked (Check) once,
// when it enters a list, so a one-flag write costs the same with a
// 1,000,000-key segment present as without it (model.ValidateStructure).
//
// Storage in chunks. A list is cut into Shards shards by Shard(key) —
// FNV-1a 32 of the key, modulo 1,024. A list longer than ChunkThreshold is
// kept in shard order (Arrange: grouped by shard, upload order within a
// shard; shorter lists keep the order given) and stored as one bbolt value
// per shard under projects/{p}/segment_keys/{s}/{list}/{shard} holding the
// shard's keys newline-joined, while the segment's record holds the
// segment without it. A write compares each shard with the stored one and
// rewrites only those that differ, in the same bbolt transaction as the
// segment record, the revision and the audit event: adding one key
// rewrites one shard. On an engine whose transaction cannot hold every
// shard (etcd), a new list is staged shard by shard in a fresh location
// and switched to by one small transaction (internal/domain,
// segment_chunks.go).
//
// Sync in chunks. The same shards are the unit of sync (package section,
// KindSegmentChunk): the ruleset's manifest lists a long list as its 1,024
// chunks, each named by its content hash, and an SDK that holds a chunk's
// hash does not receive it again; one added key sends one chunk. The
// server encodes a chunk once per change and shares it, and each message,
// by every stream. SDKs declare the sync protocol in their hello; older
// ones are refused with a clear message when an environment holds chunks.
// Evaluation compiles a long list into one set per shard and reuses the
// unchanged ones (eval's keySet); a membership check stays one hash and one
// map lookup.
package keylist

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Shards is the number of shards a list is cut into for storage and sync.
const Shards = 1024

// Shard returns the shard of key: FNV-1a 32 of its bytes modulo Shards.
// It is part of the storage and sync format and never changes. It does not
// allocate (evaluation calls it on every membership check of a long list).
func Shard(key string) int {
	h := uint32(2166136261) // FNV-1a 32: offset basis
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619 // FNV prime
	}
	return int(h % Shards)
}

// List names one of a segment's two key lists.
type List string

// The lists of a segment.
const (
	Include List = "include"
	Exclude List = "exclude"
)

// ParseList returns the List named s, or false.
func ParseList(s string) (List, bool) {
	switch l := List(s); l {
	case Include, Exclude:
		return l, true
	}
	return "", false
}

// Op is what an upload does to a list.
type Op string

// The operations on a list.
const (
	// Add adds the keys not yet in the list, at its end in upload order
	// (a list longer than ChunkThreshold: in shard order, see Arrange).
	Add Op = "add"
	// Remove removes the keys in the list; others are ignored.
	Remove Op = "remove"
	// Replace makes the list exactly the uploaded keys (duplicates dropped).
	Replace Op = "replace"
)

// ParseOp returns the Op named s, or false.
func ParseOp(s string) (Op, bool) {
	switch o := Op(s); o {
	case Add, Remove, Replace:
		return o, true
	}
	return "", false
}

// Limits bound an upload.
type Limits struct {
	// MaxKeys is the most keys one upload may carry (and a replace may
	// leave in a list); 0 means DefaultMaxKeys.
	MaxKeys int
	// MaxKeyBytes is the longest key in bytes; 0 means DefaultMaxKeyBytes.
	MaxKeyBytes int
}

// The default Limits.
const (
	DefaultMaxKeys     = 2_000_000
	DefaultMaxKeyBytes = 256
)

// withDefaults fills zero fields.
func (l Limits) withDefaults() Limits {
	if l.MaxKeys <= 0 {
		l.MaxKeys = DefaultMaxKeys
	}
	if l.MaxKeyBytes <= 0 {
		l.MaxKeyBytes = DefaultMaxKeyBytes
	}
	return l
}

// LineError is a problem with one line of an upload. Line is 1-based; for a
// gRPC upload it counts keys across messages.
type LineError struct {
	Line   int
	Reason string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ErrTooMany is wrapped by the LineError of the first key over
// Limits.MaxKeys.
var ErrTooMany = errors.New("too many keys")

// Check reports why key cannot be a targeting key in a list, or "" if it
// can: empty, longer than maxBytes, not UTF-8, or holding a control
// character (a key must survive a one-key-per-line export).
func Check(key string, maxBytes int) string {
	switch {
	case key == "":
		return "empty key"
	case len(key) > maxBytes:
		return fmt.Sprintf("key of %d bytes is longer than %d bytes", len(key), maxBytes)
	case !utf8.ValidString(key):
		return "key is not valid UTF-8"
	case strings.IndexFunc(key, unicode.IsControl) >= 0:
		return "key holds a control character"
	}
	return ""
}

// Counter checks keys one by one against Limits, counting lines. The zero
// value is not usable: see NewCounter.
type Counter struct {
	limits Limits
	line   int
	keys   int
}

// NewCounter returns a Counter for limits (zero fields: defaults).
func NewCounter(limits Limits) *Counter { return &Counter{limits: limits.withDefaults()} }

// Next checks the key of the next line. A blank line (only spaces) counts
// as a line and is skipped: Next returns "", false, nil. Surrounding spaces
// and a trailing carriage return are trimmed.
func (c *Counter) Next(raw string) (string, bool, error) {
	c.line++
	key := strings.TrimSpace(raw)
	if key == "" {
		return "", false, nil
	}
	if reason := Check(key, c.limits.MaxKeyBytes); reason != "" {
		return "", false, &LineError{Line: c.line, Reason: reason}
	}
	c.keys++
	if c.keys > c.limits.MaxKeys {
		return "", false, &LineError{Line: c.line, Reason: fmt.Sprintf("%v: more than %d", ErrTooMany, c.limits.MaxKeys)}
	}
	return key, true, nil
}

// Keys returns how many keys Next accepted.
func (c *Counter) Keys() int { return c.keys }

// BatchSize is the most keys Reader.Next returns at once.
const BatchSize = 8192

// Reader reads keys from an upload body in batches.
type Reader struct {
	next func() (string, error) // one raw line or record's first field; io.EOF at the end
	c    *Counter
	buf  []string
}

// NewReader reads r as newline-delimited keys, or as CSV (the first field
// of each record) when csvBody is set.
func NewReader(r io.Reader, csvBody bool, limits Limits) *Reader {
	kr := &Reader{c: NewCounter(limits)}
	max := kr.c.limits.MaxKeyBytes
	if csvBody {
		cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		kr.next = func() (string, error) {
			rec, err := cr.Read()
			if err != nil {
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					return "", &LineError{Line: pe.Line, Reason: pe.Err.Error()}
				}
				return "", err
			}
			if len(rec) == 0 {
				return "", nil
			}
			return rec[0], nil
		}
		return kr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), max+2) // a key, "\r\n"
	kr.next = func() (string, error) {
		if sc.Scan() {
			return sc.Text(), nil
		}
		err := sc.Err()
		switch {
		case errors.Is(err, bufio.ErrTooLong):
			return "", &LineError{Line: kr.c.line + 1, Reason: fmt.Sprintf("key is longer than %d bytes", max)}
		case err != nil:
			return "", err
		}
		return "", io.EOF
	}
	return kr
}

// Next returns the next batch of at most BatchSize keys, or io.EOF after
// the last. The batch is valid until the next call. A bad key ends the upload with a *LineError; the keys of
// earlier batches must then be dropped by the caller.
func (r *Reader) Next() ([]string, error) {
	r.buf = r.buf[:0]
	for len(r.buf) < BatchSize {
		raw, err := r.next()
		if err == io.EOF {
			if len(r.buf) == 0 {
				return nil, io.EOF
			}
			return r.buf, nil
		}
		if err != nil {
			return nil, err
		}
		key, ok, err := r.c.Next(raw)
		if err != nil {
			return nil, err
		}
		if ok {
			r.buf = append(r.buf, key)
		}
	}
	return r.buf, nil
}

// Keys returns how many keys have been read.
func (r *Reader) Keys() int { return r.c.Keys() }

// ChunkThreshold is the length above which a list is stored in chunks, one
// per shard, and kept in shard order (Arrange); a shorter list is stored
// inside the segment's record, in the order given.
const ChunkThreshold = 4096

// Arrange returns keys grouped by shard in ascending shard order, keeping
// the order of keys within a shard: the order in which a list stored in
// chunks reads back. It returns keys itself when it is short
// (ChunkThreshold or less) or already arranged, else a new slice. It costs
// one hash per key.
func Arrange(keys []string) []string {
	if len(keys) <= ChunkThreshold {
		return keys
	}
	shards := make([]uint16, len(keys))
	var counts [Shards + 1]int
	sorted := true
	for i, k := range keys {
		s := uint16(Shard(k))
		shards[i] = s
		counts[s+1]++
		if i > 0 && s < shards[i-1] {
			sorted = false
		}
	}
	if sorted {
		return keys
	}
	for i := 1; i <= Shards; i++ {
		counts[i] += counts[i-1]
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[counts[shards[i]]] = k
		counts[shards[i]]++
	}
	return out
}

// Chunks calls fn with each shard of an arranged list and its keys, in
// shard order, empty shards included.
func Chunks(arranged []string, fn func(shard int, keys []string) error) error {
	i := 0
	for s := range Shards {
		j := i
		for j < len(arranged) && Shard(arranged[j]) == s {
			j++
		}
		if err := fn(s, arranged[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// SearchRuns returns where each shard's keys begin in an arranged list
// (Arrange): shard s is arranged[runs[s]:runs[s+1]]. It hashes about 20
// keys per shard (a binary search) instead of every key. For a list not in
// shard order the runs are still ascending and within the list, but do not
// hold one shard each: a caller that cannot trust the order checks the
// keys of each run it uses.
func SearchRuns(arranged []string) *[Shards + 1]int {
	runs := new([Shards + 1]int)
	for s := 1; s < Shards; s++ {
		lo := runs[s-1]
		runs[s] = lo + sort.Search(len(arranged)-lo, func(i int) bool { return Shard(arranged[lo+i]) >= s })
	}
	runs[Shards] = len(arranged)
	return runs
}

// EncodeChunk is the stored form of one shard's keys: newline-joined.
func EncodeChunk(keys []string) []byte {
	return []byte(strings.Join(keys, "\n"))
}

// DecodeChunk appends the keys of a stored chunk to dst. The keys share
// one string's memory.
func DecodeChunk(dst []string, b []byte) []string {
	if len(b) == 0 {
		return dst
	}
	for all, more := string(b), true; more; {
		var k string
		k, all, more = strings.Cut(all, "\n")
		dst = append(dst, k)
	}
	return dst
}

// Hash is the content hash of a segment's lists (keys_hash in answers):
// the hex SHA-256 of the include keys, each followed by a newline, a
// newline, the exclude keys likewise, and a newline.
func Hash(include, exclude []string) string {
	h := sha256.New()
	for _, list := range [][]string{include, exclude} {
		for _, k := range list {
			io.WriteString(h, k)
			h.Write([]byte{'\n'})
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Contains reports whether list, as stored (arranged by Arrange when
// longer than ChunkThreshold), holds key. A long list costs two binary
// searches for the key's shard and a scan of that shard.
func Contains(list []string, key string) bool {
	if len(list) <= ChunkThreshold {
		return slices.Contains(list, key)
	}
	s := Shard(key)
	i := sort.Search(len(list), func(i int) bool { return Shard(list[i]) >= s })
	j := i + sort.Search(len(list)-i, func(j int) bool { return Shard(list[i+j]) > s })
	return slices.Contains(list[i:j], key)
}
