package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/webhook"
)

// buildBinary returns the switchyard binary for the test's child
// processes: the test binary itself, which runs the switchyard command
// when childEnv is set (TestMain), as it is for the rest of the test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, "1")
	return bin
}

// serverProcess is a 'switchyard serve' process on loopback.
type serverProcess struct {
	t    *testing.T
	bin  string
	args []string
	url  string
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

// startProcess runs the binary with 'serve' and args until it is ready.
func startProcess(t *testing.T, bin, url string, args ...string) *serverProcess {
	t.Helper()
	p := &serverProcess{t: t, bin: bin, args: args, url: url}
	p.start()
	return p
}

func (p *serverProcess) start() {
	p.t.Helper()
	p.out.Reset()
	p.cmd = exec.Command(p.bin, append([]string{"serve"}, p.args...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
	cmd := p.cmd
	p.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-p.done:
			p.t.Fatalf("serve ended early: %v\n%s", err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("server not ready after 20 s\n%s", p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends sig and waits for the process to end.
func (p *serverProcess) stop(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Fatalf("serve did not end within 20 s of %v\n%s", sig, p.out.String())
	}
}

// call sends a REST request as admin and decodes the JSON answer.
func (p *serverProcess) call(method, path string, body any) map[string]any {
	p.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, r)
	req.Header.Set("Authorization", "Bearer sya_test_admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil {
		p.t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, raw)
	}
	return out
}

// delivery is an entry of a delivery log, as REST shows it.
type delivery struct {
	ID           string `json:"id"`
	EventID      string `json:"event_id"`
	State        string `json:"state"`
	RedeliveryOf string `json:"redelivery_of"`
	Attempts     []struct {
		StatusCode int    `json:"status_code"`
		Error      string `json:"error"`
	} `json:"attempts"`
}

// waitDeliveries polls the delivery log of webhook ops until cond holds.
func (p *serverProcess) waitDeliveries(what string, cond func([]delivery) bool) []delivery {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var resp struct{ Deliveries []delivery }
		raw, _ := json.Marshal(p.call("GET", "/api/v1/projects/default/webhooks/ops/deliveries", nil))
		if err := json.Unmarshal(raw, &resp); err != nil {
			p.t.Fatal(err)
		}
		if cond(resp.Deliveries) {
			return resp.Deliveries
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("deliveries never %s: %+v\n%s", what, resp.Deliveries, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allIn(n int, state string) func([]delivery) bool {
	return func(ds []delivery) bool {
		if len(ds) != n {
			return false
		}
		for _, d := range ds {
			if d.State != state {
				return false
			}
		}
		return true
	}
}

// countingReceiver verifies signatures and counts the successful
// deliveries by delivery id and by event id.
type countingReceiver struct {
	mu         sync.Mutex
	byDelivery map[string]int
	byEvent    map[string]int
	bad        int
}

func (c *countingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get(webhook.HeaderTimestamp)
	mac := hmac.New(sha256.New, []byte(webhookTestSecret))
	mac.Write([]byte(ts + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	var ev webhook.Event
	c.mu.Lock()
	defer c.mu.Unlock()
	if !hmac.Equal([]byte(r.Header.Get(webhook.HeaderSignature)), []byte(want)) || json.Unmarshal(body, &ev) != nil {
		c.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.byDelivery[r.Header.Get(webhook.HeaderDelivery)]++
	c.byEvent[ev.ID]++
}

const webhookTestSecret = "whsec-kill9-0123456789"

// TestWebhookDeliveriesSurviveKill9 kills a real server process while its
// deliveries are retrying against a receiver that is down, restarts it on
// the same database (then stops it cleanly and starts it again), brings
// the receiver up and checks that every event is delivered once per
// delivery, none abandoned; then redelivers one with the CLI.
func TestWebhookDeliveriesSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	httpAddr, grpcAddr, recvAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	p := startProcess(t, bin, "http://"+httpAddr,
		"--db", filepath.Join(dir, "s.db"), "--http-addr", httpAddr, "--grpc-addr", grpcAddr,
		"--bootstrap-admin-token", "sya_test_admin", "--log-level", "warn",
		"--webhook-allow-private", "--webhook-initial-backoff", "50ms", "--webhook-max-backoff", "200ms",
		"--webhook-retry-horizon", "10m")

	const events = 20
	p.call("POST", "/api/v1/projects/default/webhooks", map[string]any{
		"id": "ops", "url": "http://" + recvAddr + "/hook", "secret": webhookTestSecret, "events": []string{"flag.*"}})
	for i := range events {
		p.call("POST", "/api/v1/projects/default/flags", map[string]any{"key": fmt.Sprint("f", i), "type": "bool"})
	}
	before := totalAttempts(p.waitDeliveries("retrying", func(ds []delivery) bool {
		return allIn(events, "RETRYING")(ds) && len(ds[0].Attempts) >= 2
	}))

	p.stop(syscall.SIGKILL)
	p.start()
	p.waitDeliveries("retried after the kill", func(ds []delivery) bool {
		return allIn(events, "RETRYING")(ds) && totalAttempts(ds) > before+events
	})
	p.stop(syscall.SIGTERM)
	p.start()

	rcv := &countingReceiver{byDelivery: map[string]int{}, byEvent: map[string]int{}}
	lis, err := net.Listen("tcp", recvAddr)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: rcv}
	go hs.Serve(lis)
	t.Cleanup(func() { hs.Close() })
	up := time.Now()
	ds := p.waitDeliveries("delivered", allIn(events, "DELIVERED"))
	t.Logf("%d events, %d deliveries, drained %s after the receiver came up", events, len(ds), time.Since(up).Round(time.Millisecond))

	rcv.mu.Lock()
	for _, d := range ds {
		last := d.Attempts[len(d.Attempts)-1]
		if rcv.byDelivery[d.ID] != 1 || rcv.byEvent[d.EventID] != 1 || last.StatusCode != http.StatusOK {
			t.Errorf("delivery %s of event %s: received %d times (the event %d times), last attempt %+v; want once, 200",
				d.ID, d.EventID, rcv.byDelivery[d.ID], rcv.byEvent[d.EventID], last)
		}
		for _, a := range d.Attempts[:len(d.Attempts)-1] {
			if a.StatusCode != 0 || a.Error == "" {
				t.Errorf("delivery %s: attempt %+v before the receiver was up, want a network error", d.ID, a)
			}
		}
	}
	if len(rcv.byEvent) != events || rcv.bad != 0 {
		t.Errorf("received %d events (%d refused), want %d", len(rcv.byEvent), rcv.bad, events)
	}
	rcv.mu.Unlock()
	t.Logf("%d attempts in all", totalAttempts(ds))

	// The CLI redelivers one.
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"webhook", "redeliver", "--server", p.url, "--token", "sya_test_admin", "ops", ds[0].ID}, &out, &errOut); err != nil {
		t.Fatalf("webhook redeliver: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "redelivering event "+ds[0].EventID) {
		t.Errorf("webhook redeliver printed %q", out.String())
	}
	again := p.waitDeliveries("redelivered", allIn(events+1, "DELIVERED"))[0]
	rcv.mu.Lock()
	if again.RedeliveryOf != ds[0].ID || rcv.byDelivery[again.ID] != 1 || rcv.byEvent[ds[0].EventID] != 2 {
		t.Errorf("redelivery %+v received %d times, its event %d times; want a new delivery of %s received once",
			again, rcv.byDelivery[again.ID], rcv.byEvent[ds[0].EventID], ds[0].ID)
	}
	rcv.mu.Unlock()
	out.Reset()
	if err := run(context.Background(), []string{"webhook", "deliveries", "--server", p.url, "--token", "sya_test_admin", "--limit", "1", "ops"}, &out, &errOut); err != nil {
		t.Fatalf("webhook deliveries: %v\n%s", err, errOut.String())
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[1], again.ID) || !strings.Contains(lines[1], "DELIVERED") || !strings.Contains(lines[1], ds[0].ID) {
		t.Errorf("webhook deliveries printed\n%s\nwant the redelivery, delivered", out.String())
	}
	p.stop(syscall.SIGTERM)

	// The secret is stored encrypted with the key created beside the
	// database; another key is refused.
	db := filepath.Join(dir, "s.db")
	if fi, err := os.Stat(db + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v; want it beside the database, mode 0600", fi, err)
	}
	if data, err := os.ReadFile(db); err != nil || bytes.Contains(data, []byte(webhookTestSecret)) {
		t.Errorf("the database file holds the webhook secret in plain text (%v)", err)
	}
	other := filepath.Join(dir, "other.key")
	if err := domain.CreateSecretKeyFile(other); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, keyFile, want string }{
		{"another key", other, "projects/default/webhooks/ops: secret key: its secret is encrypted with key"},
		{"a missing key file", filepath.Join(dir, "missing.key"), "--secret-key-file: secret key file: open"},
	}
	for _, tc := range cases {
		var out bytes.Buffer
		err := run(context.Background(), []string{"serve", "--db", db, "--secret-key-file", tc.keyFile, "--http-addr", freeAddr(t), "--grpc-addr", freeAddr(t)}, &out, &out)
		if !errors.Is(err, domain.ErrSecretKey) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve with %s = %v, want a secret key error: %s", tc.name, err, tc.want)
		}
	}
	// Without its key file beside it, the database is refused too, and
	// the key file serve created for it is removed again.
	if err := os.Rename(db+".key", filepath.Join(dir, "saved.key")); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run(context.Background(), []string{"serve", "--db", db, "--http-addr", freeAddr(t), "--grpc-addr", freeAddr(t)}, &out, &out)
	if !errors.Is(err, domain.ErrSecretKey) || !strings.Contains(err.Error(), "is encrypted with key") {
		t.Errorf("serve without the key file = %v, want a secret key error", err)
	}
	if _, err := os.Stat(db + ".key"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key file was left beside the database (%v)", err)
	}
}

func totalAttempts(ds []delivery) int {
	n := 0
	for _, d := range ds {
		n += len(d.Attempts)
	}
	return n
}
