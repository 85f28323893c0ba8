package metrics_test

import (
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/metrics"
)

func TestExpositionFormat(t *testing.T) {
	var b strings.Builder
	w := metrics.NewWriter(&b)
	w.Family("demo_requests_total", "Requests served.\nBy path \\ method.", metrics.TypeCounter)
	w.Sample("demo_requests_total", 3, metrics.Label{Name: "path", Value: `/a"b\c` + "\n"}, metrics.Label{Name: "method", Value: "GET"})
	w.Sample("demo_requests_total", 0)
	w.Family("demo_temperature", "A gauge.", metrics.TypeGauge)
	w.Sample("demo_temperature", -1.5)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `# HELP demo_requests_total Requests served.\nBy path \\ method.
# TYPE demo_requests_total counter
demo_requests_total{path="/a\"b\\c\n",method="GET"} 3
demo_requests_total 0
# HELP demo_temperature A gauge.
# TYPE demo_temperature gauge
demo_temperature -1.5
`
	if got := b.String(); got != want {
		t.Errorf("exposition =\n%s\nwant\n%s", got, want)
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{42, "42"},
		{-7, "-7"},
		{1 << 53, "9007199254740992"},
		{1e300, "1e+300"},
		{0.25, "0.25"},
		{math.Inf(1), "+Inf"},
		{math.Inf(-1), "-Inf"},
		{math.NaN(), "NaN"},
	}
	for _, tc := range tests {
		if got := metrics.FormatValue(tc.in); got != tc.want {
			t.Errorf("FormatValue(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCounterVecWritesSortedSamples(t *testing.T) {
	v := metrics.NewCounterVec("action", "outcome")
	v.Inc("start", "IN_PROGRESS")
	v.Inc("advance", "IN_PROGRESS")
	v.Inc("start", "IN_PROGRESS")
	var b strings.Builder
	w := metrics.NewWriter(&b)
	v.Write(w, "t_total")
	w.Flush()
	want := "t_total{action=\"advance\",outcome=\"IN_PROGRESS\"} 1\nt_total{action=\"start\",outcome=\"IN_PROGRESS\"} 2\n"
	if got := b.String(); got != want {
		t.Errorf("CounterVec.Write =\n%s\nwant\n%s", got, want)
	}
	if got := v.Value("start", "IN_PROGRESS"); got != 2 {
		t.Errorf("Value(start, IN_PROGRESS) = %d, want 2", got)
	}
}

func TestCounterCountsConcurrentIncrements(t *testing.T) {
	var c metrics.Counter
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Inc()
			}
		})
	}
	wg.Wait()
	if got := c.Value(); got != 8000 {
		t.Errorf("Value() = %d, want 8000", got)
	}
}

func TestCounterIncDoesNotAllocate(t *testing.T) {
	var c metrics.Counter
	if n := testing.AllocsPerRun(100, c.Inc); n != 0 {
		t.Errorf("Counter.Inc allocates %v times", n)
	}
}
