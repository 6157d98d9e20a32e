/**
 * The error function in float64 for the gelu reference (JavaScript has no Math.erf), written from
 * its textbook series, independent of the ONNX Erf kernels: the Maclaurin series
 * erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1)) for |x| <= 1.5, and beyond that
 * the continued fraction erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
 * (A&S 7.1.14), 80 levels deep. The switch is at 1.5 because the series' alternating terms cancel
 * more the further out it goes (at 3 its largest term is 190 times the sum: errors of 2e-14,
 * whose noise the gelu cases' finite differences would see); both are within 1e-15 of erf over
 * [0, 6]. test/reference-erf.test.ts checks it against tabulated values.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  const value = a <= 1.5 ? erfSeries(a) : 1 - erfcContinuedFraction(a);
  return x < 0 ? -value : value;
}

function erfSeries(x: number): number {
  let power = x; // (-1)^n x^(2n+1) / n!
  let sum = x;
  for (let n = 1; n < 200; n++) {
    power *= (-x * x) / n;
    const term = power / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** erfc(x) for x > 1.5, the fraction evaluated from its 80th level up. */
function erfcContinuedFraction(x: number): number {
  let tail = x;
  for (let k = 80; k >= 1; k--) tail = x + k / 2 / tail;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / tail;
}
