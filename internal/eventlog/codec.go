package eventlog

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// The encoding of a stored event batch (a record of boltlog, the body of a
// JetStream message).
// Integers are varints (encoding/binary), strings a uvarint length and
// the bytes, times Unix microseconds as varints:
//
//	version   byte (codecVersion)
//	received  varint
//	project, environment, sdk name, sdk version   string
//	count     uvarint
//	count × event:
//	  kind    byte (Exposure | Track)
//	  time    varint
//	  unit    string
//	  exposure: flag, variant, rule, experiment string; revision uvarint
//	  track:    key string; has value byte (0 | 1); value 8 bytes (IEEE 754, little-endian) if 1
//
// The received time comes first so that retention can read it without
// decoding the rest.
const codecVersion = 1

// AppendBatch appends the encoding of b to dst.
func AppendBatch(dst []byte, b *Batch) []byte {
	dst = append(dst, codecVersion)
	dst = binary.AppendVarint(dst, b.Received.UnixMicro())
	dst = appendString(dst, b.Project)
	dst = appendString(dst, b.Environment)
	dst = appendString(dst, b.SDKName)
	dst = appendString(dst, b.SDKVersion)
	dst = binary.AppendUvarint(dst, uint64(len(b.Events)))
	for i := range b.Events {
		e := &b.Events[i]
		dst = append(dst, byte(e.Kind))
		dst = binary.AppendVarint(dst, e.Time.UnixMicro())
		dst = appendString(dst, e.Unit)
		switch e.Kind {
		case Exposure:
			dst = appendString(dst, e.Flag)
			dst = appendString(dst, e.Variant)
			dst = appendString(dst, e.Rule)
			dst = appendString(dst, e.Experiment)
			dst = binary.AppendUvarint(dst, e.Revision)
		case Track:
			dst = appendString(dst, e.Key)
			if e.HasValue {
				dst = append(dst, 1)
				dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.Value))
			} else {
				dst = append(dst, 0)
			}
		}
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// BatchReceived reads the received time of an encoded batch without
// decoding the rest.
func BatchReceived(data []byte) (time.Time, error) {
	d := decoder{buf: data}
	if v := d.byte(); v != codecVersion {
		return time.Time{}, fmt.Errorf("%w: version %d", errCorrupt, v)
	}
	t := d.time()
	return t, d.err
}

// DecodeBatch decodes an encoded batch. It never panics: malformed
// input is an error matching errCorrupt.
func DecodeBatch(data []byte) (Batch, error) {
	d := decoder{buf: data}
	var b Batch
	if v := d.byte(); v != codecVersion {
		return b, fmt.Errorf("%w: version %d", errCorrupt, v)
	}
	b.Received = d.time()
	b.Project = d.string()
	b.Environment = d.string()
	b.SDKName = d.string()
	b.SDKVersion = d.string()
	n := d.uvarint()
	// Every event takes at least 4 bytes: a count larger than the rest of
	// the input is corrupt, and allocating it would be a hazard.
	if d.err == nil && n > uint64(len(d.buf))/4 {
		d.fail()
	}
	if d.err != nil {
		return Batch{}, d.err
	}
	b.Events = make([]Event, n)
	for i := range b.Events {
		e := &b.Events[i]
		e.Kind = Kind(d.byte())
		e.Time = d.time()
		e.Unit = d.string()
		switch e.Kind {
		case Exposure:
			e.Flag = d.string()
			e.Variant = d.string()
			e.Rule = d.string()
			e.Experiment = d.string()
			e.Revision = d.uvarint()
		case Track:
			e.Key = d.string()
			switch d.byte() {
			case 0:
			case 1:
				e.HasValue = true
				e.Value = math.Float64frombits(d.uint64())
			default:
				d.fail()
			}
		default:
			d.fail()
		}
		if d.err != nil {
			return Batch{}, d.err
		}
	}
	if len(d.buf) != 0 {
		return Batch{}, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.buf))
	}
	return b, nil
}

// decoder reads the encoding; after the first error every read returns
// the zero value and err stays set.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.buf = nil
}

func (d *decoder) byte() byte {
	if len(d.buf) < 1 {
		d.fail()
		return 0
	}
	c := d.buf[0]
	d.buf = d.buf[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) time() time.Time {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail()
		return time.Time{}
	}
	d.buf = d.buf[n:]
	return time.UnixMicro(v).UTC()
}

func (d *decoder) uint64() uint64 {
	if len(d.buf) < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.buf)
	d.buf = d.buf[8:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.buf)) {
		d.fail()
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}
