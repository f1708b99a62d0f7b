/**
 * The shell scripts `vem deploy` runs on a node, built from its paths (pure: text in,
 * text out). Each one either does all it says or undoes itself, so a failure, a full
 * disk or a link that drops mid-upload leaves the node as it was. They need only a
 * POSIX sh and coreutils (id, df, mkdir, mv, rm, cat, wc), plus the Node.js checked first.
 */
import { posix } from 'node:path';
import { agentArgs, candidateDirs, deployFiles, DEFAULT_PATHS, removableDir, topmost, type DeployManifest, type DeployPaths } from './deploy-plan.js';

/** One shell word, whatever it holds. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command line an exec channel runs: the script given to sh, whatever the login shell is. */
export function shCommand(script: string): string {
  return `sh -c ${shq(script)}`;
}

/** True when /proc/PID's command line names the bundle (a recycled PID is someone else's). */
function isOurs(pidVar: string, bundle: string): string {
  // Braced: callers join two of these with ||, and sh's && and || bind left to right.
  return `{ [ -n "${pidVar}" ] && [ -r /proc/${pidVar}/cmdline ] && tr '\\000' ' ' < /proc/${pidVar}/cmdline | grep -qF ${shq(bundle)}; }`;
}

/** Read-only: prints key=value lines that parseProbe reads. */
export function probeScript(p: DeployPaths, sockets: string[]): string {
  const f = deployFiles(p);
  const lookup = p.searchPath !== undefined ? `PATH=${shq(p.searchPath)}; ` : '';
  return [
    'echo "uid=$(id -u)"',
    'echo "user=$(id -un 2>/dev/null)"',
    `n=$(${lookup}command -v node 2>/dev/null || true)`,
    'echo "node=$n"',
    'case "$n" in /*) echo "nodever=$("$n" --version 2>&1 | head -n 1)";; esac',
    `if [ -d ${shq(p.systemdProbe)} ]; then echo systemd=yes; else echo systemd=no; fi`,
    ...sockets.map((s) => `if [ -S ${shq(s)} ]; then echo socket=${shq(s)}; fi`),
    `d=${shq(p.bundleDir)}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done`,
    'echo "freedir=$d"',
    'echo "freekib=$(df -Pk "$d" 2>/dev/null | awk \'NR==2 {print $4}\')"',
    // Both lists (with and without the unit's folder): the probe runs before deploy knows whether systemd is there.
    ...candidateDirs(p, true).map((d) => `if [ -e ${shq(d)} ]; then echo exists=${shq(d)}; fi`),
    `if [ -f ${shq(f.manifest)} ]; then echo "manifest=$(tr -d '\\n' < ${shq(f.manifest)})"; fi`,
    `if [ -f ${shq(f.bundle)} ]; then echo bundle=present; fi`,
    `p=$(cat ${shq(f.pidFile)} 2>/dev/null || true); if ${isOurs('$p', f.bundle)}; then echo "running=$p"; fi`,
    'echo end=1',
  ].join('\n');
}

const PRIVATE_DIR_MODE = '0700';

/**
 * Receives the bundle on stdin into a .part file beside NEW, checks its size and sha256
 * with the node's own Node.js, and only then renames it. Folders it makes for this are
 * removed again if anything fails, and on a hang-up (the link dropped) too.
 */
