/**
 * The create form's "from template", the part that does I/O: the node's
 * templates (template.list), the SSH key and user-data files on the jump host
 * (the machine the dashboard runs on), and the agent's vm.provision job, started
 * and followed to its end through the typed client. The checks are pure
 * (manage-template.ts); the agent checks again and its refusals are mapped back
 * to the form's fields.
 */
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { client, type Client } from '../../api/client.js';
import type { AgentEvent, Job } from '../../api/index.js';
import { XmlRpcFault } from '../../common/xmlrpc/codec.js';
import type { ManageStore, ProvisionFollow } from '../store/manage.js';
import { agentFieldError, type LocalInputs, type TemplateChoice, type TemplateFacts } from './manage-template.js';
import type { FieldError } from './manage-validate.js';
import { errText, type ManageCommands } from './manage.js';

function nodeClient(cmds: ManageCommands, node: string): Client {
  return client({ call: (m, ...p) => cmds.call(node, m, ...p) });
}

/** template.list of the node, or why it could not be read (an older agent, a link down). */
export async function loadTemplates(cmds: ManageCommands, node: string): Promise<TemplateFacts> {
  try {
    return { templates: await nodeClient(cmds, node).template.list() };
  } catch (e) {
    return { error: errText(e) };
  }
}

/** The usual key of the admin on the jump host: ~/.ssh/id_ed25519.pub, id_ecdsa.pub, id_rsa.pub, else the first *.pub. */
export async function defaultSshKeyFile(home = homedir()): Promise<string | undefined> {
  const names = await readdir(join(home, '.ssh')).catch(() => [] as string[]);
  const pubs = names.filter((n) => n.endsWith('.pub')).sort();
  const pick = ['id_ed25519.pub', 'id_ecdsa.pub', 'id_rsa.pub'].find((n) => pubs.includes(n)) ?? pubs[0];
  return pick !== undefined ? `~/.ssh/${pick}` : undefined;
}

function expand(path: string, home: string): string {
  return path === '~' || path.startsWith('~/') ? join(home, path.slice(2)) : resolve(path);
}

const KEY_START = /^(ssh-|ecdsa-|sk-)/;

/**
 * The files the form names, read on the jump host: the SSH key field (a file of
 * public keys, one key typed in, or none) and the user-data file (or none).
 */
