// Package syncer is the server side of the sync protocol: it encodes each
// environment revision once into sections shared by every stream (caching
// section payloads by model pointer across revisions), keeps the registry
// of connected streams per environment with the revision each has
// acknowledged, and wakes streams when a new revision is published without
// ever waiting for one of them.
package syncer

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// ErrClosed means the hub is shut down: the server is stopping.
var ErrClosed = errors.New("server is shutting down")

// ErrMaxAge means the stream reached its maximum age (Stream.MaxAge): a
// clean end, after which the SDK reconnects at once (load rebalancing).
var ErrMaxAge = errors.New("the sync stream reached its maximum age")

// Source is where the hub reads the current state from.
type Source interface {
	State() *domain.State
}

// Options configures a Hub.
type Options struct {
	// MaxAge is the longest a stream lives before the server ends it so
	// that the SDK reconnects (load rebalancing). Each stream gets MaxAge
	// plus or minus MaxAgeJitter at random. Zero means DefaultMaxAge.
	MaxAge time.Duration
	// MaxAgeJitter is the fraction of MaxAge by which a stream's age limit
	// varies. Zero means DefaultMaxAgeJitter; negative means none.
	MaxAgeJitter float64
	// Side, when set, keeps the roster of connected streams across
	// restarts (see roster.go): after a restart, Convergence reports the
	// streams connected before it as awaited until they return or
	// RestartGrace has passed since New.
	Side SideStore
	// RestartGrace is how long after a restart convergence waits for the
	// streams connected before it. Zero means DefaultRestartGrace.
	RestartGrace time.Duration
	// RosterInterval is how often the roster is saved when it changed.
	// Zero means DefaultRosterInterval.
	RosterInterval time.Duration
	// Now is the clock of the restart grace period; nil means time.Now.
	Now func() time.Time
}

// The defaults of Options.
const (
	DefaultMaxAge         = 10 * time.Minute
	DefaultMaxAgeJitter   = 0.1
	DefaultRestartGrace   = 2 * time.Minute
	DefaultRosterInterval = 15 * time.Second
)

// Default returns the default options.
func Default() Options {
	return Options{MaxAge: DefaultMaxAge, MaxAgeJitter: DefaultMaxAgeJitter, RestartGrace: DefaultRestartGrace, RosterInterval: DefaultRosterInterval}
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.MaxAge < 0 {
		return fmt.Errorf("sync max age %s is negative", o.MaxAge)
	}
	if o.MaxAgeJitter >= 1 {
		return fmt.Errorf("sync max age jitter %g must be below 1", o.MaxAgeJitter)
	}
	if o.RestartGrace < 0 {
		return fmt.Errorf("sync restart grace %s is negative", o.RestartGrace)
	}
	if o.RosterInterval < 0 {
		return fmt.Errorf("sync roster interval %s is negative", o.RosterInterval)
	}
	return nil
}

// Hub is the registry of sync streams and the publisher of revisions.
type Hub struct {
	log    *slog.Logger
	src    Source
	opts   Options
	prefix string // makes stream ids unique across server runs
	nextID atomic.Uint64

	mu     sync.Mutex // guards envs, each envHub's streams, closed and recoveries
	envs   map[envKey]*envHub
	closed bool
	// recoveries are the environments that had streams before the
	// restart, from the roster; started is when the hub was made.
	recoveries map[envKey]*recovery
	started    time.Time
	// savedRoster is the roster last saved; owned by Run.
	savedRoster map[envKey]roster

	buildMu  sync.Mutex // serializes builds; guards encoders
	encoders map[string]*encoder

	keysMu sync.Mutex // serializes key set refreshes; guards each envHub's keysOf

	// announced is the state whose release steps were last announced to
	// the streams; owned by Run.
	announced *domain.State
}

type envKey struct{ project, env string }

// envHub is one environment: its current revision and its streams.
type envHub struct {
	key     envKey
	current atomic.Pointer[Revision]
	// keys is the KeySet message of the environment, for relay streams.
	keys atomic.Pointer[sdkpb.SyncResponse]
	// keysOf is the state's key list keys was built from (refreshKeys);
	// guarded by Hub.keysMu.
	keysOf  []*domain.APIKey
	streams map[*Stream]struct{} // guarded by Hub.mu
	// roster is notified when what Hub.Report says of the environment may
	// have changed: a stream joined or left, an SDK acknowledged a
	// revision, a relay behind this hub reported, the environment got its
	// first revision or was dropped.
	roster broadcast
}

