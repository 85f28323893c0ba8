package benchmarks

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/switchyard/switchyard/server/servertest"
)

// bigList is the size of the segment the key-list benchmarks upload.
const bigList = 1_000_000

// keyBody returns n keys with a prefix, one per line.
func keyBody(prefix string, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "%s%07d\n", prefix, i)
	}
	return b.Bytes()
}

// putKeys replaces the include list of segment big through REST.
func putKeys(b *testing.B, srv *servertest.Server, body []byte) {
	b.Helper()
	req, err := http.NewRequest("PUT", srv.HTTPURL+"/api/v1/projects/default/segments/big/keys/include", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Creds.AdminToken)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("PUT keys = %d", resp.StatusCode)
	}
}

// startWithSegment starts a server with an empty segment big that a flag
// targets.
func startWithSegment(b *testing.B) *servertest.Server {
	srv := servertest.Start(b, servertest.Options{Path: filepath.Join(b.TempDir(), "switchyard.db")})
	srv.Admin(b, "POST", "/api/v1/projects/default/segments", `{"key":"big"}`)
	srv.Admin(b, "POST", "/api/v1/projects/default/flags", `{"key":"big-feature","type":"bool",
		"environments":{"production":{"enabled":true,"rules":[{"id":"big","segments":["big"],"serve":{"variant":"on"}}],"default":{"variant":"off"}}}}`)
	return srv
}

// BenchmarkSegmentKeysUpload measures a replace of a 1,000,000-key include
// list (14.9 MB of keys) through REST and through the CLI binary; one
// iteration is one whole upload, applied and published. The iterations
// alternate two key sets, so each one replaces every key.
func BenchmarkSegmentKeysUpload(b *testing.B) {
	bodies := [2][]byte{keyBody("user-a-", bigList), keyBody("user-b-", bigList)}
	b.Run("REST", func(b *testing.B) {
		srv := startWithSegment(b)
		b.SetBytes(int64(len(bodies[0])))
		b.ResetTimer()
		for i := range b.N {
			putKeys(b, srv, bodies[i%2])
		}
	})
	b.Run("CLI", func(b *testing.B) {
		dir := b.TempDir()
		bin := filepath.Join(dir, "switchyard")
		if out, err := exec.Command("go", "build", "-o", bin, "../cmd/switchyard").CombinedOutput(); err != nil {
			b.Fatalf("build the CLI: %v\n%s", err, out)
		}
		files := [2]string{filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")}
		for i, f := range files {
			if err := os.WriteFile(f, bodies[i], 0o600); err != nil {
				b.Fatal(err)
			}
		}
		srv := startWithSegment(b)
		b.SetBytes(int64(len(bodies[0])))
		b.ResetTimer()
		for i := range b.N {
			cmd := exec.Command(bin, "segment", "keys", "replace", "big", files[i%2],
				"--server", srv.HTTPURL, "--token", srv.Creds.AdminToken)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("switchyard segment keys replace: %v\n%s", err, out)
			}
		}
	})
}

// BenchmarkFlagWriteBesideBigSegment measures one flag write through REST
// (a description change: validate, commit, compile, publish) in a project
// without and with a 1,000,000-key segment.
func BenchmarkFlagWriteBesideBigSegment(b *testing.B) {
	for _, n := range []int{0, bigList} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			srv := startWithSegment(b)
			if n > 0 {
				putKeys(b, srv, keyBody("user-", n))
			}
			b.ResetTimer()
			for i := range b.N {
				srv.Admin(b, "PATCH", "/api/v1/projects/default/flags/big-feature?update_mask=description",
					fmt.Sprintf(`{"description":"write %d"}`, i))
			}
		})
	}
}
