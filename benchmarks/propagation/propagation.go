package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// result is what the clients process reports.
type result struct {
	Streams int     `json:"streams"`
	Connect float64 `json:"connect_s"` // until every stream was ready
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
	Missed  int     `json:"missed"` // streams that did not apply the write in time
}

// memory is the server process's memory at one moment.
type memory struct {
	heap       uint64
	stacks     uint64
	goroutines int
	rss        uint64 // resident set size; 0 where /proc is missing
}

// measureMemory collects garbage a few times first: each collection may
// halve the stack of an idle goroutine, as it would in a long-running
// server.
func measureMemory() memory {
	for range 6 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memory{heap: m.HeapAlloc, stacks: m.StackInuse, goroutines: runtime.NumGoroutine(), rss: residentBytes("self")}
}

// residentBytes is the resident set size of process pid ("self": this
// one), from /proc/{pid}/status; 0 when it cannot be read.
func residentBytes(pid string) uint64 {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kib << 10
		}
	}
	return 0
}

// writeProfiles writes this process's heap and goroutine profiles into
// dir (heap.pprof, goroutine.pprof).
func writeProfiles(dir string) error {
	for _, name := range []string{"heap", "goroutine"} {
		f, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err != nil {
			return err
		}
		err = pprof.Lookup(name).WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write the %s profile: %w", name, err)
		}
	}
	return nil
}

// runPropagation opens the streams in a child process, measures the
// server's memory per idle stream, and has the child time one write.
func runPropagation(ctx context.Context, c config) error {
	t := &target{grpcAddr: c.grpcAddr, httpURL: c.httpURL, adminToken: c.adminToken, sdkKey: c.sdkKey}
	inProcess := c.grpcAddr == ""
	if inProcess {
		var err error
		if t, err = startServer(ctx); err != nil {
			return err
		}
		defer t.stop()
	}
	if err := t.ensureFlag(ctx, c.flag, false); err != nil {
		return err
	}
	if c.target == "relay" {
		var err error
		if t, err = startRelay(ctx, t); err != nil {
			return err
		}
		defer t.stop()
	}
	before := measureMemory()
	var rssBefore uint64
	if c.pid != "" {
		rssBefore = residentBytes(c.pid)
	}

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.CommandContext(ctx, exe, "-role=clients", "-grpc", t.grpcAddr, "-http", t.httpURL,
		"-admin", t.adminToken, "-sdk-key", t.sdkKey, "-streams", strconv.Itoa(c.streams),
		"-conns", strconv.Itoa(c.conns), "-flag", c.flag, "-timeout", c.timeout.String())
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return fmt.Errorf("start the clients process: %w", err)
	}
	defer child.Wait()
	defer stdin.Close()
	lines := bufio.NewScanner(stdout)
	next := func(prefix string) (string, error) {
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return rest, nil
			}
			fmt.Println(lines.Text())
		}
		if err := lines.Err(); err != nil {
			return "", err
		}
		return "", errors.New("the clients process ended early")
	}

	if _, err := next("ready"); err != nil {
		return err
	}
	fmt.Printf("streams: %d (%s) on the %s\n", c.streams, connsLabel(c), c.target)
	if c.pid != "" {
		if after := residentBytes(c.pid); after > 0 && rssBefore > 0 {
			fmt.Printf("server RSS per idle stream (pid %s): %.1f KiB\n", c.pid, (float64(after)-float64(rssBefore))/float64(c.streams)/1024)
		}
	}
	if inProcess {
		after := measureMemory()
		n := float64(c.streams)
		heap := (float64(after.heap) - float64(before.heap)) / n
		stacks := (float64(after.stacks) - float64(before.stacks)) / n
		fmt.Printf("server memory per idle stream: %.1f KiB heap + %.1f KiB goroutine stacks = %.1f KiB (%.2f goroutines per stream)\n",
			heap/1024, stacks/1024, (heap+stacks)/1024, float64(after.goroutines-before.goroutines)/n)
		if after.rss > 0 && before.rss > 0 {
			fmt.Printf("server RSS per idle stream: %.1f KiB\n", (float64(after.rss)-float64(before.rss))/n/1024)
		}
		if c.profile != "" {
			if err := writeProfiles(c.profile); err != nil {
				return err
			}
		}
	}
	if _, err := fmt.Fprintln(stdin, "go"); err != nil {
		return err
	}
	line, err := next("result ")
	if err != nil {
		return err
	}
	var r result
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return err
	}
	fmt.Printf("all streams ready after %.1f s\n", r.Connect)
	fmt.Printf("propagation of one REST write to %d streams: p50 %.1f ms, p99 %.1f ms, max %.1f ms", r.Streams, r.P50, r.P99, r.Max)
	if r.Missed > 0 {
		fmt.Printf(", %d streams missed it", r.Missed)
	}
	fmt.Println()
	stdin.Close()
	return child.Wait()
}

func connsLabel(c config) string {
	if c.conns <= 0 || c.conns >= c.streams {
		return "one gRPC connection each"
	}
	return fmt.Sprintf("over %d shared gRPC connections", c.conns)
}

// percentile returns the p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
