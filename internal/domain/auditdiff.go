package domain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
)

// The audit log keeps an operation's before and after values whole only
// while each is at most AuditValueLimit bytes of JSON. A larger change is
// kept as an AuditDiff instead: what changed, by field path, with sizes and
// SHA-256 hashes, and for lists the counts added and removed with a bounded
// sample; never whole copies. Events written before this rule are
// summarized the same way when they are read.

// AuditValueLimit is the largest before or after value, in bytes of JSON,
// an audit event keeps whole.
const AuditValueLimit = 64 << 10

// Bounds of an AuditDiff.
const (
	// maxDiffChanges caps the changes listed; the rest are counted.
	maxDiffChanges = 100
	// maxDiffSample caps the elements sampled of a list's additions and
	// of its removals.
	maxDiffSample = 10
	// maxSampleBytes caps a sampled element's JSON; a longer one is
	// replaced by "sha256:" and its hash.
	maxSampleBytes = 256
)

// AuditDiff summarizes a change too large to keep whole (AuditValueLimit).
type AuditDiff struct {
	// Sizes and hex SHA-256 hashes of the JSON of the whole value before
	// and after (absent for a create and a delete respectively).
	BeforeBytes  int    `json:"before_bytes,omitempty"`
	BeforeSHA256 string `json:"before_sha256,omitempty"`
	AfterBytes   int    `json:"after_bytes,omitempty"`
	AfterSHA256  string `json:"after_sha256,omitempty"`
	// Changes lists what changed, in document order, at most
	// maxDiffChanges of them; MoreChanges counts the others.
	Changes     []AuditChange `json:"changes,omitempty"`
	MoreChanges int           `json:"more_changes,omitempty"`
}

// AuditChange is one changed field of an AuditDiff.
type AuditChange struct {
	// Path is the field, e.g. "include" or
	// "environments.production.rules[0].serve"; "" is the whole value.
	Path string `json:"path"`
	// Change is "added", "removed", "changed" (a value replaced), or
	// "list" (a list whose elements were added or removed).
	Change string `json:"change"`
	// Sizes and hashes of the field's JSON before and after, for added,
	// removed and changed fields.
	BeforeBytes  int    `json:"before_bytes,omitempty"`
	BeforeSHA256 string `json:"before_sha256,omitempty"`
	AfterBytes   int    `json:"after_bytes,omitempty"`
	AfterSHA256  string `json:"after_sha256,omitempty"`
	// For lists: the element counts before and after, how many elements
	// were added and removed (as a multiset), and samples of each (the
	// elements' JSON, or "sha256:…" for a long one).
	BeforeCount   int      `json:"before_count,omitempty"`
	AfterCount    int      `json:"after_count,omitempty"`
	Added         int      `json:"added,omitempty"`
	Removed       int      `json:"removed,omitempty"`
	AddedSample   []string `json:"added_sample,omitempty"`
	RemovedSample []string `json:"removed_sample,omitempty"`
}

// summarized returns ev as the audit log keeps it: whole, or with its
// before and after values replaced by a diff when either exceeds
// AuditValueLimit.
func summarized(ev AuditEvent) AuditEvent {
	if len(ev.Before) <= AuditValueLimit && len(ev.After) <= AuditValueLimit {
		return ev
	}
	ev.Diff = diffJSON(ev.Before, ev.After)
	ev.Before, ev.After = nil, nil
	return ev
}

// diffJSON summarizes the change from before to after (either may be
// empty: absent).
func diffJSON(before, after []byte) *AuditDiff {
	d := &AuditDiff{}
	var b, a any
	bok, aok := len(before) > 0, len(after) > 0
	if bok {
		d.BeforeBytes, d.BeforeSHA256 = len(before), hash(before)
		bok = decode(before, &b)
	}
	if aok {
		d.AfterBytes, d.AfterSHA256 = len(after), hash(after)
		aok = decode(after, &a)
	}
	switch {
	case bok && aok:
		d.walk("", b, a)
	case aok:
		d.add(AuditChange{Path: "", Change: "added", AfterBytes: d.AfterBytes, AfterSHA256: d.AfterSHA256})
	case bok:
		d.add(AuditChange{Path: "", Change: "removed", BeforeBytes: d.BeforeBytes, BeforeSHA256: d.BeforeSHA256})
	}
	return d
}

func decode(data []byte, v *any) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v) == nil
}

func hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// sized returns the size and hash of v's JSON.
func sized(v any) (int, string) {
	data, _ := json.Marshal(v)
	return len(data), hash(data)
}

func (d *AuditDiff) add(c AuditChange) {
	if len(d.Changes) >= maxDiffChanges {
		d.MoreChanges++
		return
	}
	d.Changes = append(d.Changes, c)
}

// walk records the differences between b and a at path.
func (d *AuditDiff) walk(path string, b, a any) {
	if reflect.DeepEqual(b, a) {
		return
	}
	bm, bIsMap := b.(map[string]any)
	am, aIsMap := a.(map[string]any)
	if bIsMap && aIsMap {
		keys := slices.Sorted(maps.Keys(bm))
		for k := range am {
			if _, ok := bm[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			bv, bok := bm[k]
			av, aok := am[k]
			switch {
			case !bok:
				n, h := sized(av)
				d.add(AuditChange{Path: p, Change: "added", AfterBytes: n, AfterSHA256: h})
			case !aok:
				n, h := sized(bv)
				d.add(AuditChange{Path: p, Change: "removed", BeforeBytes: n, BeforeSHA256: h})
			default:
				d.walk(p, bv, av)
			}
		}
		return
	}
	bl, bIsList := b.([]any)
	al, aIsList := a.([]any)
	if bIsList && aIsList {
		if len(bl) == len(al) && len(bl) <= maxDiffChanges {
			// A list of the same length, e.g. rules edited in place:
			// element by element while that is informative.
			changed := 0
			for i := range bl {
				if !reflect.DeepEqual(bl[i], al[i]) {
					changed++
				}
			}
			if changed <= maxDiffSample {
				for i := range bl {
					d.walk(path+"["+strconv.Itoa(i)+"]", bl[i], al[i])
				}
				return
			}
		}
		d.add(listChange(path, bl, al))
		return
	}
	bn, bh := sized(b)
	an, ah := sized(a)
	d.add(AuditChange{Path: path, Change: "changed", BeforeBytes: bn, BeforeSHA256: bh, AfterBytes: an, AfterSHA256: ah})
}

// listChange counts the elements added to and removed from a list, as a
// multiset, with samples of each.
func listChange(path string, b, a []any) AuditChange {
	c := AuditChange{Path: path, Change: "list", BeforeCount: len(b), AfterCount: len(a)}
	count := make(map[string]int, len(b))
	enc := func(v any) string {
		data, _ := json.Marshal(v)
		return string(data)
	}
	for _, v := range b {
		count[enc(v)]++
	}
	for _, v := range a {
		e := enc(v)
		if count[e] > 0 {
			count[e]--
			continue
		}
		c.Added++
		if len(c.AddedSample) < maxDiffSample {
			c.AddedSample = append(c.AddedSample, sample(e))
		}
	}
	for _, v := range b {
		e := enc(v)
		if count[e] == 0 {
			continue
		}
		count[e]--
		c.Removed++
		if len(c.RemovedSample) < maxDiffSample {
			c.RemovedSample = append(c.RemovedSample, sample(e))
		}
	}
	return c
}

func sample(e string) string {
	if len(e) <= maxSampleBytes {
		return e
	}
	return "sha256:" + hash([]byte(e))
}
