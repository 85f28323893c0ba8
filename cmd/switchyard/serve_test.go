package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

func TestServeRefusesBadLimits(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"negative auth failures", []string{"--auth-failures", "-1"}, nil, "--auth-failures"},
		{"no window, from the environment", nil, map[string]string{"SWITCHYARD_AUTH_FAILURE_WINDOW": "0s"}, "window"},
		{"no addresses", []string{"--auth-throttle-addresses", "0"}, nil, "max addresses"},
		{"negative stream cap", []string{"--max-streams-per-key", "-1"}, nil, "--max-streams-per-key"},
		{"unknown log format", []string{"--log-format", "xml"}, nil, "--log-format"},
		{"unknown log format, from the environment", nil, map[string]string{"SWITCHYARD_LOG_FORMAT": "yaml"}, "--log-format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			db := filepath.Join(t.TempDir(), "s.db")
			err := run(t.Context(), append([]string{"serve", "--db", db}, tc.args...), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve %v = %v, want an error about %s", tc.args, err, tc.want)
			}
		})
	}
}

func TestServeLogsJSON(t *testing.T) {
	t.Setenv("SWITCHYARD_LOG_FORMAT", "json")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logR, logW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", filepath.Join(t.TempDir(), "s.db"),
			"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, io.Discard, logW)
		logW.Close()
	}()
	// Every line up to "serving" is a JSON record; stopping before it
	// would cut the bootstrap short.
	lines := bufio.NewScanner(logR)
	for {
		if !lines.Scan() {
			t.Fatalf("serve stopped logging before serving: %v", <-done)
		}
		var rec map[string]any
		if err := json.Unmarshal(lines.Bytes(), &rec); err != nil || rec["msg"] == nil {
			t.Fatalf("log line %q is not a JSON record: %v", lines.Text(), err)
		}
		if rec["msg"] == "serving" {
			break
		}
	}
	cancel()
	go io.Copy(io.Discard, logR)
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

func TestServeGRPCReflectionSwitch(t *testing.T) {
	off := writeConfig(t, "grpc-reflection: false\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want codes.Code
	}{
		{"on by default on loopback", nil, nil, codes.OK},
		{"--grpc-reflection", []string{"--grpc-reflection"}, nil, codes.OK},
		{"--grpc-reflection=false turns it off on loopback", []string{"--grpc-reflection=false"}, nil, codes.Unimplemented},
		{"SWITCHYARD_GRPC_REFLECTION=false", nil, map[string]string{"SWITCHYARD_GRPC_REFLECTION": "false"}, codes.Unimplemented},
		{"off in the config file", []string{"--config", off}, nil, codes.Unimplemented},
		{"flag over the config file", []string{"--config", off, "--grpc-reflection=true"}, nil, codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, grpcAddr, _ := serveWith(t, http.DefaultClient, filepath.Join(t.TempDir(), "s.db"), tc.args...)
			conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(t.Context())
			if err == nil {
				err = stream.Send(&reflectionpb.ServerReflectionRequest{
					MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"}})
			}
			if err == nil {
				_, err = stream.Recv()
			}
			if got := status.Code(err); got != tc.want {
				t.Errorf("reflection with %v = %v (%v), want %v", tc.args, got, err, tc.want)
			}
		})
	}
}
