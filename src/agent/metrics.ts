/**
 * GET /metrics: the collected node and VM figures in the Prometheus text
 * format. Counter names follow the common libvirt exporters
 * (libvirt_domain_info_cpu_time_seconds_total, libvirt_domain_block_stats_*,
 * libvirt_domain_interface_stats_*, libvirt_domain_memory_stats_*); the rates
 * the agent computes are vem_*. Pure: renders from the collector's state.
 */
import { DOMAIN_STATES } from '../libvirt/hypervisor.js';
import type { Collector } from './collector.js';
import { round } from './history.js';

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function fmt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  return String(n);
}

/** Families are written whole (HELP, TYPE, then every sample), as the format requires. */
class Out {
  private readonly families = new Map<string, string[]>();
  metric(name: string, type: 'gauge' | 'counter', help: string): (labels: Record<string, string>, v: number) => void {
    let lines = this.families.get(name);
    if (!lines) {
      lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
      this.families.set(name, lines);
    }
    const out = lines;
    return (labels, v) => {
      const l = Object.entries(labels)
        .map(([k, x]) => `${k}="${esc(x)}"`)
        .join(',');
      out.push(`${name}${l ? `{${l}}` : ''} ${fmt(v)}`);
    };
  }
  text(): string {
    return [...this.families.values()].map((l) => l.join('\n')).join('\n') + '\n';
  }
}

export interface MetricsInput {
  collector: Collector;
  libvirtUp: boolean;
  hostCpus: number;
  /** libvirt's domain info when known: fills in what a driver's bulk stats leave out (the test driver has no balloon stats). */
  info?: (vm: string) => { vcpus: number; memKiB: number; maxMemKiB: number } | undefined;
}

