package server

import (
	"context"
	"errors"
	"net"
	"sync"
)

// pipeListener is an in-process net.Listener: the REST gateway dials the
// gRPC server through it, so every REST call passes the same interceptors
// as a gRPC call, and the interceptors can tell gateway calls (whose peer
// address the gateway vouches for) from direct ones.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// gatewayAddr is the address of the gateway's side of the pipe.
type gatewayAddr struct{}

func (gatewayAddr) Network() string { return "pipe" }
func (gatewayAddr) String() string  { return "gateway" }

// pipeConn reports gatewayAddr on both ends.
type pipeConn struct{ net.Conn }

func (pipeConn) LocalAddr() net.Addr  { return gatewayAddr{} }
func (pipeConn) RemoteAddr() net.Addr { return gatewayAddr{} }

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return gatewayAddr{} }

// DialContext connects to the listener.
func (l *pipeListener) DialContext(ctx context.Context, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- pipeConn{server}:
		return pipeConn{client}, nil
	case <-l.done:
		return nil, errors.New("gateway pipe closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
