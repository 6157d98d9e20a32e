/**
 * Deterministic seeded random numbers.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's "Small Fast Counting" generator from PractRand, 128-bit
 * state, passes PractRand and BigCrush), seeded by hashing a *path* string with cyrb128 (a
 * 128-bit non-cryptographic string hash, from bryc's well-known "PRNGs in JavaScript" notes).
 * The first 15 outputs after seeding are discarded so that related seeds decorrelate.
 *
 * A generator's path is `String(seed)`; `fork(label)` appends `/` + JSON of the label. The child
 * depends only on the parent's path and the label, never on how many numbers the parent drew,
 * so `rng.fork("data")` and `rng.fork("init")` are fixed, independent streams for a given seed
 * (`fork("a").fork("b")` and `fork("a/b")` differ because labels are JSON-quoted).
 */
export class Rng {
  private pathValue = "";
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Rng seed must be a safe integer, got ${seed}`);
    }
    this.seedFromPath(String(seed));
  }

  /** Where this stream comes from, e.g. `0/"init"/"3.weight"` (for logs and tests). */
  get path(): string {
    return this.pathValue;
  }

  /** An independent stream derived from this generator's path and `label`. */
  fork(label: string | number): Rng {
    const child = new Rng(0);
    child.seedFromPath(`${this.pathValue}/${JSON.stringify(label)}`);
    return child;
  }

  private seedFromPath(path: string): void {
    this.pathValue = path;
    [this.a, this.b, this.c, this.d] = cyrb128(path);
    this.spareNormal = null;
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** One sfc32 output: a uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits (two sfc32 outputs). */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const u = 1 - this.next(); // (0, 1]: log(u) is finite
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n). With 53-bit floats the bias is below 2^-21 for n < 2^32. */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new RangeError(`Rng.int(n) needs a positive integer n, got ${n}`);
    }
    return Math.floor(this.next() * n);
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = tmp;
    }
    return arr;
  }
}

/** cyrb128: four 32-bit hashes of a string, used as sfc32's initial state. */
function cyrb128(str: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}
