package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childEnv, set to 1 in the environment of the test binary, makes TestMain
// run the switchyard command of the arguments (startChild).
const childEnv = "SWITCHYARD_TEST_RUN_COMMAND"

// child is 'switchyard serve' running as a child process: the test
// binary run again with childEnv set, no separate build. It listens on
// 127.0.0.1 only, and dies with the test (killed at its end, and by the
// kernel if the test binary dies first, on Linux).
type child struct {
	t         *testing.T
	name      string
	args      []string
	url, grpc string
	out       *syncBuffer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has ended
}

// startChild starts 'switchyard serve args…' as a child process on
// free loopback ports and waits until it is ready. Its output goes to the
// test log if the test fails.
func startChild(t *testing.T, name string, args ...string) *child {
	t.Helper()
	p := &child{t: t, name: name, out: &syncBuffer{}}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("output of %s:\n%s", p.name, tail(p.out.String(), 16<<10))
		}
	})
	var err error
	for range 3 { // the free ports may be taken meanwhile
		httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
		p.url, p.grpc = "http://"+httpAddr, grpcAddr
		p.args = append([]string{"serve", "--http-addr", httpAddr, "--grpc-addr", grpcAddr}, args...)
		if err = p.start(); err == nil {
			return p
		}
	}
	t.Fatalf("start %s: %v", name, err)
	return nil
}

// start runs the process (again, with the same arguments and ports) and
// waits until it answers /readyz, it ends, or a minute has passed.
func (p *child) start() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, p.args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = childAttr()
	fmt.Fprintf(p.out, "--- start %s\n", strings.Join(p.args, " "))
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited: %v", p.name, cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
	}
	p.kill()
	return errors.New(p.name + " not ready after a minute")
}

// kill sends SIGKILL (kill -9) and waits until the process has ended. A
// process already ended is left alone.
func (p *child) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// running reports whether the process has not ended.
func (p *child) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.exited:
		return false
	default:
		return p.cmd != nil
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
