package stats

import (
	"math"
	"testing"
)

// closeTo reports whether got and want differ by at most rel times the
// larger magnitude, or by at most abs.
func closeTo(got, want, rel, abs float64) bool {
	diff := math.Abs(got - want)
	return diff <= abs || diff <= rel*math.Max(math.Abs(got), math.Abs(want))
}

// Upper critical values of Student's t at 0.975 as printed (three decimals)
// in the NIST/SEMATECH e-Handbook of Statistical Methods, §1.3.6.7.2
// "Critical Values of the Student's t Distribution".
func TestStudentQuantileMatchesNISTTable(t *testing.T) {
	tests := []struct {
		df   float64
		want float64
	}{
		{1, 12.706}, {2, 4.303}, {3, 3.182}, {4, 2.776}, {5, 2.571},
		{10, 2.228}, {20, 2.086}, {30, 2.042}, {100, 1.984},
	}
	for _, tc := range tests {
		if got := studentQuantile(0.975, tc.df); !closeTo(got, tc.want, 0, 5e-4) {
			t.Errorf("studentQuantile(0.975, %v) = %v, want %v (3 decimals)", tc.df, got, tc.want)
		}
	}
}

// Full-precision 0.975 quantiles: df = 1 and 2 have closed forms
// (tan(0.475π) and 0.95/√(2·0.975·0.025)); the others were computed with
// mpmath 1.3 at 40 significant digits (findroot on betainc).
func TestStudentQuantileFullPrecision(t *testing.T) {
	tests := []struct {
		df   float64
		want float64
	}{
		{1, math.Tan(0.475 * math.Pi)},
		{1, 12.706204736174704646},
		{2, 0.95 / math.Sqrt(2*0.975*0.025)},
		{2, 4.3026527297494638523},
		{2.5, 3.5746548420036832185},
		{3, 3.1824463052837095927},
		{4, 2.7764451051977943578},
		{5, 2.5705818356363155147},
		{10, 2.2281388519862747484},
		{30, 2.04227245630123831},
		{100, 1.9839715185235522866},
		{1000, 1.962339080826408485},
		{100000, 1.9599877075346096386},
		{1e9, 1.9599639869123254686},
	}
	for _, tc := range tests {
		if got := studentQuantile(0.975, tc.df); !closeTo(got, tc.want, 1e-13, 0) {
			t.Errorf("studentQuantile(0.975, %v) = %.17g, want %.17g", tc.df, got, tc.want)
		}
	}
}

func TestStudentQuantileEdges(t *testing.T) {
	tests := []struct {
		name  string
		p, df float64
		want  float64 // NaN for undefined
	}{
		{"median is zero", 0.5, 7, 0},
		{"p below one half", 0.4, 7, math.NaN()},
		{"p of one", 1, 7, math.NaN()},
		{"zero df", 0.975, 0, math.NaN()},
		{"NaN df", 0.975, math.NaN(), math.NaN()},
		{"infinite df", 0.975, math.Inf(1), math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := studentQuantile(tc.p, tc.df)
			if math.IsNaN(tc.want) != math.IsNaN(got) || !math.IsNaN(got) && got != tc.want {
				t.Errorf("studentQuantile(%v, %v) = %v, want %v", tc.p, tc.df, got, tc.want)
			}
		})
	}
}

// The quantile inverts the two-sided tail: P(|T| ≥ q) = 0.05 for the 0.975
// quantile q, on both sides of the switch to Hill's transformation.
func TestStudentQuantileInvertsTail(t *testing.T) {
	for _, df := range []float64{0.01, 0.5, 1, 1.5, 7, 99.5, 9999, hillMinDF, 10001, 5e5, 1e15} {
		q := studentQuantile(0.975, df)
		if got := studentTwoSided(q, df); !closeTo(got, 0.05, 1e-12, 0) {
			t.Errorf("studentTwoSided(studentQuantile(0.975, %v) = %v) = %.17g, want 0.05", df, q, got)
		}
	}
}

// For df = 1 (Cauchy) P(|T| ≥ t) = (2/π)·atan(1/t), and for df = 2
// P(|T| ≥ t) = 1 − t/√(2+t²) = 2/(√(2+t²)·(√(2+t²)+t)).
func TestStudentTwoSidedClosedForms(t *testing.T) {
	for _, x := range []float64{0, 0.01, 0.5, 1, 1.96, 2.5, 10, 1e3, 1e8} {
		want1 := 2 / math.Pi * math.Atan2(1, x)
		if got := studentTwoSided(x, 1); !closeTo(got, want1, 1e-13, 0) {
			t.Errorf("studentTwoSided(%v, 1) = %.17g, want %.17g", x, got, want1)
		}
		if got := studentTwoSided(-x, 1); !closeTo(got, want1, 1e-13, 0) {
			t.Errorf("studentTwoSided(%v, 1) = %.17g, want %.17g", -x, got, want1)
		}
		r := math.Sqrt(2 + x*x)
		want2 := 2 / (r * (r + x))
		if got := studentTwoSided(x, 2); !closeTo(got, want2, 1e-13, 0) {
			t.Errorf("studentTwoSided(%v, 2) = %.17g, want %.17g", x, got, want2)
		}
	}
}

