package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/webhook"
)

// A webhook stored with a private target (as if its host resolved to a
// public address when it was created, and to loopback now: DNS
// rebinding) is refused when dialed.
func TestDialRefusesPrivateAddresses(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	cases := []struct{ name, url string }{
		{"literal loopback", rcv.URL},
		{"a name resolving to loopback", strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := startStrict(t, hookTo(tc.url, "flag.*"), webhook.Options{})
			f.flag("a")
			d := f.deliveries("ops", settled(1))[0]
			if d.State != domain.DeliveryFailed || len(d.Attempts) != 1 || !strings.Contains(d.LastError, webhook.ErrPrivateTarget.Error()) {
				t.Errorf("delivery %+v, want failed at once as a private target", d)
			}
		})
	}
	if n := len(rcv.requests()); n != 0 {
		t.Errorf("the receiver got %d requests, want none", n)
	}
}

func TestCheckURL(t *testing.T) {
	cases := []struct {
		url     string
		private bool
	}{
		{"http://127.0.0.1:8080/x", true},
		{"http://localhost/x", true},
		{"http://10.0.0.1/x", true},
		{"http://172.31.255.255/x", true},
		{"http://192.168.0.10/x", true},
		{"http://169.254.169.254/latest/meta-data/", true},
		{"http://0.0.0.0/x", true},
		{"http://0.1.2.3/x", true},
		{"http://224.0.0.251/x", true},
		{"http://[::1]/x", true},
		{"http://[::]/x", true},
		{"http://[fc00::1]/x", true},
		{"http://[fe80::1]/x", true},
		{"http://[ff02::1]/x", true},
		{"http://[::ffff:10.0.0.1]/x", true},
		{"https://93.184.215.14/x", false},
		{"https://[2606:4700::1111]/x", false},
		{"https://172.32.0.1/x", false},
	}
	strict := webhook.New(nil, nil, webhook.Options{})
	open := webhook.New(nil, nil, webhook.Options{AllowPrivate: true})
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			err := strict.CheckURL(context.Background(), tc.url)
			var te *webhook.TargetError
			if got := errors.As(err, &te) && errors.Is(err, webhook.ErrPrivateTarget); got != tc.private {
				t.Errorf("CheckURL(%q) = %v, want private %v", tc.url, err, tc.private)
			}
			if err := open.CheckURL(context.Background(), tc.url); err != nil {
				t.Errorf("CheckURL(%q) allowing private targets = %v, want nil", tc.url, err)
			}
		})
	}
}
