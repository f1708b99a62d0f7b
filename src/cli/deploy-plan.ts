/**
 * `vem deploy`'s pure part: where things go on a node, what the node must have
 * (read from one probe's output), which steps a deploy, upgrade or removal takes,
 * and the words for each. No I/O here: src/cli/deploy-run.ts carries the steps out
 * over the node's SSH link, and test/deploy/deploy-plan.test.ts checks the logic.
 */
import { posix } from 'node:path';

/** Where deploy puts things on a node. Every path is overridable (`--node-prefix`), so a lab node gets private folders. */
export interface DeployPaths {
  /** The bundle (vem-agent.mjs), its previous copy during an upgrade, and an upload in flight. */
  bundleDir: string;
  /** The token and deploy's own manifest (what it installed, for --remove). */
  configDir: string;
  /** The agent's socket and, without systemd, its pid file. */
  runDir: string;
  /** The audit log and, without systemd, the agent's output. */
  logDir: string;
  /** The metrics history kept across restarts. */
  stateDir: string;
  /** The systemd unit. */
  unitPath: string;
  /** systemd is running when this folder exists (sd_booted()'s test). */
  systemdProbe: string;
  /** Where the node's Node.js is looked for (default: the login's PATH). */
  searchPath?: string;
}

export const DEFAULT_PATHS: DeployPaths = {
  bundleDir: '/usr/local/lib/vem',
  configDir: '/etc/vem',
  runDir: '/run/vem',
  logDir: '/var/log/vem',
  stateDir: '/var/lib/vem',
  unitPath: '/etc/systemd/system/vem-agent.service',
  systemdProbe: '/run/systemd/system',
};

/** The oldest Node.js the bundle runs on (test/deploy/bundle.ts builds for node18). */
export const MIN_NODE_MAJOR = 18;

/** Every default path under `prefix` (a lab node's private folder), and Node.js looked for in `searchPath`. */
export function deployPaths(o: { prefix?: string; searchPath?: string } = {}): DeployPaths {
  const under = (p: string): string => (o.prefix ? posix.join(o.prefix, p) : p);
  return {
    bundleDir: under(DEFAULT_PATHS.bundleDir),
    configDir: under(DEFAULT_PATHS.configDir),
    runDir: under(DEFAULT_PATHS.runDir),
    logDir: under(DEFAULT_PATHS.logDir),
    stateDir: under(DEFAULT_PATHS.stateDir),
    unitPath: under(DEFAULT_PATHS.unitPath),
    systemdProbe: under(DEFAULT_PATHS.systemdProbe),
    ...(o.searchPath !== undefined ? { searchPath: o.searchPath } : {}),
  };
}

/** The files inside those folders, named once. */
export function deployFiles(p: DeployPaths): {
  bundle: string; prevBundle: string; newBundle: string; token: string; manifest: string;
  socket: string; pidFile: string; agentLog: string; auditLog: string; history: string;
} {
  return {
    bundle: posix.join(p.bundleDir, 'vem-agent.mjs'),
    prevBundle: posix.join(p.bundleDir, 'vem-agent.prev.mjs'),
    newBundle: posix.join(p.bundleDir, 'vem-agent.new.mjs'),
    token: posix.join(p.configDir, 'token'),
    manifest: posix.join(p.configDir, 'deployed.json'),
    socket: posix.join(p.runDir, 'agent.sock'),
    pidFile: posix.join(p.runDir, 'agent.pid'),
    agentLog: posix.join(p.logDir, 'agent.log'),
    auditLog: posix.join(p.logDir, 'audit.jsonl'),
    history: posix.join(p.stateDir, 'history.bin'),
  };
}

