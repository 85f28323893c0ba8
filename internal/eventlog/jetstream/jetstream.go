// Package jetstream keeps the event log in a replicated NATS JetStream
// stream, so that events survive the loss of a machine and several
// switchyard replicas share one log.
//
// Each Append is one message. A batch with events goes to {subject}.batch;
// a batch of rejections only, and evaluation counts, go to {subject}.usage.
// The body is the batch as eventlog.AppendBatch encodes it (evaluation
// counts: JSON); rejections ride in the Switchyard-Rejected header
// ("CODE=n,CODE=n"). A batch ID becomes the JetStream message ID
// ("{project}/{environment}/{id}"), so the stream's duplicate window
// (Options.BatchRetention) stores a retried batch once, and Seq is the
// stream sequence of the batch's message.
//
// Batches reads {subject}.batch with a durable pull consumer that it moves
// to the position the reader asks for (the reader's checkpoint), so a new
// reader — a restarted process, a new leader — resumes exactly where the
// last checkpoint left off. The usage counters are a fold of the whole
// stream that Run keeps in memory, checkpointed (counters and the stream
// sequence they reach) to a JetStream object store every
// Config.CheckpointInterval: a Log starting up loads the checkpoint and
// folds what came after it.
package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/eventlog"
)

// Config names the JetStream resources of a Log. Zero fields take the
// defaults.
type Config struct {
	// Stream is the stream's name; default "SWITCHYARD_EVENTS".
	Stream string
	// Subject is the prefix of the subjects published on; default
	// "switchyard.events".
	Subject string
	// Replicas is the stream's replication factor: 3 survives the loss of
	// one node of a cluster of three or more. Default 1.
	Replicas int
	// Durable names the durable consumer Batches reads with; default
	// "switchyard-experiments".
	Durable string
	// CheckpointInterval is how often Run checkpoints the usage counters;
	// default 1 minute.
	CheckpointInterval time.Duration
}

// Defaults of Config.
const (
	DefaultStream             = "SWITCHYARD_EVENTS"
	DefaultSubject            = "switchyard.events"
	DefaultDurable            = "switchyard-experiments"
	DefaultCheckpointInterval = time.Minute
)

func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.Durable == "" {
		c.Durable = DefaultDurable
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	return c
}

const (
	hdrRejected = "Switchyard-Rejected"
	// checkpointObject is the name of the usage checkpoint in the object
	// store {stream}_USAGE.
	checkpointObject = "usage"
)

// Log is an eventlog.Log on a JetStream stream. It does not own its NATS
// connection: the caller closes it after Run has returned.
type Log struct {
	js          natsjs.JetStream
	cfg         Config
	opts        eventlog.Options
	batchSubj   string
	usageSubj   string
	checkpoints natsjs.ObjectStore

	closed atomic.Bool
	acked  atomic.Uint64 // the highest sequence an Append or AddEvaluations got

	mu      sync.Mutex
	usage   *table
	applied uint64        // the last sequence folded into usage
	changed chan struct{} // closed and replaced when applied moves

	readMu     sync.Mutex
	reader     natsjs.Consumer // nil until the first Batches
	positioned bool            // reader delivers the batch after pos next
	pos        uint64
}

var _ eventlog.Log = (*Log)(nil)