export function renderMetrics(m: MetricsInput): string {
  const o = new Out();
  const c = m.collector;
  o.metric('libvirt_up', 'gauge', 'Whether the agent reaches libvirtd (1) or not (0).')({}, m.libvirtUp ? 1 : 0);
  o.metric('vem_agent_collections_total', 'counter', 'Stats collections done (one bulk call, or per-domain calls where the driver has no bulk stats).')({}, c.collections);
  o.metric('vem_agent_dropped_polls_total', 'counter', 'Polls skipped because the previous one still ran.')({}, c.dropped);
  o.metric('vem_agent_collect_errors_total', 'counter', 'Collections that failed.')({}, c.errors);
  o.metric('vem_agent_last_collect_seconds', 'gauge', 'Duration of the last collection.')({}, c.lastCollectMs / 1000);
  o.metric('vem_agent_history_bytes', 'gauge', 'Memory held by the sample history.')({}, c.historyBytes());

  const node = c.node.latest();
  if (node) {
    o.metric('vem_node_cpu_usage_percent', 'gauge', 'Host CPU busy (user+kernel) over the last period, % of all CPUs.')({}, round(node.cpuPct));
    o.metric('vem_node_cpu_iowait_percent', 'gauge', 'Host CPU iowait over the last period, %.')({}, round(node.iowaitPct));
    o.metric('vem_node_memory_used_bytes', 'gauge', 'Host memory in use (total - free - buffers - cached).')({}, round(node.memUsedKiB) * 1024);
    o.metric('vem_node_vms_running', 'gauge', 'VMs active on this node.')({}, node.vmsRunning);
  }
  if (c.lastNode) {
    const n = c.lastNode;
    o.metric('vem_node_memory_total_bytes', 'gauge', 'Host memory.')({}, n.memory.totalKiB * 1024);
    o.metric('vem_node_memory_free_bytes', 'gauge', 'Host memory free.')({}, n.memory.freeKiB * 1024);
    const cpu = o.metric('vem_node_cpu_seconds_total', 'counter', 'Host CPU time by mode.');
    cpu({ mode: 'user' }, n.cpu.userNs / 1e9);
    cpu({ mode: 'kernel' }, n.cpu.kernelNs / 1e9);
    cpu({ mode: 'idle' }, n.cpu.idleNs / 1e9);
    cpu({ mode: 'iowait' }, n.cpu.iowaitNs / 1e9);
  }
  o.metric('vem_node_cpus', 'gauge', 'Host logical CPUs.')({}, m.hostCpus);

  const recent = c.tick - 3;
  const meta = o.metric('libvirt_domain_info_meta', 'gauge', 'Domain metadata (always 1).');
  const state = o.metric('libvirt_domain_info_state', 'gauge', 'Domain state as libvirt numbers it (1 running, 3 paused, 5 shut off...).');
  const vcpus = o.metric('libvirt_domain_info_virtual_cpus', 'gauge', 'Number of virtual CPUs.');
  const maxMem = o.metric('libvirt_domain_info_maximum_memory_bytes', 'gauge', 'Maximum memory.');
  const mem = o.metric('libvirt_domain_info_memory_usage_bytes', 'gauge', 'Memory allocated (balloon size).');
  const cpuTime = o.metric('libvirt_domain_info_cpu_time_seconds_total', 'counter', 'CPU time used by the domain.');
  const rdB = o.metric('libvirt_domain_block_stats_read_bytes_total', 'counter', 'Bytes read from a block device.');
  const wrB = o.metric('libvirt_domain_block_stats_write_bytes_total', 'counter', 'Bytes written to a block device.');
  const rdR = o.metric('libvirt_domain_block_stats_read_requests_total', 'counter', 'Read requests to a block device.');
  const wrR = o.metric('libvirt_domain_block_stats_write_requests_total', 'counter', 'Write requests to a block device.');
  const rxB = o.metric('libvirt_domain_interface_stats_receive_bytes_total', 'counter', 'Bytes received on an interface.');
  const rxP = o.metric('libvirt_domain_interface_stats_receive_packets_total', 'counter', 'Packets received on an interface.');
  const txB = o.metric('libvirt_domain_interface_stats_transmit_bytes_total', 'counter', 'Bytes sent on an interface.');
  const txP = o.metric('libvirt_domain_interface_stats_transmit_packets_total', 'counter', 'Packets sent on an interface.');
  const balloon = o.metric('libvirt_domain_memory_stats_actual_balloon_bytes', 'gauge', 'Balloon size.');
  const avail = o.metric('libvirt_domain_memory_stats_available_bytes', 'gauge', 'Memory the guest sees.');
  const unused = o.metric('libvirt_domain_memory_stats_unused_bytes', 'gauge', 'Memory the guest leaves unused.');
  const rss = o.metric('libvirt_domain_memory_stats_rss_bytes', 'gauge', 'Resident memory of the VM process.');
  const cpuPct = o.metric('vem_domain_cpu_usage_percent', 'gauge', 'Domain CPU over the last period, % of the whole host.');
  const vcpuPct = o.metric('vem_domain_vcpu_usage_percent', 'gauge', 'Domain CPU over the last period, % of its own vCPUs.');
  const memUsed = o.metric('vem_domain_memory_used_bytes', 'gauge', 'Memory in use inside the domain (balloon stats; else RSS).');
  const rates = {
    diskRdBps: o.metric('vem_domain_disk_read_bytes_per_second', 'gauge', 'Disk reads over the last period.'),
    diskWrBps: o.metric('vem_domain_disk_write_bytes_per_second', 'gauge', 'Disk writes over the last period.'),
    netRxBps: o.metric('vem_domain_network_receive_bytes_per_second', 'gauge', 'Network receive over the last period.'),
    netTxBps: o.metric('vem_domain_network_transmit_bytes_per_second', 'gauge', 'Network transmit over the last period.'),
  };

  for (const e of c.vms.values()) {
    if (e.lastTick < recent) continue;
    const s = e.last;
    const d = { domain: s.name };
    meta({ domain: s.name, uuid: s.uuid }, 1);
    state(d, Math.max(0, DOMAIN_STATES.indexOf(s.state?.state ?? 'nostate')));
    const info = m.info?.(s.name);
    if (s.vcpu) vcpus(d, s.vcpu.current);
    else if (info) vcpus(d, info.vcpus);
    if (!s.balloon && info) {
      maxMem(d, info.maxMemKiB * 1024);
      mem(d, info.memKiB * 1024);
    }
    if (s.balloon) {
      maxMem(d, s.balloon.maximumKiB * 1024);
      mem(d, s.balloon.currentKiB * 1024);
      balloon(d, s.balloon.currentKiB * 1024);
      if (s.balloon.availableKiB !== undefined) avail(d, s.balloon.availableKiB * 1024);
      if (s.balloon.unusedKiB !== undefined) unused(d, s.balloon.unusedKiB * 1024);
      if (s.balloon.rssKiB !== undefined) rss(d, s.balloon.rssKiB * 1024);
    }
    if (s.cpu) cpuTime(d, s.cpu.timeNs / 1e9);
    for (const b of s.block ?? []) {
      const l = { domain: s.name, target_device: b.name, source_file: b.path ?? '' };
      rdB(l, b.rdBytes);
      wrB(l, b.wrBytes);
      rdR(l, b.rdReqs);
      wrR(l, b.wrReqs);
    }
    for (const n of s.net ?? []) {
      const l = { domain: s.name, target_device: n.name };
      rxB(l, n.rxBytes);
      rxP(l, n.rxPkts);
      txB(l, n.txBytes);
      txP(l, n.txPkts);
    }
    const latest = e.ring && e.ring.lastTick() === e.lastTick ? e.ring.latest() : undefined;
    if (latest) {
      cpuPct(d, round(latest.cpuPct));
      vcpuPct(d, round(latest.vcpuPct));
      // NaN: the driver cannot give the figure (per-domain route); no series rather than a false 0.
      if (!Number.isNaN(latest.memUsedKiB)) memUsed(d, round(latest.memUsedKiB) * 1024);
      for (const k of ['diskRdBps', 'diskWrBps', 'netRxBps', 'netTxBps'] as const) if (!Number.isNaN(latest[k])) rates[k](d, round(latest[k]));
    }
  }
  return o.text();
}
