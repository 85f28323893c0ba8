package stats

import "math"

// The distributions behind the p-values and quantiles. Every function
// returns NaN when it cannot produce a finite answer; callers turn that into
// an undefined Optional.

const (
	// epsilon is the relative precision the series and continued fractions
	// iterate to.
	epsilon = 1e-16
	// machineEpsilon is the spacing of float64 values just above 1; Brent's
	// method stops when the bracket is a few of these wide.
	machineEpsilon = 0x1p-52
	// tiny replaces a zero denominator in the modified Lentz algorithm.
	tiny = 1e-300
	// maxIterations bounds every series, continued fraction and root search.
	// The continued fractions used here converge in well under a hundred
	// steps for b = ½ and small chi-square degrees of freedom; the bound
	// only guards against pathological inputs.
	maxIterations = 10000
	// hillMinDF is the number of degrees of freedom above which Student's t
	// distribution is computed by Hill's normalizing transformation rather
	// than by the incomplete beta function.
	hillMinDF = 1e4
)

// normalTwoSided returns P(|Z| ≥ |z|) for a standard normal Z.
func normalTwoSided(z float64) float64 {
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// normalQuantile returns the p quantile of the standard normal distribution
// for 0 < p < 1.
func normalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// studentTwoSided returns P(|T| ≥ |t|) for Student's t distribution with df
// degrees of freedom, df > 0: I_x(df/2, ½) with x = df/(df + t²).
func studentTwoSided(t, df float64) float64 {
	if math.IsNaN(t) || !(df > 0) {
		return math.NaN()
	}
	if math.IsInf(t, 0) {
		return 0
	}
	if df > hillMinDF {
		return studentTwoSidedHill(t, df)
	}
	// Form x and y = 1 − x from whichever ratio is below one, so the small
	// one of the pair keeps its full precision.
	var x, y float64
	if t2 := t * t; t2 <= df {
		s := t2 / df
		x, y = 1/(1+s), s/(1+s)
	} else {
		r := df / t2
		x, y = r/(1+r), 1/(1+r)
	}
	return regIncBeta(df/2, 0.5, x, y)
}

// studentTwoSidedHill returns P(|T| ≥ |t|) for large df by the normalizing
// transformation of G. W. Hill, "Algorithm 395: Student's t-distribution",
// Communications of the ACM 13(10), 617–619 (1970). Above hillMinDF its
// relative error is below 1e-12 for every p-value that float64 can hold,
// while the continued fraction of the incomplete beta function loses
// precision in proportion to df (about 1e-12 at df = 1e5, 1e-5 at 1e12).
func studentTwoSidedHill(t, df float64) float64 {
	a := df - 0.5
	b := 48 * a * a
	z := a * math.Log1p(t*t/df)
	if z > 2000 {
		// erfc(√z/√2) < 1e-430: the p-value underflows. Checking here also
		// keeps z² far from overflow.
		return 0
	}
	z = (((((-0.4*z-3.3)*z-24)*z-85.5)/(0.8*z*z+100+b)+z+3)/b + 1) * math.Sqrt(z)
	return normalTwoSided(z)
}

// studentQuantile returns the p quantile of Student's t distribution with df
// degrees of freedom, for 0.5 ≤ p < 1 and df > 0. It solves
// studentTwoSided(t, df) = 2(1 − p) with Brent's method between the normal
// quantile, which never exceeds it, and a doubling upper bound.
func studentQuantile(p, df float64) float64 {
	if !(p >= 0.5 && p < 1) || !(df > 0) || math.IsInf(df, 1) {
		return math.NaN()
	}
	alpha := 2 * (1 - p)
	f := func(t float64) float64 { return studentTwoSided(t, df) - alpha }
	lo := normalQuantile(p)
	flo := f(lo)
	if !(flo > 0) {
		// The t quantile equals the normal one to within rounding (or the
		// tail could not be computed, and flo is NaN).
		if flo <= 0 {
			return lo
		}
		return math.NaN()
	}
	hi := 2*lo + 1
	fhi := f(hi)
	for fhi > 0 {
		hi *= 2
		if math.IsInf(hi, 0) {
			return math.NaN()
		}
		fhi = f(hi)
	}
	if math.IsNaN(fhi) {
		return math.NaN()
	}
	return brent(f, lo, hi, flo, fhi)
}

// chiSquareSurvival returns P(X ≥ x) for the chi-square distribution with k
// degrees of freedom, k > 0: the regularized upper incomplete gamma function
// Q(k/2, x/2).
func chiSquareSurvival(x, k float64) float64 {
	if math.IsNaN(x) || !(k > 0) || math.IsInf(k, 0) {
		return math.NaN()
	}
	return regGammaQ(k/2, x/2)
}

// regIncBeta returns the regularized incomplete beta function I_x(a, b) for
// a, b > 0 and 0 ≤ x ≤ 1. The caller passes y = 1 − x as well, computed
// without cancellation, because the tails of the t distribution live where
// one of the two is tiny. It follows Numerical Recipes (Press et al., 3rd ed.,
// §6.4): the continued fraction converges quickly for x < (a+1)/(a+b+2), and
// I_x(a, b) = 1 − I_y(b, a) covers the rest.
func regIncBeta(a, b, x, y float64) float64 {
	switch {
	case math.IsNaN(x) || math.IsNaN(y):
		return math.NaN()
	case x <= 0:
		return 0
	case y <= 0:
		return 1
	}
	// front = x^a·y^b / B(a, b), evaluated in logs; log1p keeps a·ln x
	// exact when x is close to 1 and a is large.
	front := math.Exp(a*logOneMinus(x, y) + b*logOneMinus(y, x) - lnBeta(a, b))
	if x < (a+1)/(a+b+2) {
		return front * betaContinuedFraction(a, b, x) / a
	}
	return 1 - front*betaContinuedFraction(b, a, y)/b
}

// logOneMinus returns ln v given v and w = 1 − v, through log1p(−w) when v
// is the larger of the two.
func logOneMinus(v, w float64) float64 {
	if v > 0.5 {
		return math.Log1p(-w)
	}
	return math.Log(v)
}

// betaContinuedFraction evaluates the continued fraction of I_x(a, b) by the
// modified Lentz method (Numerical Recipes §6.4, betacf). It returns NaN if
// it does not converge.
func betaContinuedFraction(a, b, x float64) float64 {
	qab, qap, qam := a+b, a+1, a-1
	c := 1.0
	d := nonZero(1 - qab*x/qap)
	d = 1 / d
	h := d
	for m := 1; m <= maxIterations; m++ {
		fm := float64(m)
		m2 := 2 * fm
		// Even step.
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 / nonZero(1+aa*d)
		c = nonZero(1 + aa/c)
		h *= d * c
		// Odd step.
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 / nonZero(1+aa*d)
		c = nonZero(1 + aa/c)
		del := d * c
		h *= del
		if math.Abs(del-1) <= epsilon {
			return h
		}
	}
	return math.NaN()
}

// nonZero returns v, or tiny if v is closer to zero than tiny.
func nonZero(v float64) float64 {
	if math.Abs(v) < tiny {
		return tiny
	}
	return v
}

// lnBeta returns ln B(a, b) for a, b > 0. When an argument is 10 or more it
// uses Stirling's series with the correction term, as R's lbeta does, so
// that ln Γ of large, nearly equal arguments does not cancel (df/2 reaches
// the tens of thousands for experiment-sized samples).
func lnBeta(a, b float64) float64 {
	p, q := math.Min(a, b), math.Max(a, b)
	switch {
	case p >= 10:
		corr := lnGammaCorrection(p) + lnGammaCorrection(q) - lnGammaCorrection(p+q)
		return -0.5*math.Log(q) + 0.5*math.Log(2*math.Pi) + corr +
			(p-0.5)*math.Log(p/(p+q)) + q*math.Log1p(-p/(p+q))
	case q >= 10:
		corr := lnGammaCorrection(q) - lnGammaCorrection(p+q)
		lp, _ := math.Lgamma(p)
		return lp + corr + p - p*math.Log(p+q) + (q-0.5)*math.Log1p(-p/(p+q))
	default:
		lp, _ := math.Lgamma(p)
		lq, _ := math.Lgamma(q)
		lpq, _ := math.Lgamma(p + q)
		return lp + lq - lpq
	}
}

// lnGammaCorrection returns ln Γ(x) − ((x − ½)·ln x − x + ½·ln 2π) for
// x ≥ 10, from the Stirling series Σ B₂ₖ / (2k(2k−1)·x^(2k−1)); eight terms
// leave an error below 2e-18 at x = 10.
func lnGammaCorrection(x float64) float64 {
	const (
		c1 = 1.0 / 12
		c2 = -1.0 / 360
		c3 = 1.0 / 1260
		c4 = -1.0 / 1680
		c5 = 1.0 / 1188
		c6 = -691.0 / 360360
		c7 = 1.0 / 156
		c8 = -3617.0 / 122400
	)
	u := 1 / (x * x)
	return (c1 + u*(c2+u*(c3+u*(c4+u*(c5+u*(c6+u*(c7+u*c8))))))) / x
}

// regGammaQ returns the regularized upper incomplete gamma function
// Q(a, x) = Γ(a, x)/Γ(a) for a > 0, x ≥ 0, following Numerical Recipes
// (§6.2, gammq): the series for P = 1 − Q when x < a + 1, where Q is not
// small, and the continued fraction for Q otherwise.
func regGammaQ(a, x float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(x) || !(a > 0):
		return math.NaN()
	case x <= 0:
		return 1
	case math.IsInf(x, 1):
		return 0
	}
	lga, _ := math.Lgamma(a)
	front := math.Exp(a*math.Log(x) - x - lga)
	if x < a+1 {
		return 1 - front*gammaSeries(a, x)
	}
	return front * gammaContinuedFraction(a, x)
}