// New creates (or updates) the stream and the checkpoint store on nc's
// JetStream and returns a Log over them. A cluster that cannot answer yet
// (just started, or busy with the same creation by other replicas) is
// asked again for up to a minute. Nothing is folded into the usage
// counters until Run runs.
func New(ctx context.Context, nc *nats.Conn, cfg Config, opts eventlog.Options) (*Log, error) {
	cfg = cfg.withDefaults()
	opts = opts.WithDefaults()
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	l := &Log{
		js: js, cfg: cfg, opts: opts,
		batchSubj: cfg.Subject + ".batch", usageSubj: cfg.Subject + ".usage",
		usage: newTable(), changed: make(chan struct{}),
	}
	var stream natsjs.Stream
	err = retryStart(ctx, func(ctx context.Context) (err error) {
		stream, err = js.CreateOrUpdateStream(ctx, natsjs.StreamConfig{
			Name:       cfg.Stream,
			Subjects:   []string{cfg.Subject + ".>"},
			Storage:    natsjs.FileStorage,
			Replicas:   cfg.Replicas,
			Retention:  natsjs.LimitsPolicy,
			Discard:    natsjs.DiscardOld,
			MaxAge:     opts.BatchRetention,
			MaxBytes:   opts.BatchMaxBytes,
			Duplicates: opts.BatchRetention,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", cfg.Stream, err)
	}
	err = retryStart(ctx, func(ctx context.Context) (err error) {
		l.checkpoints, err = js.CreateOrUpdateObjectStore(ctx, natsjs.ObjectStoreConfig{
			Bucket: cfg.Stream + "_USAGE", Storage: natsjs.FileStorage, Replicas: cfg.Replicas,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create object store %s_USAGE: %w", cfg.Stream, err)
	}
	// A new Log reads what the stream held when it started before it
	// answers for the counters.
	if info, err := stream.Info(ctx); err == nil && info.State.Msgs > 0 {
		l.acked.Store(info.State.LastSeq)
	}
	return l, nil
}

// startWait bounds how long New waits for a cluster that cannot create
// the stream yet; startTry bounds one try.
const (
	startWait = time.Minute
	startTry  = 5 * time.Second
)

// retryStart runs call, a JetStream API request of New, again while the
// cluster does not answer it (a cluster just started, still electing its
// leaders; replicas started together creating the one stream at the same
// moment: some of those requests get no answer), for startWait at most.
// Its error is marked as unavailable's.
func retryStart(ctx context.Context, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	for {
		tctx, done := context.WithTimeout(ctx, startTry)
		err := call(tctx)
		done()
		if err == nil {
			return nil
		}
		err = unavailable(err)
		if !errors.Is(err, eventlog.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// unavailable marks the errors of an unreachable cluster with
// eventlog.ErrUnavailable; context errors and others pass as they are.
func unavailable(err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, natsjs.ErrNoStreamResponse), errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, natsjs.ErrJetStreamNotEnabled):
		return fmt.Errorf("%w: %w", eventlog.ErrUnavailable, err)
	}
	var apiErr *natsjs.APIError
	if errors.As(err, &apiErr) && apiErr.Code == 503 {
		return fmt.Errorf("%w: %w", eventlog.ErrUnavailable, err)
	}
	return err
}

// Append publishes the batch (and its rejections) as one message and
// returns once the stream has acknowledged it: stored on a quorum of its
// replicas.
func (l *Log) Append(ctx context.Context, b *eventlog.Batch, rejected map[string]int) error {
	if l.closed.Load() {
		return fmt.Errorf("write events: %w", eventlog.ErrClosed)
	}
	if len(b.Events) == 0 && len(rejected) == 0 {
		return nil
	}
	subject := l.batchSubj
	if len(b.Events) == 0 {
		subject = l.usageSubj
	}
	msg := nats.NewMsg(subject)
	msg.Data = eventlog.AppendBatch(make([]byte, 0, 64+48*len(b.Events)), b)
	if len(rejected) > 0 {
		msg.Header.Set(hdrRejected, encodeRejected(rejected))
	}
	var popts []natsjs.PublishOpt
	if b.ID != "" {
		popts = append(popts, natsjs.WithMsgID(b.Project+"/"+b.Environment+"/"+b.ID))
	}
	ack, err := l.publish(ctx, msg, popts)
	if err != nil {
		return fmt.Errorf("write events: %w", unavailable(err))
	}
	l.noteAck(ack.Sequence)
	b.Duplicate = ack.Duplicate
	b.Seq = 0
	if len(b.Events) > 0 {
		b.Seq = ack.Sequence
	}
	return nil
}

// errDuplicateInProcess is the JetStream error code of a message whose ID
// another publish is storing right now.
const errDuplicateInProcess natsjs.ErrorCode = 10158

// publish publishes msg; while another publish of the same message ID is
// in process it waits and publishes again, to learn that one's sequence.
func (l *Log) publish(ctx context.Context, msg *nats.Msg, popts []natsjs.PublishOpt) (*natsjs.PubAck, error) {
	wait := time.Millisecond
	for {
		ack, err := l.js.PublishMsg(ctx, msg, popts...)
		var apiErr *natsjs.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != errDuplicateInProcess {
			return ack, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

func (l *Log) noteAck(seq uint64) {
	for {
		cur := l.acked.Load()
		if seq <= cur || l.acked.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// evaluations is the body of an evaluation-count message.
type evaluations struct {
	At     int64                      `json:"at"` // Unix milliseconds
	Counts []eventlog.EvaluationCount `json:"counts"`
}

// AddEvaluations publishes the counts as one message.
func (l *Log) AddEvaluations(ctx context.Context, at time.Time, counts []eventlog.EvaluationCount) error {
	if l.closed.Load() {
		return fmt.Errorf("write evaluation counts: %w", eventlog.ErrClosed)
	}
	if len(counts) == 0 {
		return nil
	}
	data, err := json.Marshal(evaluations{At: at.UnixMilli(), Counts: counts})
	if err != nil {
		return fmt.Errorf("write evaluation counts: %w", err)
	}
	ack, err := l.js.Publish(ctx, l.usageSubj, data)
	if err != nil {
		return fmt.Errorf("write evaluation counts: %w", unavailable(err))
	}
	l.noteAck(ack.Sequence)
	return nil
}

// Batches reads with the durable consumer, first moving it to after+1
// unless it is there already.
func (l *Log) Batches(ctx context.Context, after uint64, limit int) ([]eventlog.Batch, error) {
	l.readMu.Lock()
	defer l.readMu.Unlock()
	if err := l.position(ctx, after); err != nil {
		return nil, fmt.Errorf("read event batches: %w", unavailable(err))
	}
	msgs, err := l.fetch(ctx, limit)
	var out []eventlog.Batch
	for _, msg := range msgs {
		meta, err := msg.Metadata()
		if err != nil {
			l.positioned = false
			return nil, fmt.Errorf("read event batches: %w", err)
		}
		b, err := eventlog.DecodeBatch(msg.Data())
		if err != nil {
			l.positioned = false
			return nil, fmt.Errorf("event batch %d: %w", meta.Sequence.Stream, err)
		}
		b.Seq = meta.Sequence.Stream
		out = append(out, b)
		l.pos = b.Seq
	}
	if err != nil {
		l.positioned = false
		return nil, fmt.Errorf("read event batches: %w", unavailable(err))
	}
	return out, nil
}

// fetchRetries bounds how often fetch asks again while the durable
// consumer has no leader to answer yet (just created, or failing over).
const fetchRetries = 50

// fetch fetches up to limit batch messages without waiting for new ones.
func (l *Log) fetch(ctx context.Context, limit int) ([]natsjs.Msg, error) {
	for i := 0; ; i++ {
		fetched, err := l.reader.FetchNoWait(limit)
		var msgs []natsjs.Msg
		if err == nil {
			for msg := range fetched.Messages() {
				msgs = append(msgs, msg)
			}
			if err = fetched.Error(); errors.Is(err, natsjs.ErrNoMessages) {
				err = nil
			}
		}
		if err == nil || len(msgs) > 0 || !errors.Is(err, nats.ErrNoResponders) || i == fetchRetries {
			return msgs, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// position makes the durable consumer deliver the batch after after next:
// this Log's first read (a new process, a new leader) creates the durable
// consumer afresh at that position; later reads move it there when the
// reader asks for another position than the one it reached (a read whose
// batches it could not checkpoint).
func (l *Log) position(ctx context.Context, after uint64) error {
	if l.reader != nil && l.positioned && l.pos == after {
		return nil
	}
	if l.reader != nil {
		_, err := l.js.ResetConsumerToSequence(ctx, l.cfg.Stream, l.cfg.Durable, after+1)
		if err == nil {
			l.positioned, l.pos = true, after
			return nil
		}
		l.reader = nil // create it again
		if !errors.Is(err, natsjs.ErrConsumerNotFound) && !errors.Is(err, natsjs.ErrConsumerInvalidReset) {
			return fmt.Errorf("move durable consumer %s to %d: %w", l.cfg.Durable, after+1, err)
		}
	}
	if err := l.js.DeleteConsumer(ctx, l.cfg.Stream, l.cfg.Durable); err != nil && !errors.Is(err, natsjs.ErrConsumerNotFound) {
		return fmt.Errorf("durable consumer %s: %w", l.cfg.Durable, err)
	}
	cfg := natsjs.ConsumerConfig{
		Durable:       l.cfg.Durable,
		FilterSubject: l.batchSubj,
		DeliverPolicy: natsjs.DeliverByStartSequencePolicy,
		OptStartSeq:   after + 1,
		AckPolicy:     natsjs.AckNonePolicy,
		Replicas:      l.cfg.Replicas,
	}
	c, err := l.js.CreateConsumer(ctx, l.cfg.Stream, cfg)
	if err != nil {
		return fmt.Errorf("durable consumer %s: %w", l.cfg.Durable, err)
	}
	l.reader, l.positioned, l.pos = c, true, after
	return nil
}

// LastSeq returns the sequence of the last batch message in the stream,
// 0 when none is left.
func (l *Log) LastSeq(ctx context.Context) (uint64, error) {
	stream, err := l.js.Stream(ctx, l.cfg.Stream)
	if err != nil {
		return 0, fmt.Errorf("read event sequence: %w", unavailable(err))
	}
	msg, err := stream.GetLastMsgForSubject(ctx, l.batchSubj)
	if errors.Is(err, natsjs.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read event sequence: %w", unavailable(err))
	}
	return msg.Sequence, nil
}

// FlagUsage waits until the counters hold every message this Log
// published, and those the stream held when New returned, then reads
// them.
func (l *Log) FlagUsage(ctx context.Context, q eventlog.UsageQuery) (*eventlog.Usage, error) {
	if err := l.caughtUp(ctx); err != nil {
		return nil, fmt.Errorf("read flag usage: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.usage.query(q), nil
}

// LastSeen waits like FlagUsage, then reads the counters.
func (l *Log) LastSeen(ctx context.Context, project string) (map[string]map[string]time.Time, error) {
	if err := l.caughtUp(ctx); err != nil {
		return nil, fmt.Errorf("read last seen: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.usage.lastSeen(project), nil
}

// caughtUp waits until Run has folded every sequence this Log was
// acknowledged.
func (l *Log) caughtUp(ctx context.Context) error {
	want := l.acked.Load()
	for {
		l.mu.Lock()
		applied, changed := l.applied, l.changed
		l.mu.Unlock()
		if applied >= want {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// retryWait is how long Run waits before following the stream again after
// an error.
const retryWait = time.Second

// Run folds the stream into the usage counters, from the last checkpoint
// on, and checkpoints them every Config.CheckpointInterval and when ctx
// is done; then Appends fail with ErrClosed.
func (l *Log) Run(ctx context.Context) error {
	defer l.closed.Store(true)
	// A cluster still electing its stream leaders answers "no responders"
	// for a while: wait for it rather than give up.
	for {
		err := l.restore(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil // nothing restored: nothing to checkpoint either
		}
		if !errors.Is(err, eventlog.ErrUnavailable) {
			return err
		}
		select {
		case <-ctx.Done():
			return nil // nothing restored: nothing to checkpoint either
		case <-time.After(retryWait):
		}
	}
	ticker := time.NewTicker(l.cfg.CheckpointInterval)
	defer ticker.Stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				_ = l.checkpoint(ctx) // the next one tries again
			}
		}
	}()
	for ctx.Err() == nil {
		if err := l.follow(ctx); err != nil && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(retryWait):
			}
		}
	}
	<-done
	l.closed.Store(true)
	final, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.checkpoint(final); err != nil {
		return fmt.Errorf("event usage checkpoint: %w", err)
	}
	return nil
}

// follow folds the messages after the last one applied until ctx is done
// or the consumer fails.
func (l *Log) follow(ctx context.Context) error {
	l.mu.Lock()
	start := l.applied + 1
	l.mu.Unlock()
	c, err := l.js.OrderedConsumer(ctx, l.cfg.Stream, natsjs.OrderedConsumerConfig{
		FilterSubjects: []string{l.cfg.Subject + ".>"},
		DeliverPolicy:  natsjs.DeliverByStartSequencePolicy,
		OptStartSeq:    start,
	})
	if err != nil {
		return err
	}
	it, err := c.Messages()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return err
		}
		l.apply(meta.Sequence.Stream, msg)
	}
}

// apply folds one message into the counters. A message that does not
// decode is skipped: it is nobody's to retry.
func (l *Log) apply(seq uint64, msg natsjs.Msg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq <= l.applied {
		return
	}
	switch subject := msg.Subject(); {
	case subject == l.batchSubj || subject == l.usageSubj && msg.Headers().Get(hdrRejected) != "":
		if b, err := eventlog.DecodeBatch(msg.Data()); err == nil {
			l.usage.addBatch(&b, decodeRejected(msg.Headers().Get(hdrRejected)))
		}
	case subject == l.usageSubj:
		var ev evaluations
		if err := json.Unmarshal(msg.Data(), &ev); err == nil {
			l.usage.addEvaluations(time.UnixMilli(ev.At), ev.Counts)
		}
	}
	l.applied = seq
	close(l.changed)
	l.changed = make(chan struct{})
}

// checkpoint stores the counters and the sequence they reach, pruning
// the hours past the retention first.
func (l *Log) checkpoint(ctx context.Context) error {
	l.mu.Lock()
	l.usage.prune(eventlog.HourOf(l.opts.Now().Add(-l.opts.UsageRetention)))
	data, err := l.usage.encode(l.applied)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if _, err := l.checkpoints.PutBytes(ctx, checkpointObject, data); err != nil {
		return fmt.Errorf("store: %w", unavailable(err))
	}
	return nil
}

// restore loads the last checkpoint, if any.
func (l *Log) restore(ctx context.Context) error {
	data, err := l.checkpoints.GetBytes(ctx, checkpointObject)
	if errors.Is(err, natsjs.ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load event usage checkpoint: %w", unavailable(err))
	}
	t, seq, err := decodeTable(data)
	if err != nil {
		return fmt.Errorf("load event usage checkpoint: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq > l.applied {
		l.usage, l.applied = t, seq
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return nil
}

// encodeRejected writes counts by code as "CODE=n,CODE=n", in code order.
func encodeRejected(rejected map[string]int) string {
	var sb strings.Builder
	for _, code := range slices.Sorted(maps.Keys(rejected)) {
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(code)
		sb.WriteByte('=')
		sb.WriteString(strconv.Itoa(rejected[code]))
	}
	return sb.String()
}

func decodeRejected(s string) map[string]int {
	if s == "" {
		return nil
	}
	out := map[string]int{}
	for part := range strings.SplitSeq(s, ",") {
		code, n, ok := strings.Cut(part, "=")
		v, err := strconv.Atoi(n)
		if !ok || err != nil || v < 0 {
			continue
		}
		out[code] += v
	}
	return out
}
