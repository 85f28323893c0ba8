package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// patch is one conditional PATCH: the etag it names and the etag of the
// version it wrote ("" when refused with 409).
type patch struct{ old, new string }

// etagRegister models a flag as a register of its etag: a PATCH that
// succeeds names the current etag and makes its own current; a refused
// one writes nothing (refused for a stale etag, or after too many
// overtaking writes: both leave the state as it was).
var etagRegister = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(string), input.(patch), output.(patch)
		if out.new == "" {
			return true, st
		}
		return st == "" && in.old == out.old || st == in.old, out.new
	},
	DescribeOperation: func(input, output any) string {
		return fmt.Sprintf("patch(if %s) → %q", input.(patch).old, output.(patch).new)
	},
}

// adminCall calls the admin API of a replica as sya_test_admin.
func adminCall(t *testing.T, method, url string, body any) (int, map[string]any) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer sya_test_admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return 0, nil
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestServeReplicasPatchesLinearizable: workers on three replicas PATCH one
// flag concurrently, each naming the etag it read from its replica and
// writing the count it read plus one. Every PATCH answers 200 or 409; the
// history of the successful ones is linearizable (porcupine: a register of
// etags), and the final count equals the successes: 0 lost updates.
func TestServeReplicasPatchesLinearizable(t *testing.T) {
	rs := startReplicas(t)
	const workers, patchesEach = 3, 10
	flagURL := func(r replica) string { return r.url + "/api/v1/projects/default/flags/contended" }
	code, created := adminCall(t, "POST", rs[0].url+"/api/v1/projects/default/flags", map[string]any{"key": "contended", "type": "bool", "description": "0"})
	if code != http.StatusOK {
		t.Fatalf("create flag = %d %v", code, created)
	}
	// Reads are served from each replica's state, which follows etcd:
	// wait until every replica has the flag.
	for _, r := range rs {
		waitUntil(t, func() bool { code, _ := adminCall(t, "GET", flagURL(r), nil); return code == http.StatusOK })
	}
	began := time.Now()
	var mu sync.Mutex
	history := []porcupine.Operation{{Input: patch{}, Output: patch{old: "", new: created["etag"].(string)}, Call: 0, Return: 0}}
	wins, refused := 0, 0
	var wg sync.WaitGroup
	for r := range rs {
		for w := range workers {
			wg.Go(func() {
				for range patchesEach {
					code, f := adminCall(t, "GET", flagURL(rs[r]), nil)
					if code != http.StatusOK {
						t.Errorf("GET flag on replica %d = %d %v", r, code, f)
						return
					}
					n, _ := strconv.Atoi(f["description"].(string))
					etag := f["etag"].(string)
					call := time.Since(began).Nanoseconds()
					code, upd := adminCall(t, "PATCH", flagURL(rs[r])+"?update_mask=description",
						map[string]any{"description": strconv.Itoa(n + 1), "etag": etag})
					ret := time.Since(began).Nanoseconds()
					op := porcupine.Operation{ClientId: r*workers + w + 1, Input: patch{old: etag}, Call: call, Return: ret}
					switch code {
					case http.StatusOK:
						op.Output = patch{old: etag, new: upd["etag"].(string)}
					case http.StatusConflict:
						op.Output = patch{old: etag}
					default:
						t.Errorf("PATCH on replica %d = %d %v, want 200 or 409", r, code, upd)
						return
					}
					mu.Lock()
					history = append(history, op)
					if code == http.StatusOK {
						wins++
					} else {
						refused++
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
	if res := porcupine.CheckOperationsTimeout(etagRegister, history, time.Minute); res != porcupine.Ok {
		t.Fatalf("the history of %d PATCHes is %v, want linearizable", len(history)-1, res)
	}
	// Each replica converges on the last write; none counts more, or less,
	// than the successful PATCHes.
	for i, r := range rs {
		n := -1
		waitUntil(t, func() bool {
			_, f := adminCall(t, "GET", flagURL(r), nil)
			n, _ = strconv.Atoi(fmt.Sprint(f["description"]))
			return n >= wins
		})
		if n != wins {
			t.Errorf("replica %d counts %d writes, %d succeeded", i, n, wins)
		}
	}
	t.Logf("%d PATCHes through 3 replicas: %d applied, %d refused (409), linearizable, 0 lost", len(history)-1, wins, refused)
}

// waitUntil polls ok until it holds; the test fails if it ends first.
func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-t.Context().Done():
			t.Fatal("test ended while waiting")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
