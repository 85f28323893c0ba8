package benchmarks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serverProcess is a `switchyard serve` child process on loopback, with
// an admin token and an SDK key of the default environment.
type serverProcess struct {
	cmd      *exec.Cmd
	url      string // of the HTTP port
	grpcAddr string
	token    string
	sdkKey   string
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServe runs bin serve over db and waits until it is ready.
func startServe(b *testing.B, bin, db string) *serverProcess {
	b.Helper()
	httpAddr := freeAddr(b)
	p := &serverProcess{url: "http://" + httpAddr, grpcAddr: freeAddr(b),
		token: "sy_admin_bench_memory_0123456789", sdkKey: "sdk_bench_memory_0123456789"}
	p.cmd = exec.Command(bin, "serve", "--db", db, "--grpc-addr", p.grpcAddr, "--http-addr", httpAddr,
		"--bootstrap-admin-token", p.token, "--bootstrap-sdk-key", p.sdkKey, "--log-level", "error")
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, os.Stderr
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.stop() })
	for range 300 { // at most 30 s
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatal("switchyard serve did not become ready")
	return nil
}

// resetPeak resets the process's peak RSS (VmHWM) to its current RSS.
func (p *serverProcess) resetPeak(b *testing.B) {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0); err != nil {
		b.Fatalf("reset the peak RSS: %v", err)
	}
}

// stop interrupts the server and waits for it.
func (p *serverProcess) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	p.cmd.Wait()
}

// do sends one admin request and fails b unless it answers 200.
func (p *serverProcess) do(b *testing.B, method, path, contentType string, body io.Reader) {
	b.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, p.url+path, body)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, msg)
	}
}

// memory returns the process's resident set and its peak (VmRSS, VmHWM)
// in MB.
func (p *serverProcess) memory(b *testing.B) (rss, peak float64) {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		switch {
		case err != nil:
		case name == "VmRSS":
			rss = kb / 1024
		case name == "VmHWM":
			peak = kb / 1024
		}
	}
	return rss, peak
}

// BenchmarkSegmentServerRSS measures the memory of a real `switchyard
// serve` process (built from ../cmd/switchyard) around a 1,000,000-key
// include list (14.9 MB of keys) uploaded through REST with a flag
// targeting the segment:
//
//   - upload-peak-MB: the process's peak RSS (VmHWM), which the upload sets;
//   - uploaded-MB: its RSS after the upload;
//   - replace-peak-MB: the peak RSS during a second upload that replaces
//     every key with another million (the peak is reset before it);
//   - loaded-MB: the RSS of a fresh process on the same database once it
//     is ready, and after a GET of the segment, a page of keys and a
//     membership check.
//
// One iteration is the whole sequence; run it with -benchtime=1x.
func BenchmarkSegmentServerRSS(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "switchyard")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/switchyard").CombinedOutput(); err != nil {
		b.Fatalf("build the CLI: %v\n%s", err, out)
	}
	body, other := keyBody("user-", bigList), keyBody("user-b-", bigList)
	for i := range b.N {
		db := filepath.Join(dir, fmt.Sprintf("switchyard-%d.db", i))
		p := startServe(b, bin, db)
		p.do(b, "POST", "/api/v1/projects/default/segments", "application/json", strings.NewReader(`{"key":"big"}`))
		p.do(b, "POST", "/api/v1/projects/default/flags", "application/json", strings.NewReader(`{"key":"big-feature","type":"bool",
			"environments":{"production":{"enabled":true,"rules":[{"id":"big","segments":["big"],"serve":{"variant":"on"}}],"default":{"variant":"off"}}}}`))
		p.do(b, "PUT", "/api/v1/projects/default/segments/big/keys/include", "text/plain", bytes.NewReader(body))
		uploaded, peak := p.memory(b)
		p.resetPeak(b)
		p.do(b, "PUT", "/api/v1/projects/default/segments/big/keys/include", "text/plain", bytes.NewReader(other))
		_, replacePeak := p.memory(b)
		p.stop()

		p = startServe(b, bin, db)
		p.do(b, "GET", "/api/v1/projects/default/segments/big", "application/json", nil)
		p.do(b, "GET", "/api/v1/projects/default/segments/big/keys/include?page_size=100", "application/json", nil)
		p.do(b, "GET", "/api/v1/projects/default/segments/big/keys/include/check?key=user-0500000", "application/json", nil)
		loaded, _ := p.memory(b)
		p.stop()
		b.ReportMetric(peak, "upload-peak-MB")
		b.ReportMetric(replacePeak, "replace-peak-MB")
		b.ReportMetric(uploaded, "uploaded-MB")
		b.ReportMetric(loaded, "loaded-MB")
	}
}
