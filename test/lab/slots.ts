// Address and folder slots: several labs run at once (test files, helpers, a CI run),
// so each lab takes a slot number with an atomic mkdir; the slot decides its
// 127.77.<slot>.<n> addresses. A slot whose owner and daemons are all dead is reclaimed.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from './procs.js';

/** Where slots live; VEM_LAB_SLOTS overrides it (unit tests of the slot logic). */
export function slotRoot(): string {
  return process.env['VEM_LAB_SLOTS'] ?? '/tmp/vem-lab-slots';
}
const MAX_SLOT = 250;
/** Second octet of every lab address; all of 127.0.0.0/8 is loopback. */
export const LAB_NET_OCTET = 77;

export interface SlotOwner {
  pid: number;          // the process that took the slot
  dir: string;          // the lab folder
  pids: number[];       // long-lived processes of the lab (namespace holders); keep the slot while alive
  startedAt: string;
}

export function slotAddress(slot: number, index: number): string {
  if (index < 0 || index > 250) throw new Error(`a lab has at most 251 nodes (asked for index ${index})`);
  return `127.${LAB_NET_OCTET}.${slot}.${index + 2}`;
}

function slotDir(slot: number): string {
  return join(slotRoot(), String(slot));
}

function readOwner(slot: number): SlotOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(slotDir(slot), 'owner.json'), 'utf8')) as SlotOwner;
  } catch {
    return undefined;
  }
}

function isStale(slot: number): boolean {
  const owner = readOwner(slot);
  if (owner === undefined) {
    // Between mkdir and writing owner.json: give the taker a moment.
    try {
      return Date.now() - statSync(slotDir(slot)).mtimeMs > 30_000;
    } catch {
      return false;
    }
  }
  return !isAlive(owner.pid) && !owner.pids.some(isAlive);
}

/**
 * Takes a free slot (1..250) for the lab in `dir`. A stale slot's leftovers (a lab whose
 * owner died without stop()) are handed to `cleanup` with that lab's folder before reuse,
 * so no old daemon still holds the slot's addresses.
 */
export async function acquireSlot(dir: string, cleanup?: (oldDir: string) => Promise<void>): Promise<number> {
  mkdirSync(slotRoot(), { recursive: true, mode: 0o1777 });
  for (let slot = 1; slot <= MAX_SLOT; slot++) {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        mkdirSync(slotDir(slot));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if (attempt === 0 && isStale(slot)) {
          const old = readOwner(slot);
          // Rename first: only one reclaimer wins the rename, the others see ENOENT.
          const grave = `${slotDir(slot)}.stale.${process.pid}.${Date.now()}`;
          let won = false;
          try {
            renameSync(slotDir(slot), grave);
            won = true;
          } catch {
            // someone else reclaimed it first
          }
          if (won) {
            if (old !== undefined && cleanup !== undefined) await cleanup(old.dir).catch(() => undefined);
            rmSync(grave, { recursive: true, force: true });
          }
          continue;
        }
        break;
      }
      writeOwner(slot, { pid: process.pid, dir, pids: [], startedAt: new Date().toISOString() });
      return slot;
    }
  }
  throw new Error(`no free lab slot in ${slotRoot()} (all ${MAX_SLOT} taken by running labs)`);
}

export function writeOwner(slot: number, owner: SlotOwner): void {
  const tmp = join(slotDir(slot), `owner.json.${process.pid}`);
  writeFileSync(tmp, JSON.stringify(owner));
  renameSync(tmp, join(slotDir(slot), 'owner.json'));
}

/** Records the lab's long-lived processes so the slot stays taken after the starting process exits (lab CLI). */
export function updateSlotPids(slot: number, pids: number[]): void {
  const owner = readOwner(slot);
  if (owner === undefined) return;
  writeOwner(slot, { ...owner, pids });
}

export function releaseSlot(slot: number, dir: string): void {
  const owner = readOwner(slot);
  if (owner !== undefined && owner.dir !== dir) return; // not ours (any more)
  rmSync(slotDir(slot), { recursive: true, force: true });
}
