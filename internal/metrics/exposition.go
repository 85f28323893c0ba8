package metrics

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// Type is a metric family's type.
type Type string

// The metric types this package writes.
const (
	TypeCounter Type = "counter"
	TypeGauge   Type = "gauge"
)

// Label is one label of a sample.
type Label struct {
	Name, Value string
}

// Writer writes the text exposition format: families, each a HELP and a
// TYPE line followed by its samples. Names are the caller's constants and
// are written as they are; label values and help texts are escaped. The
// first write error is kept, and later writes do nothing.
type Writer struct {
	w   *bufio.Writer
	err error
}

// NewWriter returns a Writer to w. Call Flush when done.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriter(w)} }

// Family starts a metric family.
func (w *Writer) Family(name, help string, typ Type) {
	w.write("# HELP ", name, " ", escapeHelp(help), "\n# TYPE ", name, " ", string(typ), "\n")
}

// Sample writes one sample of the current family.
func (w *Writer) Sample(name string, value float64, labels ...Label) {
	w.write(name)
	for i, l := range labels {
		sep := ","
		if i == 0 {
			sep = "{"
		}
		w.write(sep, l.Name, `="`, escapeLabel(l.Value), `"`)
	}
	if len(labels) > 0 {
		w.write("}")
	}
	w.write(" ", FormatValue(value), "\n")
}

// Flush writes what is buffered and returns the first error of any write.
func (w *Writer) Flush() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

func (w *Writer) write(parts ...string) {
	for _, p := range parts {
		if w.err != nil {
			return
		}
		_, w.err = w.w.WriteString(p)
	}
}

// FormatValue formats a sample value: integers without a fraction or
// exponent up to 2^53, other numbers in Go's shortest form, and +Inf,
// -Inf and NaN as the format spells them.
func FormatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	case v == math.Trunc(v) && math.Abs(v) <= 1<<53:
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func escapeHelp(s string) string { return helpEscaper.Replace(s) }
