package eval

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/switchyard/switchyard/internal/model"
)

// Bucket returns the bucket of unit under salt, bucketing contract version 1
// (DESIGN §3): floor(murmur3_x86_32(salt + "." + unit, seed 0) × 100000 /
// 2^32), in [0, 100000). It hashes the three parts in turn, without building
// the concatenation, and does not allocate.
func Bucket(salt, unit string) uint32 {
	h := saltPrefix(salt)
	writeHash(&h, unit)
	return scale(h.sum())
}

// saltPrefix returns the hash state after salt + ".": the part of a
// bucket's hash that does not depend on the unit, which a compiled
// targeting computes once.
func saltPrefix(salt string) murmur32 {
	var h murmur32
	writeHash(&h, salt)
	writeHash(&h, ".")
	return h
}

// scale maps a 32-bit hash to [0, RolloutTotal) with integers only.
func scale(h uint32) uint32 {
	return uint32((uint64(h) * model.RolloutTotal) >> 32)
}

// unitBucket returns the bucket of the context's unit: the value bucketBy
// refers to, which must be a string or an integral number of
// magnitude below 2^53 (hashed in plain decimal). ok is false when there is
// no such unit.
func unitBucket(salt string, bucketBy *attrRef, ctx *Context) (bucket uint32, ok bool) {
	return prefixBucket(saltPrefix(salt), bucketBy, ctx)
}

// prefixBucket is unitBucket with the salt hashed already: h is
// saltPrefix(salt).
func prefixBucket(h murmur32, bucketBy *attrRef, ctx *Context) (bucket uint32, ok bool) {
	v := ctx.lookup(bucketBy.name) // see descend
	if bucketBy.path != nil {
		v = v.descend(bucketBy.path)
	}
	if v == nil {
		return 0, false
	}
	switch v.kind {
	case kindString:
		writeHash(&h, v.s)
		return scale(h.sum()), true
	case kindNumber:
		if v.n != math.Trunc(v.n) || math.Abs(v.n) >= 1<<53 {
			return 0, false
		}
		var buf [24]byte
		writeHash(&h, strconv.AppendInt(buf[:0], int64(v.n), 10))
		return scale(h.sum()), true
	}
	return 0, false
}

// murmur32 computes MurmurHash3 x86_32 with seed 0 incrementally: the same
// function as github.com/spaolacci/murmur3's Sum32 (whose one-shot form
// trips the race detector's pointer checks), fed in parts.
type murmur32 struct {
	h     uint32
	tail  uint32 // pending bytes, little-endian
	ntail uint   // number of pending bytes, 0–3
	n     uint32 // total length, mod 2^32
}

const (
	murmurC1 = 0xcc9e2d51
	murmurC2 = 0x1b873593
)

// writeHash feeds s to h.
func writeHash[T string | []byte](h *murmur32, s T) {
	h.n += uint32(len(s))
	i := 0
	for h.ntail != 0 && i < len(s) {
		h.tail |= uint32(s[i]) << (8 * h.ntail)
		h.ntail++
		i++
		if h.ntail == 4 {
			h.block(h.tail)
			h.tail, h.ntail = 0, 0
		}
	}
	for ; i+4 <= len(s); i += 4 {
		h.block(uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24)
	}
	for ; i < len(s); i++ {
		h.tail |= uint32(s[i]) << (8 * h.ntail)
		h.ntail++
	}
}

func (h *murmur32) block(k uint32) {
	k *= murmurC1
	k = bits.RotateLeft32(k, 15)
	k *= murmurC2
	h.h ^= k
	h.h = bits.RotateLeft32(h.h, 13)
	h.h = h.h*5 + 0xe6546b64
}

// sum finishes the hash.
func (h *murmur32) sum() uint32 {
	x := h.h
	if h.ntail > 0 {
		k := h.tail * murmurC1
		k = bits.RotateLeft32(k, 15)
		k *= murmurC2
		x ^= k
	}
	x ^= h.n
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	x ^= x >> 16
	return x
}
