package etcdstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// probeTLS connects to each https endpoint with config as Open's client
// does, and returns why the first one refused the connection: the
// server's certificate that config does not trust, or the client
// certificate the server does not take. etcd's client only says its
// first request timed out. It returns nil when every endpoint accepts
// (or does not answer within ctx).
func probeTLS(ctx context.Context, endpoints []string, config *tls.Config) error {
	for _, ep := range endpoints {
		u, err := url.Parse(ep)
		if err != nil || u.Scheme != "https" {
			continue
		}
		if err := probe(ctx, u.Host, config); err != nil {
			return fmt.Errorf("TLS with %s: %w", u.Host, err)
		}
	}
	return nil
}

func probe(ctx context.Context, host string, config *tls.Config) error {
	c := config.Clone()
	if c.ServerName == "" {
		c.ServerName, _, _ = net.SplitHostPort(host)
	}
	c.NextProtos = []string{"h2"}
	conn, err := (&tls.Dialer{Config: c}).DialContext(ctx, "tcp", host)
	if err != nil {
		var nerr net.Error
		if errors.As(err, &nerr) && nerr.Timeout() || ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer conn.Close()
	// With TLS 1.3 a server refuses the client's certificate after the
	// handshake: the refusal is the first thing read. A server that
	// accepts speaks HTTP/2 first (its settings).
	conn.SetReadDeadline(time.Now().Add(time.Second))
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		var nerr net.Error
		if errors.As(err, &nerr) && nerr.Timeout() {
			return nil
		}
		return err
	}
	return nil
}