// Reference values computed with mpmath 1.3 (betainc, 40 digits).
func TestStudentTwoSidedReferenceValues(t *testing.T) {
	tests := []struct {
		t, df float64
		want  float64
	}{
		{2, 5, 0.10193947882985835625},
		{3, 10, 0.013343655022569577207},
		{10, 3, 0.0021283990584141500574},
		{0.1, 20, 0.92133994134561393422},
		{8, 77741, 1.2611950576776136596e-15},
		{50, 1000, 2.7586724123251649625e-274},
		{40, 1e6, 0}, // 1.39e-349 underflows
		{math.Inf(1), 5, 0},
	}
	for _, tc := range tests {
		if got := studentTwoSided(tc.t, tc.df); !closeTo(got, tc.want, 1e-12, 0) {
			t.Errorf("studentTwoSided(%v, %v) = %.17g, want %.17g", tc.t, tc.df, got, tc.want)
		}
	}
}

// The 0.05 upper critical values of the chi-square distribution: to full
// precision as given in the brief (qchisq(0.95, k)), and to three decimals
// as in the NIST/SEMATECH e-Handbook, §1.3.6.7.4 "Critical Values of the
// Chi-Square Distribution".
func TestChiSquareSurvivalAtCriticalValues(t *testing.T) {
	tests := []struct {
		x, k float64
		want float64
		tol  float64
	}{
		{3.841458820694124, 1, 0.05, 1e-13},
		{5.991464547107979, 2, 0.05, 1e-13},
		{7.814727903251178, 3, 0.05, 1e-13},
		{3.841, 1, 0.05, 1e-3},
		{5.991, 2, 0.05, 1e-3},
		{7.815, 3, 0.05, 1e-3},
		{9.488, 4, 0.05, 1e-3},
		{11.070, 5, 0.05, 1e-3},
	}
	for _, tc := range tests {
		if got := chiSquareSurvival(tc.x, tc.k); !closeTo(got, tc.want, tc.tol, 0) {
			t.Errorf("chiSquareSurvival(%v, %v) = %.17g, want %v", tc.x, tc.k, got, tc.want)
		}
	}
}

// For k = 2 the survival function is exp(−x/2); for k = 1 it is
// erfc(√(x/2)).
func TestChiSquareSurvivalClosedForms(t *testing.T) {
	for _, x := range []float64{0, 1e-8, 0.3, 1, 2, 3.5, 10, 50, 700} {
		if got, want := chiSquareSurvival(x, 2), math.Exp(-x/2); !closeTo(got, want, 1e-13, 0) {
			t.Errorf("chiSquareSurvival(%v, 2) = %.17g, want %.17g", x, got, want)
		}
		if got, want := chiSquareSurvival(x, 1), math.Erfc(math.Sqrt(x/2)); !closeTo(got, want, 1e-12, 0) {
			t.Errorf("chiSquareSurvival(%v, 1) = %.17g, want %.17g", x, got, want)
		}
	}
}

// Reference values computed with mpmath 1.3 (gammainc, 40 digits).
func TestChiSquareSurvivalReferenceValues(t *testing.T) {
	tests := []struct {
		x, k float64
		want float64
		rel  float64
	}{
		{10, 4, 0.04042768199451280258, 1e-13},
		{0.5, 7, 0.99944648139042496549, 1e-13},
		{100, 50, 3.4549313829848639421e-05, 1e-12},
		{20, 30, 0.91654152706533717509, 1e-13},
		{1473.0103556200281, 3, 4.228661098138411346e-319, 1e-4}, // subnormal
		{35382.40287399286, 2, 0, 0},
		{math.Inf(1), 2, 0, 0},
	}
	for _, tc := range tests {
		if got := chiSquareSurvival(tc.x, tc.k); !closeTo(got, tc.want, tc.rel, 0) {
			t.Errorf("chiSquareSurvival(%v, %v) = %.17g, want %.17g", tc.x, tc.k, got, tc.want)
		}
	}
}

