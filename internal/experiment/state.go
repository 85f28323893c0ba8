package experiment

// This file holds the layout of the experiment state in its store side
// bucket and the encoding of its records.
//
//	experiments/cursor                  → Seq of the last event batch consumed (8 bytes, big-endian)
//	experiments/studies/{study}/agg     → aggregates (JSON)
//	experiments/studies/{study}/units/{unit hash} → unit record
//
// A study is what events are counted for: a started experiment, or the
// current stage of a release whose stage has a guardrail. Its name holds
// the project, the kind, the id and the start of the study, so that an
// experiment deleted and created again, or a release stage entered again,
// starts from nothing.
//
// A unit is keyed by the 64-bit FNV-1a hash of its string (two units out
// of a million collide with probability 3·10⁻⁸; a collision counts them as
// one), and its record is a few bytes: the variant of its first exposure
// (1 byte), the time of that exposure (Unix seconds, 4 bytes), one bit per
// conversion metric it converted on (2 bytes), and then, once it sent a
// value for a mean metric, its sum for each mean metric (8 bytes each). A
// million units take some 40 MB. The per-variant aggregates are updated as
// events come, so results never scan the units.

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// sideName names the experiment state's side records (domain.Side):
//
//	cursor               → the last event batch consumed (8 bytes, big-endian)
//	aggs/{study}         → the study's counts
//	units/{study}/{unit} → a unit's record
//
// {study} is the study's key in hex, {unit} the unit's hash in unpadded
// base64url (11 characters: a unit record costs little more than its 8
// bytes of hash).
const sideName = "experiments"

const (
	dirAggs  = "aggs"
	dirUnits = "units"
)

var pathCursor = domain.Path{"cursor"}

func aggPath(key string) domain.Path { return domain.Path{dirAggs, hex.EncodeToString([]byte(key))} }

func unitsPath(key string) domain.Path { return domain.Path{dirUnits, hex.EncodeToString([]byte(key))} }

func unitElem(k [8]byte) string { return base64.RawURLEncoding.EncodeToString(k[:]) }

// Arms of a release study.
const (
	armControl   = 0
	armTreatment = 1
)

// study is what the Consumer counts events for.
type study struct {
	key     string // names its records (aggPath, unitsPath)
	project string
	env     string
	flag    string
	// arms are the variants of an experiment (control first); a release
	// study has two arms, control and treatment, told apart by rule.
	arms []string
	// experiment is the key exposures must carry (experiments only).
	experiment string
	// rule is "release:{id}": the rule of a release's treatment
	// exposures (release studies only).
	rule    string
	metrics []model.Metric
	// meanSlot maps a metric's index to its place among the study's mean
	// metrics in a unit record; -1 for conversion metrics.
	meanSlot []int
	means    int
	start    time.Time
	stop     time.Time // zero while events count
}

// experimentStudyKey names the study of an experiment started at start.
func experimentStudyKey(project, id string, start time.Time) string {
	return project + "\x00e\x00" + id + "\x00" + strconv.FormatInt(start.UnixNano(), 10)
}

// releaseStudyKey names the study of a release's stage entered (or
// resumed) at since.
func releaseStudyKey(project, id string, stage int, since time.Time) string {
	return project + "\x00r\x00" + id + "\x00" + strconv.Itoa(stage) + "\x00" + strconv.FormatInt(since.UnixNano(), 10)
}

// experimentStudy returns the study of a started experiment, or nil for a
// draft.
func experimentStudy(project string, e *model.Experiment) *study {
	if e.StartTime == nil || e.Status == model.ExperimentDraft {
		return nil
	}
	s := &study{
		key:        experimentStudyKey(project, e.ID, *e.StartTime),
		project:    project,
		env:        e.Environment,
		flag:       e.Flag,
		experiment: e.ID,
		start:      *e.StartTime,
	}
	for _, a := range e.Arms() {
		s.arms = append(s.arms, a.Variant)
	}
	if e.StopTime != nil {
		s.stop = *e.StopTime
	}
	s.setMetrics(e.Metrics)
	return s
}

// releaseStudy returns the study of a release's current stage when the
// stage has a guardrail and the release serves an audience, else nil. The
// treatment is the flag items' release rule; a release has one study for
// its first flag item (the flag its guardrail watches).
func releaseStudy(ps *domain.ProjectState, r *model.Release) *study {
	if !r.State.Serving() || r.Stage < 1 || r.Stage > len(r.Plan) || r.StageTime == nil {
		return nil
	}
	g := r.Plan[r.Stage-1].Guardrail
	if g == nil {
		return nil
	}
	flag := ""
	for _, it := range r.Items {
		if it.Flag != "" {
			flag = it.Flag
			break
		}
	}
	m, _, ok := ps.Metric(g.Metric)
	if flag == "" || !ok {
		return nil
	}
	s := &study{
		key:     releaseStudyKey(ps.Key(), r.ID, r.Stage, *r.StageTime),
		project: ps.Key(),
		env:     r.Environment,
		flag:    flag,
		arms:    []string{"control", "treatment"},
		rule:    model.OverlayRule(r.ID),
		start:   *r.StageTime,
	}
	s.setMetrics([]model.Metric{*m})
	return s
}

