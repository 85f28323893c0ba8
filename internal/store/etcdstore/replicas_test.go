package etcdstore_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

// casInput is one operation on a register: a read, or a compare-and-set
// (a Change whose Cond is the value read before).
type casInput struct {
	key      string
	read     bool
	old, new string
}

type casOutput struct {
	value string // a read's
	ok    bool   // a compare-and-set's: applied, or refused (ErrCondition)
}

// registers is the model: one register per key, "" when absent.
var registers = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(casInput).key
			if by[k] == nil {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		var parts [][]porcupine.Operation
		for _, k := range keys {
			parts = append(parts, by[k])
		}
		return parts
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in, out, st := input.(casInput), output.(casOutput), state.(string)
		switch {
		case in.read:
			return out.value == st, st
		case out.ok:
			return st == in.old, in.new
		default:
			return st != in.old, st
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(casInput), output.(casOutput)
		if in.read {
			return fmt.Sprintf("get(%s) → %q", in.key, out.value)
		}
		return fmt.Sprintf("cas(%s, %q → %q) → %v", in.key, in.old, in.new, out.ok)
	},
}

// TestReplicasLinearizable: three replicas, each with its own client on its
// own member, read and compare-and-set three registers concurrently
// (three workers each). The history is linearizable (porcupine), no
// successful write is lost (each writes the count it read plus one, so
// the final count is the number of successes), and every replica watches
// the same sequence of changes.
func TestReplicasLinearizable(t *testing.T) {
	t.Parallel()
	const workers, opsEach = 3, 25
	prefix := etcdtest.Prefix(t)
	keys := []string{"a", "b", "c"}
	var stores []*etcdstore.Store
	for _, ep := range cluster.Endpoints() {
		stores = append(stores, open(t, etcdstore.Options{Endpoints: []string{ep}, Prefix: prefix}))
	}
	start, err := stores[0].Apply(t.Context(), domain.Change{})
	if err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	var mu sync.Mutex
	var history []porcupine.Operation
	wins := map[string]int{}
	var wg sync.WaitGroup
	for r, s := range stores {
		for w := range workers {
			client := r*workers + w
			wg.Go(func() {
				for i := range opsEach {
					key := keys[(client+i)%len(keys)]
					path := domain.Path{"reg", key}
					call := time.Since(began).Nanoseconds()
					v, err := s.Get(t.Context(), path)
					if err != nil {
						t.Errorf("Get = %v", err)
						return
					}
					ret := time.Since(began).Nanoseconds()
					op := porcupine.Operation{ClientId: client, Input: casInput{key: key, read: true}, Call: call, Output: casOutput{value: string(v)}, Return: ret}
					n := 0
					if len(v) > 0 {
						n, _ = strconv.Atoi(strings.SplitN(string(v), " ", 2)[0])
					}
					next := fmt.Sprintf("%d by %d", n+1, client)
					cond := domain.Cond{Path: path, Value: v}
					call = time.Since(began).Nanoseconds()
					_, err = s.Apply(t.Context(), domain.Change{Conds: []domain.Cond{cond}, Ops: []domain.Op{{Path: path, Value: []byte(next)}}})
					ret = time.Since(began).Nanoseconds()
					if err != nil && !errors.Is(err, domain.ErrCondition) {
						t.Errorf("Apply = %v", err)
						return
					}
					cas := porcupine.Operation{ClientId: client, Input: casInput{key: key, old: string(v), new: next}, Call: call, Output: casOutput{ok: err == nil}, Return: ret}
					mu.Lock()
					history = append(history, op, cas)
					if err == nil {
						wins[key]++
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if res := porcupine.CheckOperationsTimeout(registers, history, time.Minute); res != porcupine.Ok {
		t.Fatalf("the history of %d operations is %v, want linearizable", len(history), res)
	}
	total := 0
	for _, key := range keys {
		v, err := stores[1].Get(t.Context(), domain.Path{"reg", key})
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.SplitN(string(v), " ", 2)[0])
		if n != wins[key] {
			t.Errorf("register %s counts %d writes, %d succeeded: %d lost", key, n, wins[key], wins[key]-n)
		}
		total += wins[key]
	}
	t.Logf("%d operations, %d successful writes, linearizable, 0 lost", len(history), total)

	// Every replica watches the history from the start: the same changes,
	// one per successful write.
	watched := make([][]string, len(stores))
	seen := errors.New("seen every write")
	for i, s := range stores {
		err := s.Watch(t.Context(), start, func(a domain.Applied) error {
			for _, op := range a.Ops {
				watched[i] = append(watched[i], fmt.Sprintf("%d %s=%s", a.Revision, op.Path, op.Value))
			}
			if len(watched[i]) >= total {
				return seen
			}
			return nil
		})
		if !errors.Is(err, seen) {
			t.Fatalf("replica %d: Watch = %v", i, err)
		}
	}
	for i := 1; i < len(stores); i++ {
		if !slices.Equal(watched[i], watched[0]) {
			t.Errorf("replica %d watched %v, replica 0 %v", i, watched[i], watched[0])
		}
	}
	if len(watched[0]) != total {
		t.Errorf("replica 0 watched %d changes, want the %d writes", len(watched[0]), total)
	}
}