/** The folders deploy needs, and every parent of them: the probe says which exist, so deploy knows which it made. */
export function candidateDirs(p: DeployPaths, systemd: boolean): string[] {
  const targets = [p.bundleDir, p.configDir, p.runDir, p.logDir, p.stateDir, ...(systemd ? [posix.dirname(p.unitPath)] : [])];
  const out = new Set<string>();
  for (const t of targets) {
    for (let d = posix.normalize(t); d !== '/' && d !== '.'; d = posix.dirname(d)) out.add(d);
  }
  return [...out].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}

function depth(p: string): number {
  return p.split('/').filter(Boolean).length;
}

/** What deploy leaves on the node to know, later, what it installed (written last, so a half-done deploy has none). */
export interface DeployManifest {
  v: 1;
  /** Folders deploy made (and removes whole on --remove); shallow first. */
  createdDirs: string[];
  mode: 'systemd' | 'detached';
  node: string;
  sha256: string;
  version: string;
  uri: string;
  at: string;
}

/** What one probe of the node found (src/cli/deploy-script.ts's probeScript prints it as key=value lines). */
export interface NodeFacts {
  uid?: number;
  user?: string;
  /** Absolute path of `node`, if found. */
  node?: string;
  nodeVersion?: string;
  systemd: boolean;
  /** The first of libvirt's sockets that exists. */
  socket?: string;
  /** Free KiB on the file system the bundle goes to, and the folder measured. */
  freeKiB?: number;
  freeDir?: string;
  existing: Set<string>;
  manifest?: DeployManifest;
  /** Set when the manifest line was there but did not parse. */
  manifestProblem?: string;
  /** PID of a detached agent that is deploy's (its command line names the bundle). */
  runningPid?: number;
  bundlePresent: boolean;
  /** The probe printed its last line (a cut output is not a node's answer). */
  complete: boolean;
}

export function parseProbe(text: string): NodeFacts {
  const f: NodeFacts = { systemd: false, existing: new Set(), bundlePresent: false, complete: false };
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i <= 0) continue;
    const k = line.slice(0, i);
    const v = line.slice(i + 1).trim();
    if (k === 'uid' && /^\d+$/.test(v)) f.uid = Number(v);
    else if (k === 'user' && v) f.user = v;
    else if (k === 'node' && v.startsWith('/')) f.node = v;
    else if (k === 'nodever' && v) f.nodeVersion = v;
    else if (k === 'systemd') f.systemd = v === 'yes';
    else if (k === 'socket' && v) f.socket ??= v;
    else if (k === 'freekib' && /^\d+$/.test(v)) f.freeKiB = Number(v);
    else if (k === 'freedir' && v) f.freeDir = v;
    else if (k === 'exists' && v) f.existing.add(v);
    else if (k === 'running' && /^\d+$/.test(v)) f.runningPid = Number(v);
    else if (k === 'bundle') f.bundlePresent = v === 'present';
    else if (k === 'manifest' && v) {
      try {
        const m = JSON.parse(v) as DeployManifest;
        if (m.v === 1 && Array.isArray(m.createdDirs)) f.manifest = m;
        else f.manifestProblem = 'unknown manifest version';
      } catch (e) {
        f.manifestProblem = (e as Error).message;
      }
    } else if (k === 'end') f.complete = true;
  }
  return f;
}

/** `v18.20.4` -> 18; undefined when it is not a Node.js version line. */
export function nodeMajor(version: string | undefined): number | undefined {
  const m = /^v(\d+)\.\d+\.\d+/.exec(version ?? '');
  return m ? Number(m[1]) : undefined;
}

/** One thing wrong with a node: what, and what to do about it. */
export interface NodeProblem {
  what: string;
  fix: string;
}

/**
 * What stops a deploy on this node, all of it at once so the admin fixes it in one go.
 * `needKiB`: room for the new bundle and the previous one beside it.
 */
