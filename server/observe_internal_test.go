package server

import (
	"net"
	"testing"
)

func TestRouteOfKeepsRawPathsOut(t *testing.T) {
	tests := []struct{ pattern, route, api string }{
		{"", "unmatched", "http"},
		{"POST /ofrep/v1/evaluate/flags/{key}", "/ofrep/v1/evaluate/flags/{key}", "ofrep"},
		{"/api/", "/api/", "rest"},
		{"GET /healthz", "/healthz", "probe"},
		{"GET /metrics", "/metrics", "probe"},
		{"GET /{$}", "/{$}", "console"},
	}
	for _, tc := range tests {
		if route, api := routeOf(tc.pattern); route != tc.route || api != tc.api {
			t.Errorf("routeOf(%q) = %q, %q, want %q, %q", tc.pattern, route, api, tc.route, tc.api)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, true},
		{&net.TCPAddr{IP: net.IPv6loopback}, true},
		{&net.TCPAddr{IP: net.IPv4zero}, false},
		{&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}, false},
		{gatewayAddr{}, false},
	}
	for _, tc := range tests {
		if got := isLoopback(tc.addr); got != tc.want {
			t.Errorf("isLoopback(%v) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}
