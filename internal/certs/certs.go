// Package certs builds the TLS configurations of Switchyard's listeners and
// clients from PEM files: a server certificate that is re-read when its
// files change (no restart), an optional client CA for mutual TLS, and a
// client side that trusts a CA and may present a certificate.
package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
)

// ServerFiles names the PEM files of a TLS listener.
type ServerFiles struct {
	// Cert and Key are the server certificate (with its chain) and its
	// private key; both are required.
	Cert string
	Key  string
	// ClientCA, if set, is the CA bundle that client certificates must
	// chain to: the listener then requires and verifies a client
	// certificate (mutual TLS).
	ClientCA string
}

// Server returns a TLS configuration for a listener that serves gRPC and
// HTTP/1.1 and HTTP/2 (ALPN h2, http/1.1), TLS 1.2 or later. Its
// certificate comes from a Reloader, so a renewed certificate written over
// the files is served to new connections without a restart. It fails when
// a file is missing or does not parse, naming the file.
func Server(f ServerFiles) (*tls.Config, error) {
	if f.Cert == "" || f.Key == "" {
		return nil, errors.New("a TLS certificate needs both a certificate and a key file")
	}
	r, err := NewReloader(f.Cert, f.Key)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.GetCertificate,
	}
	if f.ClientCA != "" {
		pool, err := loadPool(f.ClientCA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientFiles names the PEM files of a client.
type ClientFiles struct {
	// CA, if set, is the CA bundle the server's certificate must chain to;
	// empty means the system's roots.
	CA string
	// Cert and Key, if set (both or neither), are the client certificate
	// presented to a server that asks for one (mutual TLS). They are
	// re-read when the files change.
	Cert string
	Key  string
}

// Client returns a TLS configuration for connecting to a Switchyard
// server, TLS 1.2 or later. It fails when a file is missing or does not
// parse, or when only one of Cert and Key is set.
func Client(f ClientFiles) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CA != "" {
		pool, err := loadPool(f.CA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	switch {
	case f.Cert != "" && f.Key != "":
		r, err := NewReloader(f.Cert, f.Key)
		if err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = r.GetClientCertificate
	case f.Cert != "" || f.Key != "":
		return nil, errors.New("a TLS client certificate needs both a certificate and a key file")
	}
	return cfg, nil
}

// loadPool reads a PEM bundle of CA certificates.
func loadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA bundle %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// Reloader holds a certificate and its key read from two PEM files and
// reads them again when either file changes (another file renamed over it,
// or a new modification time or size). It is safe for concurrent use.
type Reloader struct {
	certFile, keyFile string

	mu       sync.Mutex
	certStat os.FileInfo
	keyStat  os.FileInfo
	certPEM  []byte
	keyPEM   []byte
	current  *tls.Certificate
}

// NewReloader reads the certificate and key; it fails when they cannot be
// read or do not form a pair.
func NewReloader(certFile, keyFile string) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile}
	if _, err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// Certificate returns the certificate, read again first when either file
// has changed since the last read; an unchanged pair costs two stat calls. When the files cannot be read or do not
// form a pair (a renewal half written), it returns the last good
// certificate and the error, so that the caller may go on with it.
func (r *Reloader) Certificate() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.load()
}

// GetCertificate is Certificate for tls.Config.GetCertificate; it answers
// every handshake, even while the files are being replaced.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c, _ := r.Certificate()
	return c, nil
}

// GetClientCertificate is Certificate for
// tls.Config.GetClientCertificate.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	c, _ := r.Certificate()
	return c, nil
}

// load reads the files and parses them when they differ from the last
// read. The caller holds r.mu (or is NewReloader).
func (r *Reloader) load() (*tls.Certificate, error) {
	certStat, certErr := os.Stat(r.certFile)
	keyStat, keyErr := os.Stat(r.keyFile)
	if certErr == nil && keyErr == nil && r.current != nil && unchanged(r.certStat, certStat) && unchanged(r.keyStat, keyStat) {
		return r.current, nil
	}
	certPEM, err := os.ReadFile(r.certFile)
	if err != nil {
		return r.current, fmt.Errorf("read TLS certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(r.keyFile)
	if err != nil {
		return r.current, fmt.Errorf("read TLS key: %w", err)
	}
	if r.current != nil && bytes.Equal(certPEM, r.certPEM) && bytes.Equal(keyPEM, r.keyPEM) {
		r.certStat, r.keyStat = certStat, keyStat // touched, not changed
		return r.current, nil
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return r.current, fmt.Errorf("TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	r.certStat, r.keyStat, r.certPEM, r.keyPEM, r.current = certStat, keyStat, certPEM, keyPEM, &c
	return r.current, nil
}

// unchanged reports whether a file's stat b describes the same file and
// content as an earlier stat a (nil when the file could not be read).
func unchanged(a, b os.FileInfo) bool {
	return a != nil && os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}
