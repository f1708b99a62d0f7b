/**
 * Colours as blessed tags, or none at all: NO_COLOR (https://no-color.org) or
 * VEM_THEME=mono give a monochrome theme where state is always spelled out and
 * the selection is shown in reverse video.
 */
export interface Theme {
  mono: boolean;
  ok(s: string): string;
  warn(s: string): string;
  bad(s: string): string;
  dim(s: string): string;
  head(s: string): string;
  sim(s: string): string;
  sel(s: string): string;
}

const wrap = (open: string, close: string) => (s: string) => `{${open}}${s}{/${close}}`;

export function makeTheme(mono: boolean): Theme {
  if (mono) {
    const id = (s: string): string => s;
    return { mono, ok: id, warn: id, bad: wrap('bold', 'bold'), dim: id, head: wrap('bold', 'bold'), sim: wrap('bold', 'bold'), sel: wrap('inverse', 'inverse') };
  }
  return {
    mono,
    ok: wrap('green-fg', 'green-fg'),
    warn: wrap('yellow-fg', 'yellow-fg'),
    bad: wrap('red-fg', 'red-fg'),
    dim: wrap('gray-fg', 'gray-fg'),
    head: wrap('bold', 'bold'),
    sim: wrap('magenta-fg', 'magenta-fg'),
    sel: wrap('inverse', 'inverse'),
  };
}

export function themeFromEnv(env: NodeJS.ProcessEnv): Theme {
  return makeTheme((env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') || env['VEM_THEME'] === 'mono');
}

export function stateColour(t: Theme, state: string, s: string): string {
  if (state === 'running') return t.ok(s);
  if (state === 'paused' || state === 'pmsuspended' || state === 'blocked' || state.startsWith('migr')) return t.warn(s);
  if (state === 'crashed' || state === 'down' || state === 'auth-failed' || state.startsWith('hostkey')) return t.bad(s);
  if (state === 'up') return t.ok(s);
  return t.dim(s);
}
