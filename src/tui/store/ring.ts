/** A fixed-size numeric history (oldest dropped first); Float32 keeps 10,000 VMs small. */
export class Ring {
  private readonly buf: Float32Array;
  private start = 0;
  private len = 0;

  constructor(readonly capacity: number) {
    this.buf = new Float32Array(capacity);
  }

  push(v: number): void {
    const at = (this.start + this.len) % this.capacity;
    this.buf[at] = v;
    if (this.len < this.capacity) this.len++;
    else this.start = (this.start + 1) % this.capacity;
  }

  get length(): number {
    return this.len;
  }

  last(): number | undefined {
    return this.len === 0 ? undefined : this.buf[(this.start + this.len - 1) % this.capacity];
  }

  /** The newest `n` values (all by default), oldest first. */
  values(n = this.len): number[] {
    const k = Math.min(n, this.len);
    const out = new Array<number>(k);
    for (let i = 0; i < k; i++) out[i] = this.buf[(this.start + this.len - k + i) % this.capacity] ?? 0;
    return out;
  }

  clear(): void {
    this.start = 0;
    this.len = 0;
  }
}