// New returns a hub reading state from src. A nil src makes a relay's hub:
// it serves the revisions and key sets given to Publish and PublishKeys.
func New(log *slog.Logger, src Source, opts Options) (*Hub, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.MaxAgeJitter == 0 {
		opts.MaxAgeJitter = DefaultMaxAgeJitter
	}
	if opts.RestartGrace == 0 {
		opts.RestartGrace = DefaultRestartGrace
	}
	if opts.RosterInterval == 0 {
		opts.RosterInterval = DefaultRosterInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var b [4]byte
	rand.Read(b[:])
	h := &Hub{
		log:        log,
		src:        src,
		opts:       opts,
		prefix:     hex.EncodeToString(b[:]) + "-",
		envs:       map[envKey]*envHub{},
		encoders:   map[string]*encoder{},
		recoveries: map[envKey]*recovery{},
		started:    opts.Now(),
	}
	if opts.Side != nil {
		saved, err := loadRoster(opts.Side)
		if err != nil {
			return nil, fmt.Errorf("load the sync roster: %w", err)
		}
		for key, r := range saved {
			h.recoveries[key] = &recovery{expected: r}
		}
		h.savedRoster = saved
	}
	return h, nil
}

// Join registers a stream for an environment and returns it with the
// environment's current revision available from Latest. It fails with an
// error matching domain.ErrNotFound when the environment does not exist and
// ErrClosed after the hub has shut down. The caller must Leave.
func (h *Hub) Join(project, env string, info Info) (*Stream, error) {
	e, err := h.envHub(project, env)
	if err != nil {
		return nil, err
	}
	st := &Stream{
		ID: h.prefix + strconv.FormatUint(h.nextID.Add(1), 10),
		Info: Info{
			SDKName: clip(info.SDKName), SDKVersion: clip(info.SDKVersion),
			Peer: clip(info.Peer), KeyID: info.KeyID, Relay: clip(info.Relay),
		},
		Since:  time.Now(),
		MaxAge: h.maxAge(),
		env:    e,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if h.envs[e.key] != e {
		// The environment was deleted while it was being built.
		return nil, notFound(project, env)
	}
	e.streams[st] = struct{}{}
	e.roster.Notify()
	return st, nil
}

// Leave unregisters a stream.
func (h *Hub) Leave(st *Stream) {
	h.mu.Lock()
	delete(st.env.streams, st)
	h.mu.Unlock()
	st.env.roster.Notify()
}

// maxAge draws a stream's age limit.
func (h *Hub) maxAge() time.Duration {
	j := h.opts.MaxAgeJitter
	if j <= 0 {
		return h.opts.MaxAge
	}
	f := 1 + j*(2*mrand.Float64()-1)
	return time.Duration(float64(h.opts.MaxAge) * f)
}

// envHub returns the environment's hub, building its current revision when
// it has none or an outdated one (no stream was there to see the change).
func (h *Hub) envHub(project, env string) (*envHub, error) {
	key := envKey{project, env}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	e := h.envs[key]
	if h.src == nil {
		// A relay's hub: environments come from Publish.
		h.mu.Unlock()
		if e == nil || e.current.Load() == nil {
			return nil, notFound(project, env)
		}
		return e, nil
	}
	if e == nil {
		e = &envHub{key: key, streams: map[*Stream]struct{}{}}
		h.envs[key] = e
	}
	h.mu.Unlock()

	st := h.src.State()
	number, err := envRevision(st, key)
	if err != nil {
		h.drop(e, err)
		return nil, err
	}
	// The key set may be older than the state even when the revision is
	// not: keys change no revision, and an environment without streams is
	// not refreshed.
	h.refreshKeys(e)
	if cur := e.current.Load(); cur != nil && cur.Number >= number {
		return e, nil
	}
	if err := h.refreshEnv(e); err != nil {
		return nil, err
	}
	return e, nil
}

// envRevision returns the environment's revision in st.
func envRevision(st *domain.State, key envKey) (uint64, error) {
	p, ok := st.Project(key.project)
	if !ok {
		return 0, notFound(key.project, key.env)
	}
	env, ok := p.Environment(key.env)
	if !ok {
		return 0, notFound(key.project, key.env)
	}
	return env.Revision, nil
}

func notFound(project, env string) error {
	return fmt.Errorf("environment %s/%s: %w", project, env, domain.ErrNotFound)
}

// refreshEnv builds and publishes the environment's revision if the state
// has a newer one than the hub.
func (h *Hub) refreshEnv(e *envHub) error {
	h.buildMu.Lock()
	defer h.buildMu.Unlock()
	st := h.src.State()
	number, err := envRevision(st, e.key)
	if err != nil {
		h.drop(e, err)
		return err
	}
	if cur := e.current.Load(); cur != nil && cur.Number >= number {
		return nil
	}
	p, _ := st.Project(e.key.project)
	enc := h.encoders[e.key.project]
	if enc == nil {
		enc = newEncoder()
		h.encoders[e.key.project] = enc
	}
	start := time.Now()
	rev, err := enc.build(p.Document(), p.Overlays(e.key.env), e.key.env, number)
	if err != nil {
		// The store validated the document, so this is a bug: keep serving
		// the previous revision.
		h.log.Error("encode sync revision", "project", e.key.project, "environment", e.key.env, "revision", number, "err", err)
		if e.current.Load() == nil {
			return fmt.Errorf("encode revision %d of %s/%s: %w", number, e.key.project, e.key.env, err)
		}
		return nil
	}
	e.current.Store(rev)
	h.log.Debug("sync revision built", "project", e.key.project, "environment", e.key.env,
		"revision", number, "sections", rev.Sections(), "took", time.Since(start))

	h.mu.Lock()
	for st := range e.streams {
		st.notify()
	}
	h.mu.Unlock()
	return nil
}

// drop removes an environment that no longer exists and ends its streams.
func (h *Hub) drop(e *envHub, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.envs[e.key] == e {
		delete(h.envs, e.key)
	}
	for st := range e.streams {
		st.end(err)
	}
	e.roster.Notify()
}

// Run publishes every new revision until ctx is done, then saves the
// roster and ends every stream with ErrClosed. changed returns a channel
// closed at the next change of the state (snapshot.Set.Changed). With
// Options.Side it saves the roster every Options.RosterInterval when it
// changed. It ends the streams past their maximum age with ErrMaxAge, on
// one ticker for all of them (sweepInterval), so that an idle stream
// holds no timer of its own.
func (h *Hub) Run(ctx context.Context, changed func() <-chan struct{}) {
	tick := time.NewTicker(h.opts.RosterInterval)
	defer tick.Stop()
	sweep := time.NewTicker(sweepInterval(h.opts.MaxAge))
	defer sweep.Stop()
	next := changed()
	h.refresh()
	for {
		select {
		case <-ctx.Done():
			h.saveRosterIfChanged()
			h.close()
			return
		case <-next:
		case <-tick.C:
			h.saveRosterIfChanged()
		case now := <-sweep.C:
			h.sweep(now)
			continue
		}
		next = changed()
		h.refresh()
	}
}

// sweepInterval is how often Run looks for streams past their maximum age:
// a tenth of it, at most a second (a stream lives up to that much longer
// than its age; streams live minutes) and at least a millisecond.
func sweepInterval(maxAge time.Duration) time.Duration {
	return min(time.Second, max(maxAge/10, time.Millisecond))
}

// sweep ends the streams whose maximum age has passed at now with
// ErrMaxAge.
func (h *Hub) sweep(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.envs {
		for st := range e.streams {
			if now.Sub(st.Since) >= st.MaxAge {
				st.end(ErrMaxAge)
			}
		}
	}
}

// refresh brings every environment that has streams up to the state,
// announces the release steps taken since the last refresh, and ends the
// streams of revoked keys.
func (h *Hub) refresh() {
	if h.src == nil {
		return // a relay's hub: Publish, PublishKeys and Revoke do this
	}
	// The state is read before the builds, so that a step is announced
	// after the revision it made is published.
	st := h.src.State()
	h.mu.Lock()
	envs := make([]*envHub, 0, len(h.envs))
	for _, e := range h.envs {
		// An environment without streams is brought up to date when one
		// joins.
		if len(e.streams) > 0 {
			envs = append(envs, e)
		}
	}
	h.mu.Unlock()
	for _, e := range envs {
		// The key set first: a stream sends it before a revision made
		// after it, so a key revoked before a revision is refused by every
		// relay that serves that revision.
		h.refreshKeys(e)
		if err := h.refreshEnv(e); err != nil && !errors.Is(err, domain.ErrNotFound) {
			h.log.Error("publish sync revision", "project", e.key.project, "environment", e.key.env, "err", err)
		}
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	h.announce(h.announced, st)
	h.announced = st
	for _, e := range h.envs {
		for s := range e.streams {
			if _, ok := st.APIKey(s.Info.KeyID); !ok {
				s.end(fmt.Errorf("%w: the API key was revoked", auth.ErrUnauthenticated))
			}
		}
	}
}

// announce queues on the streams the release steps taken between old
// (nil: none) and cur. The caller holds h.mu.
func (h *Hub) announce(old, cur *domain.State) {
	if old == nil {
		return
	}
	for _, ps := range cur.Projects() {
		prev, _ := old.Project(ps.Key())
		for _, n := range releaseNotices(prev, ps) {
			if e := h.envs[envKey{ps.Key(), n.env}]; e != nil {
				for st := range e.streams {
					st.addNotice(n.msg)
				}
			}
		}
	}
}

// close ends every stream and refuses new ones.
func (h *Hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, e := range h.envs {
		for st := range e.streams {
			st.end(ErrClosed)
		}
	}
}

// StreamStatus is one stream in a convergence report.
type StreamStatus struct {
	ID    string
	Info  Info
	Since time.Time
	Acked uint64
	// Relay is the path of relays the stream is connected through,
	// nearest this server first ("edge-eu/edge-paris"); "" for a stream
	// connected here.
	Relay string
}

// Convergence is how far an environment's streams are.
type Convergence struct {
	// Revision is the revision asked about.
	Revision uint64
	// Connected counts the SDK streams, those connected here and those
	// behind relays (as the relays report them; a relay's own stream is not
	// counted); Converged those that acknowledged Revision or a later one.
	Connected, Converged int
	// Streams lists up to the asked number of streams, those that have not
	// converged first, then the longest connected. Of the streams behind a
	// relay, only those it lists in its report can be listed.
	Streams []StreamStatus
	// Expected counts the streams connected before the last restart (from
	// the roster; 0 when there were none or no roster is kept), and
	// Returned those of them connected again. Awaiting is true while the
	// environment still waits for them: judging convergence then would
	// count only the SDKs that happened to reconnect first.
	Expected, Returned int
	Awaiting           bool
	// Settled says how the wait after the restart ended: "returned" (every
	// expected stream returned), "grace" (the grace period passed first),
	// or "" (still waiting, or nothing to wait for).
	Settled string
	// Grace is the restart grace period.
	Grace time.Duration
}

// Convergence reports the environment's streams against revision (0: the
// current revision), listing at most max of them. It fails with an error
// matching domain.ErrNotFound when the environment does not exist.
func (h *Hub) Convergence(project, env string, revision uint64, max int) (Convergence, error) {
	key := envKey{project, env}
	current, err := h.revision(key)
	if err != nil {
		return Convergence{}, err
	}
	if revision == 0 {
		revision = current
	}
	c := Convergence{Revision: revision, Grace: h.opts.RestartGrace}
	now := h.opts.Now()
	h.mu.Lock()
	if rec, returned := h.settle(key, now); rec != nil {
		c.Expected, c.Returned, c.Settled, c.Awaiting = rec.expected.total(), returned, rec.settled, rec.settled == ""
	}
	acked, all := h.gather(key)
	h.mu.Unlock()
	for rev, n := range acked {
		c.Connected += n
		if rev >= revision {
			c.Converged += n
		}
	}
	slices.SortFunc(all, func(a, b StreamStatus) int {
		ac, bc := a.Acked >= revision, b.Acked >= revision
		if ac != bc {
			if ac {
				return 1
			}
			return -1
		}
		return cmp.Or(a.Since.Compare(b.Since), cmp.Compare(a.ID, b.ID))
	})
	c.Streams = all[:min(max, len(all))]
	return c, nil
}

// EachStream calls fn for every open stream with its environment and the
// client's Info, holding the hub's lock: fn must not call the hub. It is
// for metrics read at scrape time.
func (h *Hub) EachStream(fn func(project, env string, info *Info)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.envs {
		for st := range e.streams {
			fn(e.key.project, e.key.env, &st.Info)
		}
	}
}
