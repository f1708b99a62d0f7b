/**
 * lease.*: who acts on what. A lease names its holder (a person and a tool, e.g.
 * "alice@ws1 vem balance --auto"), since when, and expires unless renewed, so a
 * holder that dies frees it. Scopes are free text; "balance" is the one automatic
 * level-2 balancing takes on every agent of a cluster before it plans, and
 * "vm:NAME" guards one VM.
 */
import { method } from './method.js';
import { array, bool, double, int, opt, string, struct } from './schema.js';

export const leaseInfo = struct({
  scope: string,
  holder: string,
  /** What the holder is doing, in its words ("level-2 balancing", "migrate web-1"). */
  op: string,
  /** ms since the epoch. */
  since: double,
  renewedAt: double,
  expiresAt: double,
  /** Only in acquire's answer: the proof of holding it that renew and release take. */
  token: opt(string),
  /** The connection that took it (unix:… or tcp:…). */
  caller: string,
});

export const lease = {
  acquire: method({
    name: 'lease.acquire',
    help: 'Takes a lease: lease.acquire(scope, holder, op[, ttlSeconds]) -> {scope, holder, op, since, renewedAt, expiresAt, token, caller}. ttlSeconds defaults to 30 (1..3600); renew before it runs out or the lease expires. Refused with fault 1011 naming the holder, what it does and since when if someone else holds the scope, or (scope vm:NAME) while a migration or clone of NAME runs. The same holder asking again renews it.',
    params: [string, string, string, opt(int)],
    result: leaseInfo,
    mutates: true,
  }),
  renew: method({
    name: 'lease.renew',
    help: 'Keeps a lease: lease.renew(token[, ttlSeconds]) -> the lease. Fault 1003 when the lease has expired or was released (take it again).',
    params: [string, opt(int)],
    result: leaseInfo,
    mutates: true,
  }),
  release: method({
    name: 'lease.release',
    help: 'Gives a lease up: lease.release(token) -> true (also when it had already expired).',
    params: [string],
    result: bool,
    mutates: true,
  }),
  list: method({
    name: 'leases.list',
    help: 'Every lease held on this agent (without tokens), and every VM busy with a migration or clone job as scope vm:NAME with the job\'s caller as holder.',
    params: [],
    result: array(leaseInfo),
  }),
};
