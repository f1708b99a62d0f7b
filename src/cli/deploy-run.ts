/**
 * One node's deploy, upgrade or removal, carried out over its SSH link step by step
 * as deploy-plan.ts plans it. A failure before the swap leaves the node as it was;
 * an upgrade whose new bundle does not answer is rolled back to the previous one; a
 * fresh install that does not answer is removed again.
 */
import { node as nodeApi } from '../api/node.js';
import { VemError } from '../common/errors.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import { libvirtSocketCandidates, DEFAULT_NODE_URI } from '../link/agentless-host.js';
import { connectNode, endChain, SshConnectError, type NodeSshOptions } from '../link/ssh-connect.js';
import type { NodeConfig } from '../link/types.js';
import { deployFiles, deployProblems, dirsToCreate, modeOf, parseProbe, planSteps, problemLine, type DeployManifest, type DeployMode, type DeployPaths, type NodeFacts, type Step } from './deploy-plan.js';
import { LinkDroppedError, RemoteNode, type ExecResult } from './deploy-remote.js';
import { logTailScript, manifestJson, probeScript, removeScript, rollbackScript, startScript, stopScript, swapScript, unitText, uploadScript, writeFileScript } from './deploy-script.js';

export interface AgentBundle {
  bytes: Buffer;
  sha256: string;
}

export interface NodeDeployRequest {
  node: NodeConfig;
  paths: DeployPaths;
  bundle: AgentBundle;
  /** The hardened unit template (src/agent/vem-agent.service). */
  unitTemplate: string;
  /** The token the agent will ask for (deploy keeps a copy on the jump host). */
  token: string;
  remove: boolean;
  dryRun: boolean;
  /** How long a started agent has to answer through the tunnel. */
  waitMs: number;
  ssh: NodeSshOptions;
  /** A progress line's new text. */
  onStep(text: string): void;
  /** Bytes of the bundle sent so far (tests cut the link here). */
  onUpload?(sent: number, total: number): void;
}

export interface NodeDeployOutcome {
  node: string;
  ok: boolean;
  /** The one line for this node. */
  line: string;
  mode?: DeployMode;
  /** The answering agent's version. */
  version?: string;
  socket?: string;
  rolledBack?: boolean;
  /** The steps (dry run). */
  steps?: Step[];
}

class StepFailed extends VemError {}

function agentVersion(info: XmlRpcValue): string {
  const a = (info as { agent?: { version?: unknown } } | null)?.agent;
  return typeof a?.version === 'string' ? a.version : '?';
}

export async function deployNode(r: NodeDeployRequest): Promise<NodeDeployOutcome> {
  const name = r.node.name;
  if (!r.node.ssh) return { node: name, ok: false, line: `${name}: has no ssh: entry; deploy reaches a node only over SSH (a url: node already runs its agent)` };
  r.onStep('connecting');
  let chain;
  try {
    chain = await connectNode(r.node, r.ssh);
  } catch (e) {
    const err = e instanceof SshConnectError ? e : new SshConnectError('network', (e as Error).message);
    const fix = err.kind === 'hostkey-unknown' ? `trust the host key first (vem node add, or the dashboard's T): ${err.pendingHostKey?.fingerprint ?? ''}` : (err.hint ?? 'check that the node is up and sshd answers');
    return { node: name, ok: false, line: `${name}: cannot connect: ${err.message}: ${fix} (nothing was changed on the node)` };
  }
  const remote = new RemoteNode(name, chain);
  try {
    return await withRemote(r, remote);
  } catch (e) {
    if (e instanceof LinkDroppedError) return { node: name, ok: false, line: `${name}: ${e.message}; the node undoes a half-done step by itself (an upload in flight is deleted): run vem deploy ${name} again once it is reachable` };
    if (e instanceof StepFailed) return { node: name, ok: false, line: `${name}: ${e.message}` };
    throw e;
  } finally {
    await endChain(chain);
  }
}

function must(res: ExecResult, what: string, fix: string): ExecResult {
  if (res.code !== 0) {
    const why = (res.stdout.match(/fail=(.*)/)?.[1] ?? res.stderr.trim().split('\n').pop() ?? '').trim();
    throw new StepFailed(`${what} failed${why ? ` (${why})` : ''} (exit ${res.code ?? '?'}): ${fix}`);
  }
  return res;
}