export function uploadScript(o: { paths: DeployPaths; node: string; bytes: number; sha256: string; makeDirs: string[] }): string {
  const f = deployFiles(o.paths);
  const tmp = `${f.newBundle}.part`;
  const priv = new Set([o.paths.configDir, o.paths.runDir, o.paths.logDir, o.paths.stateDir]);
  const make = o.makeDirs.map((d, i) => `if [ ! -d ${shq(d)} ]; then mkdir -m ${priv.has(d) ? PRIVATE_DIR_MODE : '0755'} ${shq(d)} || { undo; echo fail=mkdir; exit 5; }; m${i}=1; fi`);
  const undoDirs = o.makeDirs.map((d, i) => ({ d, i })).reverse().map(({ d, i }) => `[ -z "$m${i}" ] || rmdir ${shq(d)} 2>/dev/null`);
  const sum = `const h=require('crypto').createHash('sha256');require('fs').createReadStream(process.argv[1]).on('data',(d)=>h.update(d)).on('end',()=>console.log(h.digest('hex')))`;
  return [
    'umask 022',
    ...o.makeDirs.map((_, i) => `m${i}=`),
    `undo() { rm -f ${shq(tmp)}; ${undoDirs.length > 0 ? undoDirs.join('; ') : ':'}; }`,
    "trap 'undo; exit 129' HUP INT TERM PIPE",
    ...make,
    `rm -f ${shq(posix.join(o.paths.bundleDir, 'vem-agent.new.mjs.part'))}`,
    `cat > ${shq(tmp)} || { undo; echo fail=write; exit 3; }`,
    `n=$(wc -c < ${shq(tmp)} | tr -d ' ')`,
    `if [ "$n" != "${o.bytes}" ]; then undo; echo "fail=short $n"; exit 4; fi`,
    `s=$(${shq(o.node)} -e ${shq(sum)} ${shq(tmp)})`,
    `if [ "$s" != "${o.sha256}" ]; then undo; echo "fail=checksum $s"; exit 4; fi`,
    `mv -f ${shq(tmp)} ${shq(f.newBundle)} || { undo; echo fail=rename; exit 3; }`,
    'trap - HUP INT TERM PIPE',
    'echo ok=1',
  ].join('\n');
}

/** Writes stdin to PATH (0600) through a .part file. */
export function writeFileScript(path: string): string {
  const tmp = `${path}.part`;
  return [
    'umask 077',
    `cat > ${shq(tmp)} || { rm -f ${shq(tmp)}; echo fail=write; exit 3; }`,
    `mv -f ${shq(tmp)} ${shq(path)} || { rm -f ${shq(tmp)}; exit 3; }`,
  ].join('\n');
}

function unitName(p: DeployPaths): string {
  return posix.basename(p.unitPath);
}

/** The shipped hardened unit (src/agent/vem-agent.service) with this node's ExecStart, and its own folders writable when they are not the defaults. */
export function unitText(template: string, o: { paths: DeployPaths; node: string; uri: string }): string {
  const f = deployFiles(o.paths);
  const exec = `ExecStart=${[o.node, f.bundle, ...agentArgs(o.paths, o.uri)].map(systemdWord).join(' ')}`;
  const extra = [o.paths.runDir, o.paths.logDir, o.paths.stateDir, o.paths.configDir].filter((d, i) => d !== [DEFAULT_PATHS.runDir, DEFAULT_PATHS.logDir, DEFAULT_PATHS.stateDir, DEFAULT_PATHS.configDir][i]);
  const at = template.indexOf('[Unit]');
  if (at < 0) throw new Error('the unit template has no [Unit] section');
  // The template's header says how to install it by hand; deploy did that.
  const out = template.slice(at).split('\n').map((l) => (l.startsWith('ExecStart=') ? exec : l));
  if (!out.some((l) => l.startsWith('ExecStart='))) throw new Error('the unit template has no ExecStart= line');
  const body = out.join('\n').replace(/^ReadWritePaths=.*$/m, (l) => (extra.length > 0 ? `${l}\nReadWritePaths=${extra.map(systemdWord).join(' ')}` : l));
  return `# Installed by vem deploy (vem deploy --remove takes it away again).\n${body}`;
}

function systemdWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Starts the agent: under systemd (enabled, so it survives a reboot), or detached with a pid file. */
export function startScript(o: { paths: DeployPaths; node: string; uri: string; systemd: boolean }): string {
  const f = deployFiles(o.paths);
  if (o.systemd) return `systemctl daemon-reload && systemctl enable ${shq(unitName(o.paths))} && systemctl restart ${shq(unitName(o.paths))}`;
  const argv = [o.node, f.bundle, ...agentArgs(o.paths, o.uri)].map(shq).join(' ');
  return [
    'umask 077',
    'cd /',
    `rm -f ${shq(f.socket)}`,
    // setsid: its own session, so the agent outlives this SSH session; it execs node, so $! is the agent's PID.
    'S=; if command -v setsid >/dev/null 2>&1; then S=setsid; fi',
    `NODE_OPTIONS=--max-semi-space-size=2 $S ${argv} < /dev/null >> ${shq(f.agentLog)} 2>&1 &`,
    `echo $! > ${shq(f.pidFile)}`,
    'echo "pid=$!"',
  ].join('\n');
}

