/**
 * One read per key at a time: a call while one runs gets a single follow-up
 * read after it (shared by every caller meanwhile), so a timer never stacks
 * reads behind a slow node and an action's own reload is never lost.
 */
export class Coalescer {
  private readonly inflight = new Map<string, { running: Promise<void>; next?: Promise<void> }>();

  run(key: string, fn: () => Promise<void>): Promise<void> {
    const cur = this.inflight.get(key);
    if (cur) return (cur.next ??= cur.running.then(() => this.run(key, fn)));
    const entry: { running: Promise<void>; next?: Promise<void> } = { running: Promise.resolve() };
    entry.running = fn().finally(() => {
      if (this.inflight.get(key) === entry) this.inflight.delete(key);
    });
    this.inflight.set(key, entry);
    return entry.running;
  }
}
