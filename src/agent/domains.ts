/**
 * What the agent knows about each VM besides its stats: libvirt's domain info
 * and a summary of its XML. Fetched when a VM first appears and again only
 * after an event says it changed, a few at a time, in the background.
 */
import type { DomainInfo, Hypervisor } from '../libvirt/hypervisor.js';
import { summarizeDomainXml, type DomainSummary } from './domxml.js';
import { migrationDisks } from '../common/migrate-storage.js';

export interface DomainDetails {
  info?: DomainInfo;
  summary?: DomainSummary;
  /** Its disks as vm.migrate plans them (node.migrationStorage); absent when the XML could not be read so. */
  migration?: ReturnType<typeof migrationDisks>;
  refreshedAt?: number;
  error?: string;
}

export class DomainCache {
  readonly entries = new Map<string, DomainDetails>();
  private readonly dirty = new Set<string>();
  private busy = 0;
  refreshes = 0;
  /** Bumped whenever an entry changes (answers built from the cache can be reused until then). */
  version = 0;

  constructor(private readonly concurrency = 2) {}

  markDirty(name: string): void {
    this.dirty.add(name);
  }

  /** Names seen in a poll that the cache has never fetched become dirty. */
  noticeNames(names: Iterable<string>): void {
    for (const n of names) if (!this.entries.has(n)) this.dirty.add(n);
  }

  remove(name: string): void {
    this.version++;
    this.entries.delete(name);
    this.dirty.delete(name);
  }

  get pending(): number {
    return this.dirty.size;
  }

  /** True when nothing is queued or being fetched. */
  get idle(): boolean {
    return this.dirty.size === 0 && this.busy === 0;
  }

  /** Starts refreshing dirty entries, at most `concurrency` at a time; returns at once. */
  pump(hv: Hypervisor): void {
    while (this.busy < this.concurrency && this.dirty.size > 0) {
      const name = this.dirty.values().next().value as string;
      this.dirty.delete(name);
      this.busy++;
      void this.refresh(hv, name).finally(() => {
        this.busy--;
        this.pump(hv);
      });
    }
  }

  /** Fetches one VM's info and XML now. */
  async refresh(hv: Hypervisor, name: string): Promise<DomainDetails | undefined> {
    this.refreshes++;
    try {
      const [info, xml] = await Promise.all([hv.domainInfo(name), hv.domainXml(name)]);
      const d: DomainDetails = { info, summary: summarizeDomainXml(xml), refreshedAt: Date.now() };
      try {
        d.migration = migrationDisks(xml);
      } catch {
        // Left unknown: the planner then says so rather than counting no disks.
      }
      this.entries.set(name, d);
      this.version++;
      return d;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      // The VM may be gone (undefined or migrated away): forget it.
      if (/not found|no domain|NO_DOMAIN/i.test(msg) || (e as { code?: number }).code === 42) this.entries.delete(name);
      else this.entries.set(name, { ...this.entries.get(name), error: msg });
      this.version++;
      return undefined;
    }
  }
}
