package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrPrivateTarget means a webhook's URL names, or its host resolves to,
// an address the server does not send to unless Options.AllowPrivate is
// set: loopback, link-local (the cloud metadata address 169.254.169.254
// among them), private (RFC 1918, fc00::/7 ULA), unspecified ("this
// network", 0.0.0.0/8) or multicast. Errors matching it are wrapped in a
// *TargetError.
var ErrPrivateTarget = errors.New("the address is loopback, link-local, private, unspecified or multicast")

// TargetError is a refused webhook target: the host and the address it
// named or resolved to.
type TargetError struct {
	Host string
	Addr netip.Addr
}

func (e *TargetError) Error() string {
	if e.Host == e.Addr.String() {
		return fmt.Sprintf("%s: %v (set --webhook-allow-private to allow it)", e.Host, ErrPrivateTarget)
	}
	return fmt.Sprintf("%s resolves to %s: %v (set --webhook-allow-private to allow it)", e.Host, e.Addr, ErrPrivateTarget)
}

func (e *TargetError) Unwrap() error { return ErrPrivateTarget }

// thisNetwork is 0.0.0.0/8, which Linux dials as the local host.
var thisNetwork = netip.MustParsePrefix("0.0.0.0/8")

// privateAddr reports whether a is an address webhooks may not reach by
// default.
func privateAddr(a netip.Addr) bool {
	a = a.Unmap()
	return !a.IsValid() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsPrivate() || a.IsUnspecified() ||
		thisNetwork.Contains(a)
}

// CheckURL refuses a webhook URL whose host is, or resolves to, an address
// ErrPrivateTarget describes, unless Options.AllowPrivate is set: it
// returns a *TargetError then. A host that does not resolve passes (the
// check at dial time still applies). raw must be a valid webhook URL
// (model.ValidateWebhook).
func (d *Dispatcher) CheckURL(ctx context.Context, raw string) error {
	if d.opts.AllowPrivate {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil // model.ValidateWebhook reports it
	}
	host := u.Hostname()
	if host == "" {
		return nil // model.ValidateWebhook reports it
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if privateAddr(a) {
			return &TargetError{Host: host, Addr: a.Unmap()}
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if privateAddr(a) {
			return &TargetError{Host: host, Addr: a.Unmap()}
		}
	}
	return nil
}

// newClient returns the client deliveries are sent with: no redirects
// followed, no proxy, and — unless allowPrivate — a dialer that refuses
// every address ErrPrivateTarget describes once the host is resolved, so
// that a name resolving elsewhere at dial time than at creation (DNS
// rebinding) is refused too.
func newClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, ErrPrivateTarget)
			}
			if privateAddr(ap.Addr()) {
				return &TargetError{Host: ap.Addr().Unmap().String(), Addr: ap.Addr().Unmap()}
			}
			return nil
		}
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
