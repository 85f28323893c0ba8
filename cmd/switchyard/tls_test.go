package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/switchyard/switchyard/internal/certs"
	"github.com/switchyard/switchyard/internal/certs/certstest"
	"github.com/switchyard/switchyard/sdk"
)

// tlsServer is 'switchyard serve' with TLS and mutual TLS on both
// listeners, the demo document and a known SDK key.
type tlsServer struct {
	ca       *certstest.CA
	cert     certstest.Issued // the server's
	client   certstest.Issued // a client certificate the server accepts
	url      string
	grpcAddr string
}

const tlsTestSDKKey = "sys_test_sdk_key"

func startTLSServer(t *testing.T) *tlsServer {
	t.Helper()
	s := &tlsServer{ca: certstest.NewCA(t)}
	s.cert = s.ca.Server(t, "server")
	s.client = s.ca.Client(t, "operator")
	s.url, s.grpcAddr, _ = serveWith(t, s.httpClient(t, true), filepath.Join(t.TempDir(), "s.db"),
		"--tls-cert", s.cert.CertFile, "--tls-key", s.cert.KeyFile, "--tls-client-ca", s.ca.CertFile,
		"--demo", "--bootstrap-sdk-key", tlsTestSDKKey)
	return s
}

// tlsConfig trusts the test CA and, with clientCert, presents the client
// certificate.
func (s *tlsServer) tlsConfig(t *testing.T, clientCert bool) *tls.Config {
	t.Helper()
	files := certs.ClientFiles{CA: s.ca.CertFile}
	if clientCert {
		files.Cert, files.Key = s.client.CertFile, s.client.KeyFile
	}
	cfg, err := certs.Client(files)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (s *tlsServer) httpClient(t *testing.T, clientCert bool) *http.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = s.tlsConfig(t, clientCert)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func TestServeTLSAnswersRESTAndOFREP(t *testing.T) {
	s := startTLSServer(t)
	client := s.httpClient(t, true)
	tests := []struct {
		name, method, path, key, body string
	}{
		{"REST", http.MethodGet, "/api/v1/projects", "sya_test_admin", ""},
		{"OFREP", http.MethodPost, "/ofrep/v1/evaluate/flags/checkout-api-v2", tlsTestSDKKey, `{"context":{"targetingKey":"u1"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, s.url+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tc.key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.TLS == nil {
				t.Errorf("%s %s = %d (TLS %v), want 200 over TLS", tc.method, tc.path, resp.StatusCode, resp.TLS != nil)
			}
		})
	}
}

func TestServeTLSRefusesClientWithoutCertificate(t *testing.T) {
	s := startTLSServer(t)
	resp, err := s.httpClient(t, false).Get(s.url + "/readyz")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET /readyz without a client certificate = %d, want a refused handshake", resp.StatusCode)
	}
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(s.tlsConfig(t, false))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := grpc_health_v1.NewHealthClient(conn).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{}); err == nil {
		t.Error("gRPC health check without a client certificate succeeded, want a refused handshake")
	}
}

func TestServeTLSAnswersPlainHTTPWith400(t *testing.T) {
	s := startTLSServer(t)
	resp, err := http.Get("http://" + strings.TrimPrefix(s.url, "https://") + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port = %d, want 400", resp.StatusCode)
	}
}

func TestServeTLSGRPCHealth(t *testing.T) {
	s := startTLSServer(t)
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(s.tlsConfig(t, true))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := grpc_health_v1.NewHealthClient(conn).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Errorf("gRPC health over mutual TLS = %v, %v; want SERVING", resp.GetStatus(), err)
	}
}

func TestServeTLSReloadsRenewedCertificate(t *testing.T) {
	s := startTLSServer(t)
	serial := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), s.tlsConfig(t, true))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	if got := serial(); got != s.cert.Serial.String() {
		t.Fatalf("serial before renewal = %s, want %s", got, s.cert.Serial)
	}
	renewed := s.ca.Server(t, "server") // same files
	if got := serial(); got != renewed.Serial.String() {
		t.Errorf("serial after renewal = %s, want %s (the new certificate, without a restart)", got, renewed.Serial)
	}
}

func TestSDKSyncsOverMutualTLS(t *testing.T) {
	s := startTLSServer(t)
	cfg, err := sdk.TLSFiles(s.ca.CertFile, s.client.CertFile, s.client.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	client, err := sdk.New(t.Context(), sdk.Config{Address: s.grpcAddr, SDKKey: tlsTestSDKKey, TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := client.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady over mutual TLS: %v", err)
	}
	if d := client.BoolDetail("checkout-api-v2", sdk.NewContext("u1"), false); !d.Value || d.Reason != "STATIC" {
		t.Errorf("BoolDetail(checkout-api-v2) = %v %s, want true STATIC", d.Value, d.Reason)
	}
}

func TestCLIOverMutualTLS(t *testing.T) {
	s := startTLSServer(t)
	tests := []struct {
		name    string
		tlsArgs []string
		ok      bool
	}{
		{"CA and client certificate", []string{"--tls-ca", s.ca.CertFile, "--tls-cert", s.client.CertFile, "--tls-key", s.client.KeyFile}, true},
		// The handshake fails; how the client sees it (an alert, a
		// broken pipe) depends on timing.
		{"no client certificate", []string{"--tls-ca", s.ca.CertFile}, false},
		{"CA not trusted", []string{"--tls-cert", s.client.CertFile, "--tls-key", s.client.KeyFile}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"export", "--server", s.url, "--token", "sya_test_admin"}, tc.tlsArgs...)
			err := run(t.Context(), args, &out, &errOut)
			if got := err == nil && strings.Contains(out.String(), "checkout-api-v2"); got != tc.ok {
				t.Errorf("export %v = %v, want success %v\n%s%s", tc.tlsArgs, err, tc.ok, out.String(), errOut.String())
			}
		})
	}
}

func TestCLIRefusesTLSFilesForPlainHTTP(t *testing.T) {
	err := run(t.Context(), []string{"export", "--server", "http://127.0.0.1:1", "--token", "t", "--tls-ca", "ca.pem"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "https://") {
		t.Errorf("export --tls-ca with an http:// server = %v, want an error asking for https://", err)
	}
}
