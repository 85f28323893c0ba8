package eval

import (
	"math"
	"math/bits"
)

// instant is a point in time for the before and after operators, exact to
// 10^-18 s: the whole Unix seconds (rounded down), the fraction of a second
// in units of 10^-18 s (truncated), and whether anything was truncated, so
// that a value with more digits compares above its truncation.
type instant struct {
	sec    int64
	frac   uint64
	sticky bool
}

// fracUnits is the number of fraction units in a second.
const fracUnits = 1_000_000_000_000_000_000

// compareInstants orders a and b: -1, 0 or +1.
func compareInstants(a, b instant) int {
	switch {
	case a.sec != b.sec:
		return cmpOrder(a.sec < b.sec)
	case a.frac != b.frac:
		return cmpOrder(a.frac < b.frac)
	case a.sticky != b.sticky:
		return cmpOrder(b.sticky)
	}
	return 0
}

func cmpOrder(less bool) int {
	if less {
		return -1
	}
	return 1
}

// instantFromSeconds converts a number of Unix seconds, exactly. Values that
// are not finite or whose magnitude reaches 2^62 are not instants.
func instantFromSeconds(x float64) (instant, bool) {
	if math.IsNaN(x) || math.Abs(x) >= 1<<62 {
		return instant{}, false
	}
	whole, fraction := math.Modf(math.Abs(x)) // exact for a non-negative value
	in := instant{sec: int64(whole)}
	in.frac, in.sticky = binaryFraction(fraction)
	if x >= 0 || (in.frac == 0 && !in.sticky) {
		if x < 0 {
			in.sec = -in.sec
		}
		return in, true
	}
	// -(s + f) = (-s - 1) + (1 - f), and 1 - f truncates one unit lower
	// whenever f was truncated.
	in.sec = -in.sec - 1
	in.frac = fracUnits - in.frac
	if in.sticky {
		in.frac--
	}
	return in, true
}

// binaryFraction converts f in [0, 1) to 10^-18 s units, truncating, and
// reports whether anything was cut off.
func binaryFraction(f float64) (units uint64, sticky bool) {
	if f == 0 {
		return 0, false
	}
	mant, exp := math.Frexp(f)         // f = mant × 2^exp, mant in [0.5, 1), exp ≤ 0
	m := uint64(math.Ldexp(mant, 53))  // f = m × 2^-q
	q := uint(53 - exp)                // q ≥ 53
	hi, lo := bits.Mul64(m, fracUnits) // m × 10^18 as 128 bits
	switch {
	case q >= 128:
		return 0, true
	case q >= 64:
		return hi >> (q - 64), hi&(1<<(q-64)-1) != 0 || lo != 0
	default:
		return hi<<(64-q) | lo>>q, lo&(1<<q-1) != 0
	}
}

// parseInstant parses an RFC 3339 date-time as DESIGN §3 accepts it:
// YYYY-MM-DDTHH:MM:SS with an optional fraction of any length, then Z or a
// ±HH:MM offset; T and Z upper-case. It does not allocate.
func parseInstant(s string) (instant, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return instant{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	second, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || second > 59 {
		return instant{}, false
	}
	var in instant
	rest := s[19:]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && isDigit(rest[n]) {
			d := uint64(rest[n] - '0')
			if n <= 18 {
				in.frac = in.frac*10 + d
			} else if d != 0 {
				in.sticky = true
			}
			n++
		}
		if n == 1 {
			return instant{}, false
		}
		for i := n; i <= 18; i++ {
			in.frac *= 10
		}
		rest = rest[n:]
	}
	var offset int64
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okh := digits(rest[1:3])
		om, okm := digits(rest[4:6])
		if !okh || !okm || oh > 23 || om > 59 {
			return instant{}, false
		}
		offset = int64(oh*3600 + om*60)
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return instant{}, false
	}
	in.sec = daysFromCivil(int64(year), int64(month), int64(day))*86400 +
		int64(hour*3600+minute*60+second) - offset
	return in, true
}

// digits parses a fixed-width run of decimal digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// proleptic Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