// A two-sided normal p-value for z equals the chi-square survival of z² with
// one degree of freedom; the two are computed by unrelated code (math.Erfc
// and the incomplete gamma function).
func TestNormalTwoSidedAgreesWithChiSquare(t *testing.T) {
	for _, z := range []float64{0, 0.3, 1, 1.959963984540054, 3, 5.001388204008377, 8, 20} {
		if got, want := normalTwoSided(z), chiSquareSurvival(z*z, 1); !closeTo(got, want, 1e-12, 0) {
			t.Errorf("normalTwoSided(%v) = %.17g, chiSquareSurvival(z², 1) = %.17g", z, got, want)
		}
	}
}

func TestNormalQuantile(t *testing.T) {
	if got := normalQuantile(0.975); !closeTo(got, z975, 1e-15, 0) {
		t.Errorf("normalQuantile(0.975) = %.17g, want %.17g", got, z975)
	}
	if got := normalTwoSided(z975); !closeTo(got, 0.05, 1e-14, 0) {
		t.Errorf("normalTwoSided(%v) = %.17g, want 0.05", z975, got)
	}
}

// Reference values: ln B(½, ½) = ln π, ln B(a, 1) = −ln a, and values
// computed with mpmath 1.3 (log(beta), 40 digits) on every branch.
func TestLnBeta(t *testing.T) {
	tests := []struct {
		a, b float64
		want float64
	}{
		{0.5, 0.5, math.Log(math.Pi)},
		{7, 1, -math.Log(7)},
		{1, 250, -math.Log(250)},
		{3.5, 12.25, -7.899401290669235580989847},
		{10, 20, -19.11532729988704536264204},
		{38870.5, 0.5, -4.711627284846131700756753},
		{1e6, 0.5, -6.335390211057436964987469},
	}
	for _, tc := range tests {
		if got := lnBeta(tc.a, tc.b); !closeTo(got, tc.want, 1e-14, 0) {
			t.Errorf("lnBeta(%v, %v) = %.17g, want %.17g", tc.a, tc.b, got, tc.want)
		}
		if got := lnBeta(tc.b, tc.a); !closeTo(got, tc.want, 1e-14, 0) {
			t.Errorf("lnBeta(%v, %v) = %.17g, want %.17g", tc.b, tc.a, got, tc.want)
		}
	}
}

// I_x(a, b) = 1 − I_{1−x}(b, a), and I_x(a, 1) = x^a.
func TestRegIncBetaIdentities(t *testing.T) {
	for _, x := range []float64{0, 0.001, 0.2, 0.5, 0.77, 0.999, 1} {
		for _, ab := range [][2]float64{{0.5, 0.5}, {2, 3}, {0.5, 40}, {150, 0.5}, {30, 45}} {
			a, b := ab[0], ab[1]
			got := regIncBeta(a, b, x, 1-x) + regIncBeta(b, a, 1-x, x)
			if !closeTo(got, 1, 1e-13, 0) {
				t.Errorf("I_%v(%v, %v) + I_%v(%v, %v) = %.17g, want 1", x, a, b, 1-x, b, a, got)
			}
		}
		if got, want := regIncBeta(3, 1, x, 1-x), x*x*x; !closeTo(got, want, 1e-13, 1e-300) {
			t.Errorf("I_%v(3, 1) = %.17g, want %.17g", x, got, want)
		}
	}
}

func TestBrent(t *testing.T) {
	tests := []struct {
		name   string
		f      func(float64) float64
		lo, hi float64
		want   float64 // NaN when there is no bracketed root
	}{
		// Wallis's equation x³ − 2x − 5 = 0, the classic test of Brent (1973)
		// and of Numerical Recipes.
		{"Wallis", func(x float64) float64 { return x*x*x - 2*x - 5 }, 2, 3, 2.0945514815423265},
		// The Dottie number, the fixed point of cos.
		{"cos x = x", func(x float64) float64 { return math.Cos(x) - x }, 0, 1, 0.7390851332151607},
		{"root at an end", func(x float64) float64 { return x - 1 }, 1, 2, 1},
		{"no sign change", func(x float64) float64 { return x*x + 1 }, -1, 1, math.NaN()},
		{"NaN inside", func(x float64) float64 {
			if x != 0 && x != 1 {
				return math.NaN()
			}
			return x - 0.5
		}, 0, 1, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := brent(tc.f, tc.lo, tc.hi, tc.f(tc.lo), tc.f(tc.hi))
			if math.IsNaN(tc.want) != math.IsNaN(got) || !math.IsNaN(got) && !closeTo(got, tc.want, 4e-16, 0) {
				t.Errorf("brent(%s) = %.17g, want %.17g", tc.name, got, tc.want)
			}
		})
	}
}
