/**
 * `vem vm list|create|start|shutdown|destroy|delete` for scripts, through the
 * typed client over the same links as the dashboard (the cluster file's nodes).
 * Exit status: 0 done; 1 refused or failed (the reason on stderr); 2 a bad
 * command line. --json prints one JSON document on stdout.
 */
import { readFileSync } from 'node:fs';
import { client, type Client } from '../api/client.js';
import type { ProvisionSpec } from '../api/index.js';
import { UsageError, VemError } from '../common/errors.js';
import { XmlRpcFault } from '../common/xmlrpc/codec.js';
import { migrationUri } from '../link/migrate-uri.js';
import { loadClusterFile, openLink, parseSshSpec, terminalPassphrase, type ClusterConfig, type NodeConfig, type NodeLink } from '../link/index.js';
import { boolOpt, parseCommandArgs, stringOpt, type Parsed } from './args.js';

const OPTIONS = {
  cluster: { type: 'string' },
  node: { type: 'string' },
  json: { type: 'boolean' },
  from: { type: 'string' },
  cpus: { type: 'string' },
  memory: { type: 'string' },
  disk: { type: 'string' },
  pool: { type: 'string' },
  'ssh-key': { type: 'string', multiple: true },
  'user-data': { type: 'string' },
  'network-config': { type: 'string' },
  network: { type: 'string', multiple: true },
  hostname: { type: 'string' },
  user: { type: 'string' },
  package: { type: 'string', multiple: true },
  run: { type: 'string', multiple: true },
  'virt-type': { type: 'string' },
  kernel: { type: 'string' },
  initrd: { type: 'string' },
  cmdline: { type: 'string' },
  'no-start': { type: 'boolean' },
  'no-guest-agent': { type: 'boolean' },
  'full-copy': { type: 'boolean' },
  'template-node': { type: 'string' },
} as const;

export const USAGE =
  'vem vm list [--node N] [--json] [--cluster FILE]\n' +
  '       vem vm create NAME --node N --from TEMPLATE [--cpus C] [--memory 2G] [--disk 20G] [--pool P] [--ssh-key FILE]...\n' +
  '              [--user-data FILE] [--network-config FILE] [--network NET]... [--hostname H] [--user U] [--package P]... [--run CMD]...\n' +
  '              [--virt-type kvm|qemu] [--kernel PATH --initrd PATH --cmdline TEXT] [--no-guest-agent] [--full-copy] [--template-node N] [--no-start] [--json]\n' +
  '       vem vm start|shutdown|destroy|delete NAME [--node N] [--json]\n' +
  '  TEMPLATE: a name from vem vm templates (POOL/VOLUME or a VM marked as a template), or any volume as POOL/VOLUME.\n' +
  '  --full-copy: the disk is a copy of the template, not an overlay on it (the VM then needs no template).\n' +
  '  --template-node N: the template is on node N; its data is copied to --node first (a full copy, over N\'s migrate-uri).\n' +
  '  --memory without a unit is MiB, --disk without a unit GiB (as virt-install). Exit: 0 done, 1 refused or failed, 2 bad command line.';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "2G", "512M", "1.5GiB", "20" (in `dflt` units) as bytes. */
export function parseSize(s: string, flag: string, dflt: 'm' | 'g'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(s);
  if (!m) throw new UsageError(`vem vm: ${flag} wants a size like 2G, 512M or 20, got '${s}'`);
  const unit = (m[2] ?? '').toLowerCase() || ((m[3] ?? '') !== '' ? 'b' : dflt);
  const bytes = Math.round(Number(m[1]) * (UNITS[unit] ?? 1));
  if (!(bytes > 0)) throw new UsageError(`vem vm: ${flag} must be more than 0`);
  return bytes;
}