async function withRemote(r: NodeDeployRequest, remote: RemoteNode): Promise<NodeDeployOutcome> {
  const name = r.node.name;
  const uri = r.node.uri ?? DEFAULT_NODE_URI;
  const sockets = libvirtSocketCandidates(uri);
  r.onStep('checking the node');
  const facts = parseProbe((await remote.exec(probeScript(r.paths, sockets))).stdout);
  const mode = modeOf(facts, r.remove);
  const steps = planSteps(mode, facts, r.paths, { bundleBytes: r.bundle.bytes.length, sha256: r.bundle.sha256, uri });
  if (mode !== 'remove') {
    const needKiB = Math.ceil((2 * r.bundle.bytes.length) / 1024) + 1024;
    const problems = deployProblems(facts, { needKiB, sockets, paths: r.paths });
    if (problems.length > 0) return { node: name, ok: false, line: problemLine(name, problems), mode, steps };
  } else if (!facts.complete) {
    return { node: name, ok: false, line: `${name}: the node did not finish answering the checks; nothing was changed on it` };
  }
  if (r.dryRun) return { node: name, ok: true, mode, steps, line: `${name}: would ${mode}:\n${steps.map((s, i) => `  ${i + 1}. ${s.text}`).join('\n')}` };
  if (mode === 'remove') return removeAll(r, remote, facts);
  return install(r, remote, facts, mode, uri);
}

async function removeAll(r: NodeDeployRequest, remote: RemoteNode, f: NodeFacts): Promise<NodeDeployOutcome> {
  const name = r.node.name;
  if (!f.manifest && !f.bundlePresent && f.runningPid === undefined) return { node: name, ok: true, mode: 'remove', line: `${name}: nothing of deploy's is installed there (no ${deployFiles(r.paths).manifest}); nothing removed` };
  const systemd = (f.manifest?.mode ?? (f.systemd ? 'systemd' : 'detached')) === 'systemd';
  r.onStep('stopping the agent');
  must(await remote.exec(stopScript({ paths: r.paths, systemd })), 'stopping the agent', 'stop it by hand, then run vem deploy --remove again');
  r.onStep('removing files');
  must(await remote.exec(removeScript({ paths: r.paths, createdDirs: f.manifest?.createdDirs ?? [], systemd })), 'removing the files', 'see the message above');
  return { node: name, ok: true, mode: 'remove', line: `${name}: agent stopped and removed (bundle, token, ${systemd ? 'unit, ' : 'pid file, '}logs, history${(f.manifest?.createdDirs.length ?? 0) > 0 ? ' and the folders deploy made' : ''})` };
}

