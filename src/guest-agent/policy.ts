/**
 * The guest's own say over what the host may do in it, and its record of what
 * was done. Default with no policy file: read-only (every action refused).
 *
 * /etc/vem/guest-policy.json:
 *   { "allow": ["signal", "user.add", "user.*", "service.restart", ...],   // or ["*"]
 *     "protectedUsers": ["root"],        // never removed, locked or re-passworded
 *     "signalUsers": ["www-data"] }      // optional: only these users' processes may be signalled
 */
import { VemError } from '../common/errors.js';

export const ACTIONS = [
  'signal',
  'user.add',
  'user.remove',
  'user.lock',
  'user.unlock',
  'user.setPassword',
  'service.start',
  'service.stop',
  'service.restart',
  'service.enable',
  'service.disable',
] as const;
export type Action = (typeof ACTIONS)[number];

export interface GuestPolicy {
  allow: string[];
  protectedUsers: string[];
  signalUsers?: string[];
  /** Where the policy came from, for guest.policy and the log. */
  source: string;
  error?: string;
}

/** Fault code 403 on the wire, so callers can tell a refusal from a failure. */
export class PolicyRefusal extends VemError {
  readonly code = 403;
}

export const READ_ONLY: GuestPolicy = { allow: [], protectedUsers: ['root'], source: 'default (read-only)' };

/** Parses a policy file (pure). A bad file refuses everything and says why. */
export function parsePolicy(text: string, source: string): GuestPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ...READ_ONLY, source, error: `not JSON: ${(e as Error).message}` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ...READ_ONLY, source, error: 'the policy must be a JSON object' };
  const o = raw as Record<string, unknown>;
  const strings = (k: string): string[] | undefined | null => {
    const v = o[k];
    if (v === undefined) return undefined;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;
  };
  const allow = strings('allow');
  const prot = strings('protectedUsers');
  const sig = strings('signalUsers');
  if (allow === null || prot === null || sig === null) return { ...READ_ONLY, source, error: 'allow, protectedUsers and signalUsers must be arrays of strings' };
  const unknown = (allow ?? []).filter((a) => a !== '*' && !a.endsWith('.*') && !(ACTIONS as readonly string[]).includes(a));
  if (unknown.length) return { ...READ_ONLY, source, error: `unknown action(s) in allow: ${unknown.join(', ')}; known: ${ACTIONS.join(', ')}` };
  return { allow: allow ?? [], protectedUsers: [...new Set(['root', ...(prot ?? [])])], signalUsers: sig, source };
}

export function allows(p: GuestPolicy, action: Action): boolean {
  if (p.error) return false;
  return p.allow.some((a) => a === '*' || a === action || (a.endsWith('.*') && action.startsWith(a.slice(0, -1))));
}

export function check(p: GuestPolicy, action: Action): void {
  if (p.error) throw new PolicyRefusal(`refused by the guest's policy: ${action} (the policy file ${p.source} is invalid: ${p.error})`);
  if (!allows(p, action)) throw new PolicyRefusal(`refused by the guest's policy: ${action} is not allowed (${p.source})`, `allow it in the guest's policy file`);
}
