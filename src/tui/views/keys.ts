/** Key names and the input line's editing: what a keypress is, before any screen sees it. */

export interface KeyEvent {
  name?: string;
  full?: string;
  sequence?: string;
  ctrl?: boolean;
  shift?: boolean;
}

/** One name per key: printable characters as themselves, others by blessed's name. */
export function keyName(ch: string | undefined, key: KeyEvent): string {
  // blessed reports "\r" twice: as 'return' and again as 'enter'; act on 'enter' only.
  if (key.name === 'return') return '';
  if (key.name === 'enter') return 'enter';
  if (key.name === 'space' || ch === ' ') return 'space';
  if (ch && ch.length === 1 && ch >= '!' && ch <= '~' && !key.ctrl) return ch;
  return key.full ?? key.name ?? ch ?? '';
}

export interface InputLine {
  prompt: string;
  buf: string;
  submit(text: string): void;
  /** Typed text is not shown and not trimmed (a passphrase). */
  secret?: boolean;
  /** `buf` is a suggestion: the first character typed replaces it (Enter keeps it). */
  suggested?: boolean;
  /** Esc: the question is dropped (a passphrase not given). */
  cancel?(): void;
  change?(text: string): void;
}

/** Edit the input line; returns 'submit' or 'cancel' when the line is done. */
export function inputKey(inp: InputLine, k: string, ch: string | undefined): 'submit' | 'cancel' | undefined {
  if (k === 'escape') return 'cancel';
  if (k === 'enter') return 'submit';
  const before = inp.buf;
  const typed = k === 'space' ? ' ' : ch && ch.length === 1 && ch >= ' ' && k !== 'backspace' ? ch : undefined;
  if (inp.suggested && (typed !== undefined || k === 'backspace' || k === 'C-u')) {
    inp.suggested = false;
    inp.buf = '';
    if (typed !== undefined) inp.buf = typed;
  } else if (k === 'backspace') inp.buf = inp.buf.slice(0, -1);
  else if (k === 'C-u') inp.buf = '';
  else if (typed !== undefined) inp.buf += typed;
  if (inp.buf !== before) inp.change?.(inp.buf);
  return undefined;
}