function multi(p: Parsed, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

function readArg(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`vem vm: cannot read ${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The vm.provision request the flags make (files read here, checked by the agent). */
export function provisionSpecFrom(name: string, p: Parsed): ProvisionSpec {
  const from = stringOpt(p, 'from');
  if (from === undefined) throw new UsageError('vem vm create: which template? (--from TEMPLATE; vem vm templates lists them)');
  const spec: ProvisionSpec = { name, template: from, start: !boolOpt(p, 'no-start') };
  if (boolOpt(p, 'no-guest-agent')) spec.guestAgent = false;
  if (boolOpt(p, 'full-copy')) spec.fullCopy = true;
  const cpus = stringOpt(p, 'cpus');
  if (cpus !== undefined) {
    if (!/^\d+$/.test(cpus)) throw new UsageError(`vem vm create: --cpus wants a whole number, got '${cpus}'`);
    spec.vcpus = Number(cpus);
  }
  const mem = stringOpt(p, 'memory');
  if (mem !== undefined) spec.memoryMiB = Math.max(1, Math.round(parseSize(mem, '--memory', 'm') / 1024 ** 2));
  const disk = stringOpt(p, 'disk');
  if (disk !== undefined) spec.diskBytes = parseSize(disk, '--disk', 'g');
  const keys = multi(p, 'ssh-key').flatMap((f) => readArg('--ssh-key', f).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
  if (keys.length > 0) spec.sshKeys = keys;
  const ud = stringOpt(p, 'user-data');
  if (ud !== undefined) spec.userData = readArg('--user-data', ud);
  const nc = stringOpt(p, 'network-config');
  if (nc !== undefined) spec.networkConfig = readArg('--network-config', nc);
  const nets = multi(p, 'network');
  if (nets.length > 0) spec.networks = nets.flatMap((n) => n.split(',')).filter((n) => n !== '' && n !== 'none');
  if (nets.includes('none')) spec.networks = [];
  const pkgs = multi(p, 'package');
  if (pkgs.length > 0) spec.packages = pkgs;
  const cmds = multi(p, 'run');
  if (cmds.length > 0) spec.commands = cmds;
  const vt = stringOpt(p, 'virt-type');
  if (vt !== undefined && vt !== 'kvm' && vt !== 'qemu') throw new UsageError(`vem vm create: --virt-type wants kvm or qemu, got '${vt}'`);
  if (vt !== undefined) spec.virtType = vt;
  for (const k of ['pool', 'hostname', 'user', 'kernel', 'initrd', 'cmdline'] as const) {
    const v = stringOpt(p, k);
    if (v !== undefined) spec[k] = v;
  }
  return spec;
}

function nodeNamed(cluster: ClusterConfig, name: string): NodeConfig {
  const n = cluster.nodes.find((x) => x.name === name);
  if (!n) throw new UsageError(`vem vm: no node '${name}' in ${cluster.path}`, `nodes: ${cluster.nodes.map((x) => x.name).join(', ') || 'none'}`);
  return n;
}

/** A fault or transport error in a person's words, naming the node. */
function explain(e: unknown, node: string): VemError {
  if (e instanceof XmlRpcFault) return new VemError(`vem vm: node ${node}: ${e.message}`);
  if (e instanceof VemError) return e;
  return new VemError(`vem vm: node ${node}: ${(e as Error).message}`);
}

interface Links {
  use(node: NodeConfig): Client;
  close(): Promise<void>;
}

function links(): Links {
  const open: NodeLink[] = [];
  return {
    use(node) {
      const l = openLink(node, { askPassphrase: terminalPassphrase() });
      open.push(l);
      return client(l);
    },
    close: async () => {
      await Promise.all(open.map((l) => l.close()));
    },
  };
}

const out = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

async function list(p: Parsed, cluster: ClusterConfig, ls: Links): Promise<number> {
  const only = stringOpt(p, 'node');
  const nodes = only !== undefined ? [nodeNamed(cluster, only)] : cluster.nodes;
  const answers = await Promise.all(nodes.map(async (n) => ({ node: n.name, r: await ls.use(n).vm.list().then((vms) => ({ vms }), (e: unknown) => ({ error: explain(e, n.name).message })) })));
  const rows = answers.flatMap((a) => ('vms' in a.r ? a.r.vms.map((v) => ({ node: a.node, name: v.name, state: v.state, vcpus: v.vcpus, memKiB: v.memKiB, cpuPct: v.cpuPct })) : []));
  const failed = answers.filter((a) => 'error' in a.r).map((a) => ({ node: a.node, error: 'error' in a.r ? a.r.error : '' }));
  if (boolOpt(p, 'json')) out(JSON.stringify({ vms: rows, unreachable: failed }));
  else {
    out(`${'NAME'.padEnd(24)} ${'NODE'.padEnd(12)} ${'STATE'.padEnd(10)} VCPUS  MEMORY`);
    for (const r of rows) out(`${r.name.padEnd(24)} ${r.node.padEnd(12)} ${r.state.padEnd(10)} ${String(r.vcpus).padStart(5)}  ${Math.round(r.memKiB / 1024)} MiB`);
  }
  for (const f of failed) process.stderr.write(`vem vm list: ${f.error}\n`);
  return failed.length > 0 ? 1 : 0;
}

async function templates(p: Parsed, cluster: ClusterConfig, ls: Links): Promise<number> {
  const only = stringOpt(p, 'node');
  const nodes = only !== undefined ? [nodeNamed(cluster, only)] : cluster.nodes;
  let bad = 0;
  const rows: Array<Record<string, unknown>> = [];
  for (const n of nodes) {
    try {
      for (const t of await ls.use(n).template.list()) rows.push({ node: n.name, ...t });
    } catch (e) {
      bad++;
      process.stderr.write(`vem vm templates: ${explain(e, n.name).message}\n`);
    }
  }
  if (boolOpt(p, 'json')) out(JSON.stringify({ templates: rows }));
  else {
    out(`${'TEMPLATE'.padEnd(44)} ${'NODE'.padEnd(12)} ${'KIND'.padEnd(6)} ${'OS'.padEnd(14)} SIZE`);
    for (const r of rows) out(`${String(r['name']).padEnd(44)} ${String(r['node']).padEnd(12)} ${String(r['kind']).padEnd(6)} ${String(r['os'] ?? '-').padEnd(14)} ${(Number(r['capacity']) / 1024 ** 3).toFixed(1)} GiB${r['simulated'] === true ? '  SIMULATED' : ''}`);
  }
  return bad > 0 ? 1 : 0;
}

/**
 * Where the target node's agent reaches the template node's libvirtd: the same URI a migration
 * to that node would use (the cluster file's migrate-uri, else its ssh host, else what its agent reports).
 */
async function templateNodeUri(n: NodeConfig, ls: Links): Promise<string> {
  const sshHost = n.ssh ? parseSshSpec(n.ssh)?.host : undefined;
  if (n.migrateUri || sshHost) return migrationUri({ node: n.name, ...(n.migrateUri ? { configured: n.migrateUri } : {}), ...(sshHost ? { sshHost } : {}) });
  try {
    const info = await ls.use(n).node.info();
    return migrationUri({ node: n.name, ...(info.uri ? { reported: info.uri } : {}), ...(info.hostname ? { hostname: info.hostname } : {}) });
  } catch (e) {
    throw explain(e, n.name);
  }
}

async function create(name: string, p: Parsed, cluster: ClusterConfig, ls: Links): Promise<number> {
  const nodeName = stringOpt(p, 'node');
  if (nodeName === undefined) throw new UsageError('vem vm create: on which node? (--node N)');
  const spec = provisionSpecFrom(name, p);
  const node = nodeNamed(cluster, nodeName);
  const holder = stringOpt(p, 'template-node');
  if (holder !== undefined && holder !== nodeName) spec.templateUri = await templateNodeUri(nodeNamed(cluster, holder), ls);
  const c = ls.use(node);
  let id: string;
  try {
    id = await c.template.provision(spec);
  } catch (e) {
    throw explain(e, node.name);
  }
  const tty = process.stderr.isTTY;
  let last = '';
  for (;;) {
    const j = await c.job.get(id).catch((e: unknown) => {
      throw explain(e, node.name);
    });
    const steps = j.provision?.steps ?? [];
    const doing = steps.find((s) => !s.done)?.step ?? 'done';
    const line = `vem vm create ${name}: ${j.status} ${Math.round(j.progress?.percent ?? 0)}% (${steps.filter((s) => s.done).map((s) => s.step).join(', ') || 'starting'}${j.status === 'running' ? `; now ${doing}` : ''})`;
    if (line !== last) process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    last = line;
    if (j.status !== 'running') {
      if (tty) process.stderr.write('\n');
      if (boolOpt(p, 'json')) out(JSON.stringify(j));
      if (j.status === 'completed') {
        if (!boolOpt(p, 'json')) out(`${name} made on ${node.name} from ${spec.template}${spec.start === false ? ' (not started)' : ', started'}`);
        return 0;
      }
      process.stderr.write(`vem vm create ${name}: ${j.status}: ${j.reason ?? 'no reason given'}\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 400));
  }
}

