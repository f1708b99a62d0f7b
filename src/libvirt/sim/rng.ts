/** Seeded randomness: the same seed always builds the same simulated cluster. */

/** mulberry32: a small, fast 32-bit generator; good enough for inventories and noise. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  range(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }
  pick<T>(items: readonly T[]): T {
    const v = items[Math.floor(this.next() * items.length)];
    if (v === undefined) throw new Error('pick from an empty list');
    return v;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** A 32-bit integer, to seed a child generator. */
  u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}

/** Stateless noise in [0, 1) from (seed, cell): the value at a time does not depend on who asked before. */
export function hashNoise(seed: number, cell: number): number {
  let h = (seed ^ Math.imul((cell % 4294967296) >>> 0, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** A stable 32-bit hash of a string (FNV-1a), to derive seeds from names. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A UUID (v4 layout) drawn from the generator. */
export function uuidFrom(rng: Rng): string {
  const hex: string[] = [];
  for (let i = 0; i < 16; i++) hex.push(rng.int(0, 255).toString(16).padStart(2, '0'));
  hex[6] = '4' + (hex[6] ?? '00').slice(1);
  hex[8] = ((parseInt(hex[8] ?? '0', 16) & 0x3f) | 0x80).toString(16).padStart(2, '0');
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A MAC in QEMU's locally administered range 52:54:00. */
export function macFrom(rng: Rng): string {
  const b = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)].map((x) => x.toString(16).padStart(2, '0'));
  return `52:54:00:${b.join(':')}`;
}