// gammaSeries returns Σₙ xⁿ/(a(a+1)…(a+n)), the series of P(a, x) without
// its front factor (Numerical Recipes §6.2, gser). It returns NaN if it does
// not converge.
func gammaSeries(a, x float64) float64 {
	ap := a
	del := 1 / a
	sum := del
	for range maxIterations {
		ap++
		del *= x / ap
		sum += del
		if math.Abs(del) < math.Abs(sum)*epsilon {
			return sum
		}
	}
	return math.NaN()
}

// gammaContinuedFraction evaluates the continued fraction of Q(a, x) without
// its front factor by the modified Lentz method (Numerical Recipes §6.2,
// gcf). It returns NaN if it does not converge.
func gammaContinuedFraction(a, x float64) float64 {
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / nonZero(b)
	h := d
	for i := 1; i <= maxIterations; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = 1 / nonZero(an*d+b)
		c = nonZero(b + an/c)
		del := d * c
		h *= del
		if math.Abs(del-1) <= epsilon {
			return h
		}
	}
	return math.NaN()
}

// brent returns a root of f in [a, b], where fa = f(a) and fb = f(b) have
// opposite signs, by Brent's method (R. P. Brent, Algorithms for
// Minimization without Derivatives, 1973, ch. 4; Numerical Recipes §9.3,
// zbrent): inverse quadratic interpolation or secant steps, falling back to
// bisection whenever they do not shrink the bracket fast enough, so it
// converges whenever the bracket is valid. It iterates to machine
// precision and returns NaN if the bracket is invalid or the search does not
// converge.
func brent(f func(float64) float64, a, b, fa, fb float64) float64 {
	if math.IsNaN(fa) || math.IsNaN(fb) || (fa > 0) == (fb > 0) && fa != 0 && fb != 0 {
		return math.NaN()
	}
	c, fc := b, fb
	var d, e float64
	for range maxIterations {
		if (fb > 0) == (fc > 0) {
			// The root lies between a and b: make c the other end.
			c, fc = a, fa
			d = b - a
			e = d
		}
		if math.Abs(fc) < math.Abs(fb) {
			// Keep b the best estimate.
			a, b, c = b, c, b
			fa, fb, fc = fb, fc, fb
		}
		tol := 2*machineEpsilon*math.Abs(b) + tiny
		xm := 0.5 * (c - b)
		if math.Abs(xm) <= tol || fb == 0 {
			return b
		}
		if math.Abs(e) >= tol && math.Abs(fa) > math.Abs(fb) {
			// Try interpolation.
			s := fb / fa
			var p, q float64
			if a == c {
				p = 2 * xm * s
				q = 1 - s
			} else {
				q = fa / fc
				r := fb / fc
				p = s * (2*xm*q*(q-r) - (b-a)*(r-1))
				q = (q - 1) * (r - 1) * (s - 1)
			}
			if p > 0 {
				q = -q
			}
			p = math.Abs(p)
			if 2*p < math.Min(3*xm*q-math.Abs(tol*q), math.Abs(e*q)) {
				e = d
				d = p / q
			} else {
				d = xm
				e = d
			}
		} else {
			d = xm
			e = d
		}
		a, fa = b, fb
		if math.Abs(d) > tol {
			b += d
		} else {
			b += math.Copysign(tol, xm)
		}
		fb = f(b)
		if math.IsNaN(fb) {
			return math.NaN()
		}
	}
	return math.NaN()
}