async function install(r: NodeDeployRequest, remote: RemoteNode, f: NodeFacts, mode: 'install' | 'upgrade', uri: string): Promise<NodeDeployOutcome> {
  const name = r.node.name;
  const files = deployFiles(r.paths);
  const node = f.node ?? 'node';
  const systemd = f.systemd;
  const makeDirs = mode === 'install' ? dirsToCreate(f, r.paths, systemd) : [];
  const createdDirs = mode === 'install' ? makeDirs : (f.manifest?.createdDirs ?? []);
  const nothing = '(nothing was changed on the node)';
  // 1. Upload and verify. The script removes its .part file and any folder it made if it fails.
  r.onStep(`uploading ${Math.ceil(r.bundle.bytes.length / 1024)} KiB`);
  const up = await remote.exec(uploadScript({ paths: r.paths, node, bytes: r.bundle.bytes.length, sha256: r.bundle.sha256, makeDirs }), r.bundle.bytes, (sent, total) => {
    r.onStep(`uploading ${Math.round((100 * sent) / total)}%`);
    r.onUpload?.(sent, total);
  });
  if (up.code !== 0) {
    const why = up.stdout.match(/fail=(.*)/)?.[1] ?? up.stderr.trim();
    const full = /No space|ENOSPC/i.test(up.stderr) || /^write/.test(why);
    throw new StepFailed(`the upload to ${files.newBundle} failed (${why || `exit ${up.code ?? '?'}`}${full ? '; the disk may be full' : ''}): ${full ? 'free some space there' : 'run vem deploy again'} ${nothing}`);
  }
  // From here on a failure must undo: a fresh install removes what it made, an upgrade keeps the old agent.
  const undoInstall = async (): Promise<void> => {
    await remote.exec(stopScript({ paths: r.paths, systemd })).catch(() => undefined);
    await remote.exec(removeScript({ paths: r.paths, createdDirs, systemd })).catch(() => undefined);
  };
  try {
    r.onStep('writing token and unit');
    must(await remote.exec(writeFileScript(files.token), `${r.token}\n`), `writing ${files.token}`, 'check the folder on the node');
    if (systemd) must(await remote.exec(writeFileScript(r.paths.unitPath), unitText(r.unitTemplate, { paths: r.paths, node, uri })), `writing ${r.paths.unitPath}`, 'check the folder on the node');
  } catch (e) {
    if (mode === 'install') await undoInstall();
    else await remote.exec(`rm -f '${files.newBundle.replace(/'/g, "'\\''")}'`).catch(() => undefined);
    throw e;
  }
  if (mode === 'upgrade') {
    r.onStep('stopping the running agent');
    must(await remote.exec(stopScript({ paths: r.paths, systemd })), 'stopping the running agent', 'stop it by hand and run vem deploy again');
  }
  must(await remote.exec(swapScript(r.paths, mode === 'upgrade')), 'putting the bundle in place', 'run vem deploy again');
  const startAndWait = async (): Promise<{ version?: string; why?: string }> => {
    r.onStep('starting');
    const st = await remote.exec(startScript({ paths: r.paths, node, uri, systemd }));
    if (st.code !== 0) return { why: `it did not start (${st.stderr.trim().split('\n').pop() ?? `exit ${st.code ?? '?'}`})` };
    r.onStep('waiting for it to answer');
    const got = await waitForAgent(remote, files.socket, r.token, r.waitMs);
    if (got.version !== undefined) return got;
    const tail = (await remote.exec(logTailScript(r.paths, systemd)).catch(() => ({ stdout: '' }))).stdout.trim().split('\n').filter(Boolean).pop();
    return { why: `it did not answer through the tunnel within ${Math.round(r.waitMs / 1000)} s (${got.why ?? '?'})${tail ? `; its last words: ${tail}` : ''}` };
  };
  const started = await startAndWait();
  if (started.version === undefined) {
    if (mode === 'install') {
      await undoInstall();
      throw new StepFailed(`the agent ${started.why ?? ''}; everything deploy installed was removed again: check the node's libvirt and Node.js, then run vem deploy again`);
    }
    r.onStep('rolling back');
    await remote.exec(stopScript({ paths: r.paths, systemd })).catch(() => undefined);
    must(await remote.exec(rollbackScript(r.paths)), 'rolling back to the previous bundle', `put ${files.prevBundle} back as ${files.bundle} by hand`);
    const back = await startAndWait();
    if (back.version === undefined) throw new StepFailed(`the new bundle ${started.why ?? ''}; rolled back to the previous bundle, but that does not answer either (${back.why ?? ''}): look at ${systemd ? 'journalctl -u vem-agent' : files.agentLog} on the node`);
    return { node: name, ok: false, mode, rolledBack: true, version: back.version, socket: files.socket, line: `${name}: the new bundle ${started.why ?? ''}; rolled back: the previous agent ${back.version} answers again: fix the bundle (npm run bundle:agent) and run vem deploy again` };
  }
  const manifest: DeployManifest = { v: 1, createdDirs, mode: systemd ? 'systemd' : 'detached', node, sha256: r.bundle.sha256, version: started.version, uri, at: new Date().toISOString() };
  must(await remote.exec(writeFileScript(files.manifest), manifestJson(manifest)), `writing ${files.manifest}`, 'run vem deploy again');
  if (mode === 'upgrade') await remote.exec(`rm -f '${files.prevBundle.replace(/'/g, "'\\''")}'`).catch(() => undefined);
  const how = systemd ? `systemd unit ${r.paths.unitPath}, enabled` : 'detached with a pid file (no systemd: it will NOT survive a reboot; run vem deploy again after one)';
  return { node: name, ok: true, mode, version: started.version, socket: files.socket, line: `${name}: ${mode === 'upgrade' ? 'upgraded' : 'installed'}: agent ${started.version} answers through the tunnel at unix:${files.socket}; ${how}` };
}

/** Polls node.info through the tunnel until it answers or the time is up. */
async function waitForAgent(remote: RemoteNode, socket: string, token: string, waitMs: number): Promise<{ version?: string; why?: string }> {
  const deadline = Date.now() + waitMs;
  let why: string | undefined;
  for (;;) {
    try {
      const info = await remote.callAgent(socket, nodeApi.info.name, [], token, Math.max(1000, Math.min(5000, deadline - Date.now())));
      return { version: agentVersion(info) };
    } catch (e) {
      if (e instanceof LinkDroppedError) throw e;
      why = (e as Error).message;
    }
    if (Date.now() >= deadline) return { why };
    await new Promise((res) => setTimeout(res, 300));
  }
}