/** Stops the agent and waits until it is gone (SIGKILL after 10 s); only a PID whose command line names the bundle is signalled. */
export function stopScript(o: { paths: DeployPaths; systemd: boolean }): string {
  const f = deployFiles(o.paths);
  if (o.systemd) return `systemctl stop ${shq(unitName(o.paths))} 2>/dev/null; systemctl is-active --quiet ${shq(unitName(o.paths))} && exit 6; rm -f ${shq(f.socket)}; exit 0`;
  const ours = (b: string): string => isOurs('$p', b);
  return [
    `p=$(cat ${shq(f.pidFile)} 2>/dev/null || true)`,
    `if ${ours(f.bundle)}; then b=${shq(f.bundle)}; elif ${ours(f.prevBundle)}; then b=${shq(f.prevBundle)}; else b=; fi`,
    // Gone once its command line is (a zombie has none): its parent reaps it, not us.
    'alive() { [ -n "$b" ] && [ -r /proc/$p/cmdline ] && tr \'\\000\' \' \' < /proc/$p/cmdline | grep -qF "$b"; }',
    'if alive; then',
    '  kill "$p"; i=0',
    '  while alive && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
    '  if alive; then kill -9 "$p"; sleep 0.2; fi',
    'fi',
    `rm -f ${shq(f.pidFile)} ${shq(f.socket)}`,
  ].join('\n');
}

/** Puts the verified upload in place; on an upgrade the running bundle is kept as the previous one. */
export function swapScript(p: DeployPaths, upgrade: boolean): string {
  const f = deployFiles(p);
  return [
    ...(upgrade ? [`if [ -f ${shq(f.bundle)} ]; then mv -f ${shq(f.bundle)} ${shq(f.prevBundle)} || exit 3; fi`] : []),
    `mv -f ${shq(f.newBundle)} ${shq(f.bundle)}`,
  ].join('\n');
}

/** Back to the previous bundle after a new one that did not answer. */
export function rollbackScript(p: DeployPaths): string {
  const f = deployFiles(p);
  return `if [ -f ${shq(f.prevBundle)} ]; then mv -f ${shq(f.prevBundle)} ${shq(f.bundle)}; else exit 7; fi`;
}

/** The last lines the agent wrote (why it did not answer). */
export function logTailScript(p: DeployPaths, systemd: boolean): string {
  const f = deployFiles(p);
  if (systemd) return `journalctl -u ${shq(unitName(p))} -n 5 --no-pager -o cat 2>/dev/null`;
  return `tail -n 5 ${shq(f.agentLog)} 2>/dev/null`;
}

export function manifestJson(m: DeployManifest): string {
  return `${JSON.stringify(m)}\n`;
}

/**
 * Everything deploy installed, and what its agent wrote: files by name in folders that
 * were there before, and the folders deploy made (recorded in the manifest) whole.
 */
export function removeScript(o: { paths: DeployPaths; createdDirs: string[]; systemd: boolean }): string {
  const f = deployFiles(o.paths);
  const files = [f.bundle, f.prevBundle, f.newBundle, `${f.newBundle}.part`, f.token, `${f.token}.part`, f.manifest, `${f.manifest}.part`, f.socket, f.pidFile, f.agentLog, f.auditLog, f.history, `${f.history}.tmp`];
  const dirs = topmost(o.createdDirs).filter(removableDir);
  return [
    ...(o.systemd ? [`systemctl disable ${shq(unitName(o.paths))} 2>/dev/null`, `rm -f ${shq(o.paths.unitPath)}`, 'systemctl daemon-reload 2>/dev/null'] : []),
    `rm -f ${files.map(shq).join(' ')}`,
    `rm -f ${shq(f.history)}.corrupt-*`,
    ...dirs.map((d) => `rm -rf ${shq(d)}`),
    'exit 0',
  ].join('\n');
}
