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
import type { Job } from '../../api/index.js';
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

/** The job's steps in words: "disk, seed done; now define". */
export function provisionProgressText(j: Job): string {
  const steps = j.provision?.steps ?? [];
  const done = steps.filter((s) => s.done).map((s) => s.step);
  const now = steps.find((s) => !s.done)?.step;
  return `${done.join(', ') || 'nothing'} done${j.status === 'running' && now !== undefined ? `; now ${now}` : ''}`;
}

/** What a completed job made, in one line for the status line. */
export function provisionResultText(node: string, j: Job): string {
  const p = j.provision;
  if (!p) return `made VM ${j.dest || j.vm} on ${node}`;
  const gib = (p.disk.capacity / 1024 ** 3).toFixed(1);
  return `made VM ${p.name} on ${node} from ${p.template}: ${gib} GiB overlay in ${p.disk.pool}, seed${p.seed.tool !== undefined ? ` by ${p.seed.tool}` : ''}, ${p.start ? 'started' : 'not started'}`;
}

export type ProvisionOutcome = { ok: true; job: Job } | { ok: false; error: FieldError; job?: Job };

/**
 * Start vm.provision and follow it every `everyMs` until it ends, handing each
 * job.get answer to `onJob` (the form draws it). A refusal before the job (bad
 * input the agent found) comes back as the form field it names.
 */
export async function provisionVm(cmds: ManageCommands, node: string, choice: TemplateChoice, onJob: (j: Job) => void, everyMs = 400): Promise<ProvisionOutcome> {
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
  let job: Job | undefined;
  let misses = 0;
  for (;;) {
    try {
      job = await c.job.get(id);
      misses = 0;
      onJob(job);
      if (job.status !== 'running') break;
    } catch (e) {
      // A dropped link comes back; the job runs on in the agent meanwhile.
      if (++misses >= 120) {
        const message = `lost track of job ${id}: ${errText(e)}`;
        say(`VM ${name}: ${message}`, true);
        cmds.host.invalidate(node);
        return { ok: false, error: { field: 'libvirt', message }, ...(job ? { job } : {}) };
      }
    }
    await new Promise((r) => setTimeout(r, everyMs).unref());
  }
  cmds.host.invalidate(node);
  if (job.status === 'completed') {
    say(provisionResultText(node, job));
    return { ok: true, job };
  }
  const message = `${job.status}: ${job.reason ?? 'no reason given'}`;
  say(`VM ${name} not made: ${message}`, true);
  return { ok: false, error: { field: 'libvirt', message: `the job ${message}` }, job };
}
