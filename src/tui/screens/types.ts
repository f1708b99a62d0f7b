/**
 * The contract between a management screen and the dashboard: the screen draws
 * lines from the store and turns keys into commands; the dashboard gives it
 * confirmations, a prompt and the status line. Screens never call the network.
 */
import type { Theme } from '../views/theme.js';
import type { ManageStore } from '../store/manage.js';
import type { ManageCommands } from '../commands/manage.js';
import type { ClusterStore } from '../store/store.js';

export interface ScreenHost {
  readonly theme: Theme;
  readonly store: ClusterStore;
  readonly manage: ManageStore;
  readonly cmds: ManageCommands;
  say(text: string, isError?: boolean): void;
  /** A yes/no dialog; `yes` runs on y/enter. */
  confirm(lines: string[], yes: () => void): void;
  /** The one-line input at the bottom, prefilled with `initial`. */
  prompt(prompt: string, initial: string, submit: (text: string) => void): void;
  /** Leave the screen (back to the overview). */
  close(): void;
  markDirty(): void;
}

export interface Screen {
  readonly id: string;
  /** Tagged lines for the whole area above the status line. */
  lines(width: number, height: number): string[];
  /** True when the screen used the key. */
  key(k: string): boolean;
  /** Called when it is shown and when it goes away (timers start and stop). */
  show(): void;
  hide(): void;
}

/** Cursor movement shared by the screens' lists. */
export function moveSel(sel: number, count: number, k: string, page = 10): number | undefined {
  const last = Math.max(0, count - 1);
  switch (k) {
    case 'up':
    case 'k':
      return Math.max(0, sel - 1);
    case 'down':
    case 'j':
      return Math.min(last, sel + 1);
    case 'pageup':
    case 'C-b':
      return Math.max(0, sel - page);
    case 'pagedown':
    case 'C-f':
      return Math.min(last, sel + page);
    case 'g':
    case 'home':
      return 0;
    case 'G':
    case 'end':
      return last;
  }
  return undefined;
}