export async function readLocalInputs(sshKey: string, userData: string, home = homedir()): Promise<LocalInputs> {
  const errors: FieldError[] = [];
  let sshKeys: string[] = [];
  const k = sshKey.trim();
  if (k !== '' && k !== 'none') {
    if (KEY_START.test(k)) sshKeys = [k];
    else {
      try {
        sshKeys = (await readFile(expand(k, home), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
        if (sshKeys.length === 0) errors.push({ field: 'ssh key', message: `SSH key: ${k} on the jump host holds no key` });
      } catch (e) {
        errors.push({ field: 'ssh key', message: `SSH key: cannot read ${k} on the jump host (${(e as NodeJS.ErrnoException).code ?? errText(e)})` });
      }
    }
  }
  let text: string | undefined;
  const u = userData.trim();
  if (u !== '' && u !== 'none') {
    try {
      text = await readFile(expand(u, home), 'utf8');
    } catch (e) {
      errors.push({ field: 'user-data', message: `user-data: cannot read ${u} on the jump host (${(e as NodeJS.ErrnoException).code ?? errText(e)})` });
    }
  }
  return { sshKeys, ...(text !== undefined ? { userData: text } : {}), errors };
}

export { provisionProgressText } from '../store/tasks.js';

/** What a completed job made, in one line for the status line. */
export function provisionResultText(node: string, j: Job): string {
  const p = j.provision;
  if (!p) return `made VM ${j.dest || j.vm} on ${node}`;
  const gib = (p.disk.capacity / 1024 ** 3).toFixed(1);
  return `made VM ${p.name} on ${node} from ${p.template}: ${gib} GiB overlay in ${p.disk.pool}, seed${p.seed.tool !== undefined ? ` by ${p.seed.tool}` : ''}, ${p.start ? 'started' : 'not started'}`;
}

export type ProvisionOutcome = { ok: true; job: Job } | { ok: false; error: FieldError; job?: Job };

/** The agent's fault for a job it does not know (restarted, or the job trimmed): following it is over. */
const NOT_FOUND = 1003;

/** The followers running now, per store: one job.get loop per job however many ask. */
const following = new WeakMap<ManageStore, Map<string, Promise<ProvisionFollow>>>();

/**
 * Follows a vm.provision job with job.get every `everyMs` until it ends, keeping
 * each answer in the management store (the create form and the tasks view draw
 * it from there, so it outlives the form). Asked again for a job already
 * followed, it hands back the same follower (the form's own job can also come
 * through the node's events first).
 */
export function followProvision(cmds: ManageCommands, node: string, id: string, o: { name?: string; template?: string; by?: ProvisionFollow['by']; everyMs?: number } = {}): Promise<ProvisionFollow> {
  const key = `${node}/${id}`;
  const store = cmds.store;
  let f = store.provisions.get(key);
  if (!f) {
    f = { node, id, name: o.name ?? '?', template: o.template ?? '?', by: o.by ?? 'events', startedAt: Date.now() };
    store.provisions.set(key, f);
    store.changed();
  } else if (o.by === 'dashboard') f.by = 'dashboard';
  let m = following.get(store);
  if (!m) following.set(store, (m = new Map()));
  const running = m.get(key);
  if (running) return running;
  if (f.job && f.job.status !== 'running') return Promise.resolve(f);
  const p = runFollow(cmds, f, o.everyMs ?? 400).finally(() => m.delete(key));
  m.set(key, p);
  return p;
}

async function runFollow(cmds: ManageCommands, f: ProvisionFollow, everyMs: number): Promise<ProvisionFollow> {
  const c = nodeClient(cmds, f.node);
  let misses = 0;
  for (;;) {
    try {
      const job = await c.job.get(f.id);
      misses = 0;
      f.job = job;
      if (job.provision) {
        f.name = job.provision.name;
        f.template = job.provision.template;
      }
      cmds.store.changed();
      if (job.status !== 'running') break;
    } catch (e) {
      // A dropped link comes back and the job runs on in the agent meanwhile; a job the agent no longer knows is over.
      const gone = e instanceof XmlRpcFault && e.code === NOT_FOUND;
      if (gone && !f.job && f.by === 'events') {
        // An old event of a job the agent has since forgotten (the first events page holds the node's history): nothing to show.
        cmds.store.provisions.delete(`${f.node}/${f.id}`);
        cmds.store.changed();
        return f;
      }
      if (gone || ++misses >= 120) {
        f.lost = `lost track of job ${f.id}: ${errText(e)}`;
        cmds.store.changed();
        break;
      }
    }
    await new Promise((r) => setTimeout(r, everyMs).unref());
  }
  cmds.host.invalidate(f.node);
  return f;
}

/**
 * Start vm.provision and follow it every `everyMs` until it ends (the job's
 * answers go to the management store: `cmds.store.provisions`, by `node/id`,
 * handed to `onStarted`). A refusal before the job (bad input the agent found)
 * comes back as the form field it names.
 */
export async function provisionVm(cmds: ManageCommands, node: string, choice: TemplateChoice, onStarted: (key: string) => void = () => undefined, everyMs = 400): Promise<ProvisionOutcome> {
  const c = nodeClient(cmds, node);
  const name = choice.spec.name;
  const say = (t: string, e?: boolean): void => cmds.host.say(t, e);
  say(`making VM ${name} on ${node} from ${choice.template.name}...`);
  let id: string;
  try {
    id = await c.template.provision(choice.spec);
  } catch (e) {
    const error = agentFieldError(errText(e));
    say(`VM ${name} not made: ${error.message}`, true);
    return { ok: false, error };
  }
  const follower = followProvision(cmds, node, id, { name, template: choice.template.name, by: 'dashboard', everyMs });
  onStarted(`${node}/${id}`);
  const f = await follower;
  const job = f.job;
  if (f.lost !== undefined || !job) {
    const message = f.lost ?? `lost track of job ${id}`;
    say(`VM ${name}: ${message}`, true);
    return { ok: false, error: { field: 'libvirt', message }, ...(job ? { job } : {}) };
  }
  if (job.status === 'completed') {
    say(provisionResultText(node, job));
    return { ok: true, job };
  }
  const message = `${job.status}: ${job.reason ?? 'no reason given'}`;
  say(`VM ${name} not made: ${message}`, true);
  return { ok: false, error: { field: 'libvirt', message: `the job ${message}` }, job };
}

/**
 * The provisioning jobs a node's events tell of (vm.provision started by `vem vm
 * create` or another dashboard, or this one's before the form had the id), each
 * followed into the tasks view. Only events of jobs not followed yet cost a call.
 */
export function followProvisionEvents(cmds: ManageCommands, node: string, events: readonly AgentEvent[]): void {
  for (const e of events) {
    if (e.source !== 'job' || e.detail['kind'] !== 'provision') continue;
    const id = e.detail['job'];
    if (typeof id !== 'string' || cmds.store.provisions.has(`${node}/${id}`)) continue;
    const dest = e.detail['dest'];
    void followProvision(cmds, node, id, { ...(typeof dest === 'string' ? { name: dest } : {}), ...(e.vm !== undefined ? { template: e.vm } : {}), by: 'events' });
  }
}

/** The node's templates into the store (the :templates screen), once at a time per node. */
export async function loadNodeTemplates(cmds: ManageCommands, node: string): Promise<void> {
  const l = cmds.store.loaded(cmds.store.templates, node);
  if (l.loading) return;
  l.loading = true;
  cmds.store.changed();
  const t = await loadTemplates(cmds, node);
  l.loading = false;
  l.at = Date.now();
  if (t.templates) {
    l.data = [...t.templates];
    delete l.error;
  } else l.error = t.error ?? 'no answer';
  cmds.store.changed();
}

/** Whether the node lists the VM as a template (template.list), or why that is not known. */
export async function isVmTemplate(cmds: ManageCommands, node: string, vm: string): Promise<boolean | { error: string }> {
  const t = await loadTemplates(cmds, node);
  if (!t.templates) return { error: t.error ?? 'no answer' };
  return t.templates.some((x) => x.kind === 'vm' && x.name === vm);
}

/** Marks a stopped VM as a template (on) or makes it an ordinary VM again; the result on the status line. */
export async function setVmTemplate(cmds: ManageCommands, node: string, vm: string, on: boolean): Promise<boolean> {
  const c = nodeClient(cmds, node);
  try {
    if (on) await c.template.mark(vm);
    else await c.template.unmark(vm);
  } catch (e) {
    cmds.host.say(`${vm} on ${node}: ${on ? 'not made a template' : 'still a template'}: ${errText(e)}`, true);
    return false;
  }
  cmds.host.say(on ? `${vm} on ${node} is now a template (it is not started again; make VMs from it with disk: template)` : `${vm} on ${node} is an ordinary VM again`);
  cmds.host.invalidate(node);
  if (cmds.store.templates.has(node)) void loadNodeTemplates(cmds, node);
  return true;
}
