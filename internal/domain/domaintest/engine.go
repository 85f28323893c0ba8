package domaintest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

// EngineVariable names the engine Open puts its stores on: unset or "bolt"
// for a bbolt file at the path given, "etcd" for a key prefix named after
// it on a 3-member etcd cluster the test binary shares (started at the
// first Open, stopped by Main). The domain's and the experiments' behaviour
// tests run on both (see the Makefile's test target).
const EngineVariable = "SWITCHYARD_TEST_ENGINE"

// etcdLimit and etcdBytes are the shared cluster's --max-txn-ops and
// --max-request-bytes: behaviour tests write
// Changes of any size; staging writes too large for etcd's defaults has
// tests of its own (internal/store/etcdstore).
const (
	etcdLimit = 1 << 16
	etcdBytes = 64 << 20
)

var etcdShared struct {
	once    sync.Once
	cluster *etcdtest.Cluster
	err     error
}

// onEtcd reports whether EngineVariable asks for etcd; any other value
// than bolt, etcd or nothing fails the test.
func onEtcd(t testing.TB) bool {
	t.Helper()
	switch v := os.Getenv(EngineVariable); v {
	case "", "bolt":
		return false
	case "etcd":
		return true
	default:
		t.Fatalf("%s=%q: want bolt or etcd", EngineVariable, v)
		return false
	}
}

// openEtcd opens the domain on the shared cluster, under a prefix named
// after path: opening the same path again reopens the same records.
func openEtcd(t testing.TB, path string, opts domain.Options) *domain.Store {
	t.Helper()
	etcdShared.once.Do(func() {
		etcdShared.cluster, etcdShared.err = etcdtest.StartWith(3, etcdtest.Options{MaxTxnOps: etcdLimit, MaxRequestBytes: etcdBytes})
	})
	if etcdShared.err != nil {
		t.Fatal(etcdShared.err)
	}
	prefix := "/t" + strings.NewReplacer(":", "_", " ", "_").Replace(strings.TrimSuffix(path, "/"))
	b, err := etcdstore.Open(context.Background(), etcdstore.Options{
		Endpoints: etcdShared.cluster.Endpoints(), Prefix: prefix, MaxTxnOps: etcdLimit, MaxRequestBytes: etcdBytes,
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := domain.Open(context.Background(), b, opts)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		b.Close()
	})
	return s
}

// Main runs a package's tests and stops the etcd cluster Open started, if
// any; it returns the exit code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(domaintest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if etcdShared.cluster != nil {
		etcdShared.cluster.Close()
	}
	if os.Getenv(EngineVariable) == "etcd" && testing.Verbose() {
		fmt.Fprintln(os.Stderr, "domaintest: the stores were on etcd")
	}
	return code
}
