package certs_test

import (
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/certs"
	"github.com/switchyard/switchyard/internal/certs/certstest"
)

// serveTLS accepts TLS connections on loopback with cfg until the test
// ends; it writes one byte on each connection whose handshake succeeds.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { lis.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			if c.(*tls.Conn).Handshake() == nil {
				c.Write([]byte("k"))
			}
			c.Close()
		}
	}()
	return lis.Addr().String()
}

// handshake connects with cfg and returns the server certificate's serial.
func handshake(addr string, cfg *tls.Config) (string, error) {
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	// The server's verdict on a client certificate arrives after the
	// client's handshake (TLS 1.3): reading its byte sees it.
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		return "", err
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

func TestServerReloadsRenewedCertificate(t *testing.T) {
	ca := certstest.NewCA(t)
	first := ca.Server(t, "server")
	cfg, err := certs.Server(certs.ServerFiles{Cert: first.CertFile, Key: first.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, cfg)
	client := &tls.Config{RootCAs: ca.Pool}
	if got, err := handshake(addr, client); err != nil || got != first.Serial.String() {
		t.Fatalf("first handshake: serial %s, %v, want %s", got, err, first.Serial)
	}
	second := ca.Server(t, "server") // overwrites the same files
	if got, err := handshake(addr, client); err != nil || got != second.Serial.String() {
		t.Errorf("handshake after renewal: serial %s, %v, want %s", got, err, second.Serial)
	}
}

func TestReloaderKeepsLastGoodCertificate(t *testing.T) {
	ca := certstest.NewCA(t)
	issued := ca.Server(t, "server")
	r, err := certs.NewReloader(issued.CertFile, issued.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(issued.CertFile, []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := r.Certificate()
	if err == nil {
		t.Error("Certificate() with a broken file: no error")
	}
	if c == nil || c.Leaf.SerialNumber.Cmp(issued.Serial) != 0 {
		t.Errorf("Certificate() with a broken file = %v, want the last good one (serial %s)", c, issued.Serial)
	}
}

func TestServerMutualTLS(t *testing.T) {
	ca := certstest.NewCA(t)
	srv := ca.Server(t, "server")
	cfg, err := certs.Server(certs.ServerFiles{Cert: srv.CertFile, Key: srv.KeyFile, ClientCA: ca.CertFile})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, cfg)
	other := certstest.NewCA(t)
	tests := []struct {
		name   string
		client certs.ClientFiles
		ok     bool
	}{
		{"no client certificate", certs.ClientFiles{CA: ca.CertFile}, false},
		{"certificate of another CA", fileOf(other.Client(t, "mallory"), ca.CertFile), false},
		{"certificate of the client CA", fileOf(ca.Client(t, "ci"), ca.CertFile), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := certs.Client(tc.client)
			if err != nil {
				t.Fatal(err)
			}
			_, err = handshake(addr, cfg)
			if (err == nil) != tc.ok {
				t.Errorf("handshake = %v, want success %v", err, tc.ok)
			}
		})
	}
}

func fileOf(c certstest.Issued, ca string) certs.ClientFiles {
	return certs.ClientFiles{CA: ca, Cert: c.CertFile, Key: c.KeyFile}
}

func TestConfigRefusesBadFiles(t *testing.T) {
	ca := certstest.NewCA(t)
	srv := ca.Server(t, "server")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name string
		make func() (*tls.Config, error)
		want string
	}{
		{"server without key", func() (*tls.Config, error) { return certs.Server(certs.ServerFiles{Cert: srv.CertFile}) }, "key"},
		{"missing certificate", func() (*tls.Config, error) {
			return certs.Server(certs.ServerFiles{Cert: missing, Key: srv.KeyFile})
		}, "missing.pem"},
		{"key of another certificate", func() (*tls.Config, error) {
			return certs.Server(certs.ServerFiles{Cert: srv.CertFile, Key: ca.Client(t, "c").KeyFile})
		}, "server.pem"},
		{"client CA that is no PEM", func() (*tls.Config, error) {
			return certs.Server(certs.ServerFiles{Cert: srv.CertFile, Key: srv.KeyFile, ClientCA: srv.KeyFile})
		}, "no PEM certificate"},
		{"client certificate without key", func() (*tls.Config, error) { return certs.Client(certs.ClientFiles{Cert: srv.CertFile}) }, "key"},
		{"missing CA", func() (*tls.Config, error) { return certs.Client(certs.ClientFiles{CA: missing}) }, "missing.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.make()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("config = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// BenchmarkReloaderCertificate is the cost the reloader adds to each TLS
// handshake: reading both files and comparing them with the last read.
func BenchmarkReloaderCertificate(b *testing.B) {
	ca := certstest.NewCA(b)
	issued := ca.Server(b, "server")
	r, err := certs.NewReloader(issued.CertFile, issued.KeyFile)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Certificate(); err != nil {
			b.Fatal(err)
		}
	}
}