export function deployProblems(f: NodeFacts, o: { needKiB: number; sockets: string[]; paths: DeployPaths }): NodeProblem[] {
  const out: NodeProblem[] = [];
  if (!f.complete) return [{ what: 'the node did not finish answering the checks', fix: 'check that its login shell is a POSIX sh, then run vem deploy again' }];
  if (f.uid !== 0) out.push({ what: `not root (logged in as ${f.user ?? `uid ${f.uid ?? '?'}`}), and the agent is installed as a system service`, fix: 'use root@HOST in the cluster file\'s ssh: entry (PermitRootLogin prohibit-password on the node)' });
  const major = nodeMajor(f.nodeVersion);
  if (!f.node) out.push({ what: `no Node.js (no \`node\` in ${o.paths.searchPath ?? "the login's PATH"})`, fix: `install Node.js ${MIN_NODE_MAJOR} or newer (Debian 12: apt install nodejs)` });
  else if (major === undefined) out.push({ what: `${f.node} is not a working Node.js (it printed ${JSON.stringify(f.nodeVersion ?? '')} for --version)`, fix: `install Node.js ${MIN_NODE_MAJOR} or newer (Debian 12: apt install nodejs)` });
  else if (major < MIN_NODE_MAJOR) out.push({ what: `Node.js ${f.nodeVersion ?? ''} at ${f.node} is too old (the agent needs ${MIN_NODE_MAJOR} or newer)`, fix: `upgrade it (Debian 12: apt install nodejs gives 18; or NodeSource's packages)` });
  if (!f.socket) out.push({ what: `no libvirt socket (${o.sockets.join(', ')})`, fix: 'install and start libvirtd (or virtqemud), or set uri: with ?socket=PATH in the cluster file' });
  if (f.freeKiB !== undefined && f.freeKiB < o.needKiB) out.push({ what: `only ${f.freeKiB} KiB free in ${f.freeDir ?? o.paths.bundleDir} (the agent needs ${o.needKiB} KiB)`, fix: `free some space there, or install elsewhere with --node-prefix` });
  if (f.freeKiB === undefined) out.push({ what: `could not measure free space in ${f.freeDir ?? o.paths.bundleDir} (df failed)`, fix: 'check that df works on the node' });
  if (f.manifestProblem) out.push({ what: `deploy's manifest on the node does not read (${f.manifestProblem})`, fix: 'run vem deploy --remove, then deploy again' });
  return out;
}

/** One problem line per node: "what; what" followed by the fixes. */
export function problemLine(node: string, ps: NodeProblem[], nothingDone = true): string {
  const what = ps.map((p) => p.what).join('; ');
  const fix = [...new Set(ps.map((p) => p.fix))].join('; ');
  return `${node}: ${what}: ${fix}${nothingDone ? ' (nothing was changed on the node)' : ''}`;
}

export type StepKind = 'check' | 'mkdirs' | 'upload' | 'token' | 'unit' | 'stop' | 'swap' | 'start' | 'wait' | 'manifest' | 'cleanup' | 'disable' | 'remove-files' | 'remove-dirs' | 'cluster-file';

export interface Step {
  kind: StepKind;
  text: string;
}

export type DeployMode = 'install' | 'upgrade' | 'remove';

/** Fresh install or upgrade, from what the node has. */
export function modeOf(f: NodeFacts, remove: boolean): DeployMode {
  if (remove) return 'remove';
  return f.manifest || f.bundlePresent ? 'upgrade' : 'install';
}

/** The folders a fresh install makes: those the probe did not find. */
export function dirsToCreate(f: NodeFacts, p: DeployPaths, systemd: boolean): string[] {
  return candidateDirs(p, systemd).filter((d) => !f.existing.has(d));
}

/**
 * The steps, in order, for a node in the state the probe found. The runner does
 * them by kind; `--dry-run` prints their text.
 */
