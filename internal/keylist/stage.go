package keylist

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// StageMemory is the most bytes of keys (and their bookkeeping) a Stage
// holds in memory before it spills them to its temporary file.
const StageMemory = 4 << 20

// Stage holds the keys of one upload grouped by shard, in memory bounded
// by StageMemory whatever the upload's length: keys are added in batches
// as they are read, and past StageMemory the held keys are sorted by shard
// and appended to a temporary file as one run. Shards then merges the runs
// shard by shard, so a reader of the stage holds one shard's keys at a
// time. A Stage keeps duplicates and the upload order within a shard. The
// zero value is not usable: see NewStage. A Stage is not safe for
// concurrent use; Close removes its file.
type Stage struct {
	dir   string
	limit int

	arena   []byte      // the keys held in memory, back to back
	entries []stageItem // one per key held in memory, in upload order
	n       int         // keys added

	file *os.File
	w    *bufio.Writer
	runs []stageRun // on file, in upload order
	end  int64      // bytes written to file
}

// stageItem is one key held in memory.
type stageItem struct {
	shard uint16
	len   uint16 // keys are at most 65535 bytes (Limits bounds them far lower)
	off   uint32
}

// stageRun is one spilled run: its byte range of the file.
type stageRun struct{ off, len int64 }

// NewStage returns an empty Stage that spills to a temporary file in dir
// ("" means os.TempDir) past limit bytes (0 means StageMemory).
func NewStage(dir string, limit int) *Stage {
	if limit <= 0 {
		limit = StageMemory
	}
	return &Stage{dir: dir, limit: limit}
}

// StageOf returns a Stage holding keys: for keys already in memory.
func StageOf(keys ...string) (*Stage, error) {
	s := NewStage("", 0)
	if err := s.Add(keys); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Add appends keys (copied: the caller may reuse the slice and its
// strings' memory) to the stage. A key holding a newline, or longer than
// 65,535 bytes, is refused (Reader and Counter refuse them earlier).
func (s *Stage) Add(keys []string) error {
	for _, k := range keys {
		if len(k) > 0xFFFF || strings.IndexByte(k, '\n') >= 0 {
			return fmt.Errorf("stage key %.40q: longer than 65535 bytes or holding a newline", k)
		}
		s.entries = append(s.entries, stageItem{shard: uint16(Shard(k)), len: uint16(len(k)), off: uint32(len(s.arena))})
		s.arena = append(s.arena, k...)
		s.n++
		if len(s.arena)+8*len(s.entries) >= s.limit {
			if err := s.spill(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Len returns how many keys were added, duplicates included.
func (s *Stage) Len() int { return s.n }

// Small returns the keys in upload order when the stage holds at most
// ChunkThreshold keys, all in memory; else nil and false.
func (s *Stage) Small() ([]string, bool) {
	if s.file != nil || s.n > ChunkThreshold {
		return nil, false
	}
	all := string(s.arena)
	keys := make([]string, len(s.entries))
	for i, e := range s.entries {
		keys[i] = all[e.off : e.off+uint32(e.len)]
	}
	return keys, true
}

// byShard returns the indexes of the keys held in memory, grouped by shard
// in ascending order, upload order within a shard (a counting sort).
func (s *Stage) byShard() []int {
	var counts [Shards + 1]int
	for _, e := range s.entries {
		counts[e.shard+1]++
	}
	for i := 1; i <= Shards; i++ {
		counts[i] += counts[i-1]
	}
	order := make([]int, len(s.entries))
	for i, e := range s.entries {
		order[counts[e.shard]] = i
		counts[e.shard]++
	}
	return order
}

// spill appends the keys held in memory to the file as one run:
// records of (shard: 2 bytes big-endian, length: uvarint, key), ascending
// by shard.
func (s *Stage) spill() error {
	if len(s.entries) == 0 {
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "switchyard-keys-*")
		if err != nil {
			return fmt.Errorf("stage keys: %w", err)
		}
		s.file, s.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	start := s.end
	var hdr [2 + binary.MaxVarintLen64]byte
	for _, i := range s.byShard() {
		e := s.entries[i]
		binary.BigEndian.PutUint16(hdr[:], e.shard)
		n := 2 + binary.PutUvarint(hdr[2:], uint64(e.len))
		s.w.Write(hdr[:n])
		s.w.Write(s.arena[e.off : e.off+uint32(e.len)])
		s.end += int64(n) + int64(e.len)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("stage keys: %w", err)
	}
	s.runs = append(s.runs, stageRun{off: start, len: s.end - start})
	s.arena, s.entries = s.arena[:0], s.entries[:0]
	return nil
}

// runReader reads one spilled run record by record.
type runReader struct {
	r     *bufio.Reader
	shard int // of the next record; Shards past the last
	err   error
}

func (rr *runReader) advance() {
	var hdr [2]byte
	if _, err := io.ReadFull(rr.r, hdr[:]); err != nil {
		rr.shard = Shards
		if !errors.Is(err, io.EOF) {
			rr.err = err
		}
		return
	}
	rr.shard = int(binary.BigEndian.Uint16(hdr[:]))
}

// appendKey appends the next record's key, newline-terminated, to buf.
func (rr *runReader) appendKey(buf []byte) []byte {
	n, err := binary.ReadUvarint(rr.r)
	if err == nil {
		start := len(buf)
		buf = append(buf, make([]byte, n)...)
		_, err = io.ReadFull(rr.r, buf[start:])
	}
	if err != nil {
		rr.err, rr.shard = fmt.Errorf("read staged keys: %w", err), Shards
		return buf
	}
	rr.advance()
	return append(buf, '\n')
}

// Shards calls fn with each shard and its staged keys, in ascending shard
// order, empty shards included, in upload order within a shard (runs
// first, then the keys still in memory), duplicates kept. The keys of one
// shard share one string's memory, which stays valid; the slice is reused
// after fn returns.
func (s *Stage) Shards(fn func(shard int, keys []string) error) error {
	readers := make([]*runReader, len(s.runs))
	for i, run := range s.runs {
		readers[i] = &runReader{r: bufio.NewReaderSize(io.NewSectionReader(s.file, run.off, run.len), 32<<10)}
		readers[i].advance()
	}
	order := s.byShard()
	var (
		buf  []byte
		keys []string
		next int // into order
	)
	for shard := range Shards {
		buf = buf[:0]
		for _, rr := range readers {
			for rr.shard == shard {
				buf = rr.appendKey(buf)
			}
			if rr.err != nil {
				return rr.err
			}
		}
		for ; next < len(order) && int(s.entries[order[next]].shard) == shard; next++ {
			e := s.entries[order[next]]
			buf = append(append(buf, s.arena[e.off:e.off+uint32(e.len)]...), '\n')
		}
		keys = keys[:0]
		if len(buf) > 0 {
			for all, more := string(buf[:len(buf)-1]), true; more; {
				var k string
				k, all, more = strings.Cut(all, "\n")
				keys = append(keys, k)
			}
		}
		if err := fn(shard, keys); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the stage's memory and removes its file.
func (s *Stage) Close() error {
	s.arena, s.entries = nil, nil
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	err := s.file.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	s.file = nil
	return err
}