func (s *study) setMetrics(ms []model.Metric) {
	s.metrics = ms
	s.meanSlot = make([]int, len(ms))
	for i := range ms {
		s.meanSlot[i] = -1
		if ms[i].Kind == model.MetricMean {
			s.meanSlot[i] = s.means
			s.means++
		}
	}
}

// Counts are the per-variant aggregates of a study (or of an experiment,
// for Compute): Units by arm (the control first), and Conversions, Sum
// and SumSq by metric, then by arm; Sum and SumSq are the sums over the
// exposed units of each unit's total value and of its square (mean
// metrics). They are stored as JSON.
type Counts struct {
	Units       []int64     `json:"units"`
	Conversions [][]int64   `json:"conversions"`
	Sum         [][]float64 `json:"sum"`
	SumSq       [][]float64 `json:"sum_sq"`
	// Ignored counts events that could not count, by reason.
	Ignored map[string]int64 `json:"ignored,omitempty"`
}

// Reasons an event is ignored by a study.
const (
	ignoredEarly          = "before_start"    // dated before the study started
	ignoredLate           = "after_stop"      // dated after the experiment stopped
	ignoredUnknownVariant = "unknown_variant" // an exposure to a variant the experiment lacks
	ignoredCrossover      = "variant_changed" // a later exposure to another variant (the first counts)
	ignoredBeforeExposure = "before_exposure" // a track event dated before the unit's exposure
	ignoredNoValue        = "mean_without_value"
)

// newCounts returns empty counts shaped for s.
func newCounts(s *study) *Counts {
	a := &Counts{Units: make([]int64, len(s.arms))}
	a.Conversions = make([][]int64, len(s.metrics))
	a.Sum = make([][]float64, len(s.metrics))
	a.SumSq = make([][]float64, len(s.metrics))
	for i := range s.metrics {
		a.Conversions[i] = make([]int64, len(s.arms))
		a.Sum[i] = make([]float64, len(s.arms))
		a.SumSq[i] = make([]float64, len(s.arms))
	}
	return a
}

// decodeCounts reads stored counts, reshaped for s (nil data: none
// yet).
func decodeCounts(s *study, data []byte) (*Counts, error) {
	if data == nil {
		return newCounts(s), nil
	}
	var stored Counts
	if err := json.Unmarshal(data, &stored); err != nil {
		return nil, fmt.Errorf("decode counts: %w", err)
	}
	return reshape(s, &stored), nil
}

// reshape returns counts shaped for s holding what c holds where the
// shapes overlap: a study's metrics and variants never change, but counts
// built elsewhere (Compute's callers) may be short.
func reshape(s *study, c *Counts) *Counts {
	a := newCounts(s)
	copy(a.Units, c.Units)
	for i := range a.Conversions {
		if i < len(c.Conversions) {
			copy(a.Conversions[i], c.Conversions[i])
		}
		if i < len(c.Sum) {
			copy(a.Sum[i], c.Sum[i])
		}
		if i < len(c.SumSq) {
			copy(a.SumSq[i], c.SumSq[i])
		}
	}
	a.Ignored = c.Ignored
	return a
}

// encodeCounts returns the stored form of a.
func encodeCounts(a *Counts) ([]byte, error) {
	data, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode counts: %w", err)
	}
	return data, nil
}

func (a *Counts) ignore(reason string) {
	if a.Ignored == nil {
		a.Ignored = map[string]int64{}
	}
	a.Ignored[reason]++
}

// unitHash is the key of a unit: FNV-1a, 64 bits, big-endian. It does not
// allocate.
func unitHash(unit string) [8]byte {
	h := uint64(14695981039346656037)
	for i := 0; i < len(unit); i++ {
		h ^= uint64(unit[i])
		h *= 1099511628211
	}
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], h)
	return k
}

// unitRecord is a decoded unit record.
type unitRecord struct {
	arm       uint8
	exposed   uint32 // Unix seconds of the first exposure
	converted uint16 // bit i: converted on metric i
	sums      []float64
}

// recordHead is the size of a record without mean sums.
const recordHead = 7

func decodeUnit(b []byte, means int) (unitRecord, bool) {
	if len(b) < recordHead {
		return unitRecord{}, false
	}
	r := unitRecord{arm: b[0], exposed: binary.BigEndian.Uint32(b[1:5]), converted: binary.BigEndian.Uint16(b[5:7])}
	if rest := b[recordHead:]; len(rest) > 0 {
		r.sums = make([]float64, means)
		for i := 0; i < means && 8*i+8 <= len(rest); i++ {
			r.sums[i] = math.Float64frombits(binary.BigEndian.Uint64(rest[8*i:]))
		}
	}
	return r, true
}

// appendUnit appends the encoding of r to dst.
func appendUnit(dst []byte, r unitRecord) []byte {
	dst = append(dst, r.arm)
	dst = binary.BigEndian.AppendUint32(dst, r.exposed)
	dst = binary.BigEndian.AppendUint16(dst, r.converted)
	for _, v := range r.sums {
		dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
	}
	return dst
}

// unixSeconds clamps t to what a record holds.
func unixSeconds(t time.Time) uint32 {
	s := t.Unix()
	switch {
	case s < 0:
		return 0
	case s > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(s)
}