/** The node that holds the VM: --node, else the one node whose vm.list has it. */
async function holder(vm: string, p: Parsed, cluster: ClusterConfig, ls: Links): Promise<{ node: NodeConfig; c: Client }> {
  const only = stringOpt(p, 'node');
  if (only !== undefined) {
    const node = nodeNamed(cluster, only);
    return { node, c: ls.use(node) };
  }
  const found: Array<{ node: NodeConfig; c: Client }> = [];
  await Promise.all(
    cluster.nodes.map(async (node) => {
      const c = ls.use(node);
      const vms = await c.vm.list().catch(() => []);
      if (vms.some((v) => v.name === vm)) found.push({ node, c });
    }),
  );
  if (found.length === 0) throw new VemError(`vem vm: no VM '${vm}' on any reachable node`, 'vem vm list shows them; give --node N if its node is down');
  if (found.length > 1) throw new UsageError(`vem vm: '${vm}' is on ${found.map((f) => f.node.name).join(' and ')}; say which with --node`);
  return found[0] as { node: NodeConfig; c: Client };
}

async function lifecycle(verb: 'start' | 'shutdown' | 'destroy' | 'delete', vm: string, p: Parsed, cluster: ClusterConfig, ls: Links): Promise<number> {
  const { node, c } = await holder(vm, p, cluster, ls);
  try {
    if (verb === 'start') await c.vm.start(vm);
    else if (verb === 'shutdown') await c.vm.shutdown(vm);
    else if (verb === 'destroy') await c.vm.destroy(vm);
    else {
      const info = await c.vm.info(vm);
      if (info.state !== 'shutoff') throw new VemError(`vem vm delete: ${vm} is ${info.state}; stop it first (vem vm shutdown ${vm}, or destroy)`);
      await c.vm.undefine(vm, { snapshots: true, nvram: true });
    }
  } catch (e) {
    throw explain(e, node.name);
  }
  if (boolOpt(p, 'json')) out(JSON.stringify({ vm, node: node.name, done: verb }));
  else out(`${vm} on ${node.name}: ${verb === 'shutdown' ? 'shutdown asked (the guest OS powers off)' : verb === 'delete' ? 'definition deleted (its volumes stay)' : verb === 'start' ? 'started' : 'powered off'}`);
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const p = parseCommandArgs(`vm ${sub ?? ''}`.trim(), rest, OPTIONS);
  const cluster = loadClusterFile(stringOpt(p, 'cluster'));
  const ls = links();
  try {
    const [name, extra] = p.positionals;
    if (extra !== undefined) throw new UsageError(`vem vm ${sub ?? ''}: one VM name, got also '${extra}'`);
    switch (sub) {
      case 'list':
        return await list(p, cluster, ls);
      case 'templates':
        return await templates(p, cluster, ls);
      case 'create':
      case 'start':
      case 'shutdown':
      case 'destroy':
      case 'delete':
        if (name === undefined) throw new UsageError(`vem vm ${sub}: which VM? (vem vm ${sub} NAME)`);
        return sub === 'create' ? await create(name, p, cluster, ls) : await lifecycle(sub, name, p, cluster, ls);
      default:
        throw new UsageError(`vem vm: unknown subcommand '${sub ?? ''}'`, USAGE);
    }
  } finally {
    await ls.close();
  }
}
