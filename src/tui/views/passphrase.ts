/**
 * Passphrases for encrypted SSH keys, asked in the dashboard's input line
 * rather than on the raw terminal (which blessed owns). Links are opened
 * before the dashboard exists, so their questions wait here until it attaches;
 * they are asked one at a time, and a question left when it quits gets no answer.
 */
export type Asker = (keyPath: string, attempt: number) => Promise<string | undefined>;

export class PassphraseBroker {
  private asker: Asker | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly waiting: Array<() => void> = [];
  private closed = false;

  /** The AskPassphrase a link is given. */
  readonly ask: Asker = (keyPath, attempt) => {
    const next = this.queue.then(() => this.once(keyPath, attempt));
    this.queue = next.catch(() => undefined);
    return next;
  };

  private async once(keyPath: string, attempt: number): Promise<string | undefined> {
    while (!this.asker && !this.closed) await new Promise<void>((r) => this.waiting.push(r));
    return this.closed || !this.asker ? undefined : this.asker(keyPath, attempt);
  }

  attach(asker: Asker): void {
    this.asker = asker;
    for (const w of this.waiting.splice(0)) w();
  }

  /** The dashboard is gone: questions still waiting get no answer (the link reports auth-failed). */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w();
  }
}