export function planSteps(mode: DeployMode, f: NodeFacts, p: DeployPaths, o: { bundleBytes: number; sha256: string; uri: string }): Step[] {
  const files = deployFiles(p);
  const systemd = mode === 'remove' ? (f.manifest?.mode ?? (f.systemd ? 'systemd' : 'detached')) === 'systemd' : f.systemd;
  const how = systemd ? `systemd unit ${p.unitPath}` : 'detached process with a pid file (no systemd: it will not survive a reboot)';
  const steps: Step[] = [{ kind: 'check', text: 'check Node.js, libvirt socket, free space, root' }];
  if (mode === 'remove') {
    steps.push({ kind: 'stop', text: systemd ? `stop and disable ${posix.basename(p.unitPath)}` : `stop the agent (pid file ${files.pidFile})` });
    if (systemd) steps.push({ kind: 'disable', text: `remove ${p.unitPath} and reload systemd` });
    steps.push({ kind: 'remove-files', text: `remove the bundle, token, manifest, socket, logs and history (${[files.bundle, files.token, files.auditLog, files.history].join(', ')}, ...)` });
    const made = f.manifest?.createdDirs ?? [];
    steps.push({ kind: 'remove-dirs', text: made.length > 0 ? `remove the folders deploy made: ${topmost(made).join(', ')}` : 'no folders of deploy\'s to remove' });
    steps.push({ kind: 'cluster-file', text: 'set the node back to agent: none in the cluster file' });
    return steps;
  }
  const make = mode === 'install' ? dirsToCreate(f, p, systemd) : [];
  if (make.length > 0) steps.push({ kind: 'mkdirs', text: `make ${topmost(make).join(', ')}` });
  steps.push({ kind: 'upload', text: `upload the agent bundle (${Math.ceil(o.bundleBytes / 1024)} KiB) to ${files.newBundle}, verify sha256 ${o.sha256.slice(0, 16)}...` });
  steps.push({ kind: 'token', text: `write the token ${files.token} (0600)` });
  if (systemd) steps.push({ kind: 'unit', text: `write the hardened unit ${p.unitPath}` });
  if (mode === 'upgrade') {
    steps.push({ kind: 'stop', text: 'stop the running agent' });
    steps.push({ kind: 'swap', text: `keep the running bundle as ${files.prevBundle} and put the new one in place` });
  } else {
    steps.push({ kind: 'swap', text: `put the bundle in place as ${files.bundle}` });
  }
  steps.push({ kind: 'start', text: `start the agent as a ${how}: ${o.uri}, socket ${files.socket}` });
  steps.push({ kind: 'wait', text: `wait until it answers through the SSH tunnel${mode === 'upgrade' ? ` (if not: roll back to ${files.prevBundle})` : ''}` });
  steps.push({ kind: 'manifest', text: `record what was installed in ${files.manifest}` });
  if (mode === 'upgrade') steps.push({ kind: 'cleanup', text: `remove ${files.prevBundle}` });
  steps.push({ kind: 'cluster-file', text: `point the node's cluster-file entry at unix:${files.socket}` });
  return steps;
}

/** Of nested folders, the outermost ones only (rm -r of those removes the rest). */
export function topmost(dirs: string[]): string[] {
  const sorted = [...dirs].sort((a, b) => depth(a) - depth(b));
  const out: string[] = [];
  for (const d of sorted) if (!out.some((o) => d === o || d.startsWith(`${o}/`))) out.push(d);
  return out;
}

/** A folder deploy may remove whole: one it recorded making, and never a top-level one or one of the system's own. */
export function removableDir(d: string): boolean {
  const n = posix.normalize(d);
  const system = new Set(['/etc', '/usr', '/usr/local', '/usr/local/lib', '/usr/lib', '/var', '/var/lib', '/var/log', '/run', '/var/run', '/tmp', '/etc/systemd', '/etc/systemd/system', '/home', '/root', '/opt']);
  return n.startsWith('/') && depth(n) >= 2 && !system.has(n);
}

/** The agent's command line on the node. */
export function agentArgs(p: DeployPaths, uri: string): string[] {
  const f = deployFiles(p);
  return ['--uri', uri, '--socket', f.socket, '--audit-log', f.auditLog, '--token-file', f.token, '--history-file', f.history];
}
