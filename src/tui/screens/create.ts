/**
 * Create a VM on a node with a form: name, vCPUs, memory, disk (new volume in
 * a pool, an existing one, or from a template with cloud-init), network, boot
 * media, start at once. Checked against what the node has before anything is
 * sent; each problem shows next to its field. From a template, the node's
 * templates and the user-data the seed will carry are shown, and the agent's
 * provisioning job is followed on the form until it ends.
 */
import { cell, escapeTags } from '../format/text.js';
import { freeForVmsKiB } from '../commands/plan.js';
import { emptyCreate, validateCreate, type CreateInput, type NodeFacts } from '../commands/manage-create.js';
import type { FieldError } from '../commands/manage-validate.js';
import { isSimulated, stepNode, titleLine, withFooter } from './common.js';
import { moveSel, Screen, type Navigable, type ScreenHost } from './types.js';
import type { Binding } from '../keymap.js';
import { editField, formBindings, formLines, type FormField, type FormState } from './form.js';
import { defaultSshKeyFile, loadTemplates, provisionProgressText, provisionVm, readLocalInputs } from '../commands/manage-provision.js';
import type { LocalInputs, TemplateFacts } from '../commands/manage-template.js';
import { hostnameFor } from '../../common/cloud-init.js';
import type { Job } from '../../api/index.js';
import type { Theme } from '../views/theme.js';

interface Field extends FormField {
  key: keyof CreateInput;
  shown?: (i: CreateInput) => boolean;
}

const mode = (i: CreateInput): string => i.diskMode.trim().toLowerCase();
const tmpl = (i: CreateInput): boolean => mode(i) === 'template';

const FIELDS: Field[] = [
  { key: 'name', label: 'name', errs: ['name'], hint: 'letters, digits, . _ + -' },
  { key: 'vcpus', label: 'vCPUs', errs: ['vcpus'], hint: 'whole number' },
  { key: 'memoryMiB', label: 'memory MiB', errs: ['memory'], hint: 'MiB' },
  { key: 'diskMode', label: 'disk', errs: ['disk'], hint: 'new | existing | template | none' },
  { key: 'template', label: 'template', errs: ['template'], hint: 'a template below, or POOL/VOLUME', shown: tmpl },
  { key: 'diskPool', label: 'disk pool', errs: ['disk pool'], hint: 'pool for the new volume', shown: (i) => mode(i) === 'new' },
  { key: 'diskPool', label: 'disk pool', errs: ['disk pool'], hint: 'pool for the overlay and seed', shown: tmpl },
  { key: 'diskSize', label: 'disk size', errs: ['disk size'], hint: 'e.g. 20G', shown: (i) => mode(i) === 'new' },
  { key: 'diskSize', label: 'disk size', errs: ['disk size'], hint: "e.g. 20G; empty: the template's", shown: tmpl },
  { key: 'diskVolume', label: 'disk volume', errs: ['disk volume'], hint: 'POOL/VOLUME', shown: (i) => mode(i) === 'existing' },
  { key: 'network', label: 'network', errs: ['network'], hint: 'a network of the node, or none' },
  { key: 'hostname', label: 'hostname', errs: ['hostname'], hint: 'empty: from the name', shown: tmpl },
  { key: 'sshKey', label: 'SSH key', errs: ['ssh key'], hint: 'a .pub file on this host, a key, or none', shown: tmpl },
  { key: 'user', label: 'user', errs: ['user'], hint: "empty: the image's default user", shown: tmpl },
  { key: 'packages', label: 'packages', errs: ['packages'], hint: 'names, space-separated', shown: tmpl },
  { key: 'userData', label: 'user-data', errs: ['user-data'], hint: '#cloud-config file on this host', shown: tmpl },
  { key: 'guestAgent', label: 'guest agent', errs: ['guest agent'], hint: 'yes | no (ve-manager\'s, in the seed)', shown: tmpl },
  { key: 'bootMode', label: 'boot', errs: ['boot'], hint: 'none | iso | kernel', shown: (i) => !tmpl(i) },
  { key: 'iso', label: 'ISO', errs: ['iso'], hint: 'POOL/VOLUME', shown: (i) => !tmpl(i) && i.bootMode === 'iso' },
  { key: 'kernel', label: 'kernel', errs: ['kernel'], hint: 'path on the node', shown: (i) => !tmpl(i) && i.bootMode === 'kernel' },
  { key: 'initrd', label: 'initrd', errs: ['initrd'], hint: 'path on the node', shown: (i) => !tmpl(i) && i.bootMode === 'kernel' },
  { key: 'start', label: 'start now', errs: ['start'], hint: 'yes | no' },
  { key: 'type', label: 'type', errs: ['type'], hint: 'kvm | qemu (TCG, no KVM)' },
];

/**
 * A provisioning job's steps as job.get told them, the failed one marked, and the
 * reason in full (it names the step and what was removed), wrapped rather than cut:
 * the create form and the tasks view draw the same lines.
 */
export function provisionJobLines(t: Theme, j: Job, width: number, by = ''): string[] {
  const p = j.provision;
  const line = (s: string): string => escapeTags(cell(s, width));
  const out = [t.head(line(`Provisioning ${p?.name ?? j.dest} from ${p?.template ?? j.vm}: ${j.status}, ${provisionProgressText(j)}${by}`))];
  for (const s of p?.steps ?? []) {
    const failed = p?.failedStep === s.step;
    const text = line(`  [${s.done ? 'x' : failed ? '!' : ' '}] ${cell(s.step, 7)} ${s.detail ?? ''}`);
    out.push(failed ? t.bad(text) : text);
  }
  if (j.status !== 'running' && j.status !== 'completed') {
    const reason = `! ${j.reason ?? 'no reason given'}`;
    const w = Math.max(20, width - 4);
    for (let i = 0; i < reason.length && i < w * 6; i += w) out.push(t.bad(line(`  ${i === 0 ? '' : '  '}${reason.slice(i, i + w)}`)));
  }
  return out;
}

export class CreateScreen extends Screen implements Navigable {
  readonly id = 'create';
  readonly title = 'Create VM';
  readonly input: CreateInput = emptyCreate();
  errors: FieldError[] = [];
  private sel = 0;
  private sending = false;
  /** The node's templates (diskMode template), by node, as the command layer read them. */
  private templates = new Map<string, TemplateFacts>();
  /** The SSH key and user-data files as last read on the jump host (the preview's input). */
  private local: LocalInputs = { sshKeys: [], errors: [] };
  /** The provisioning job this form started (`node/id` in the store's provisions), or none. */
  private jobKey: string | undefined;
  /** Shown now: a job that ends after the admin left the form closes nothing else. */
  private visible = false;

  constructor(
    private readonly h: ScreenHost,
    public node: string,
    name = '',
  ) {
    super();
    this.input.name = name;
  }

  override show(): void {
    this.visible = true;
    void this.h.cmds.loadStorage(this.node);
    void this.h.cmds.loadNetworks(this.node);
    const node = this.node;
    void loadTemplates(this.h.cmds, node).then((t) => {
      this.templates.set(node, t);
      this.h.markDirty();
    });
    if (this.input.sshKey === '') {
      void defaultSshKeyFile().then((f) => {
        if (f !== undefined && this.input.sshKey === '') this.input.sshKey = f;
        this.readLocal();
      });
    }
  }

  /** Re-reads the form's files on the jump host, for the preview. */
  private readLocal(): void {
    void readLocalInputs(this.input.sshKey, this.input.userData).then((l) => {
      this.local = l;
      this.h.markDirty();
    });
  }

  override hide(): void {
    this.visible = false;
  }

  /** The provisioning job being followed, or the last one (its steps, and why it failed), as the store keeps it. */
  get job(): Job | undefined {
    return this.jobKey !== undefined ? this.h.manage.provisions.get(this.jobKey)?.job : undefined;
  }

  private fields(): Field[] {
    return FIELDS.filter((f) => !f.shown || f.shown(this.input));
  }

  /** What the node has, from the store; undefined while its pools or networks are still being read. */
  facts(): NodeFacts | undefined {
    const st = this.h.manage.storage.get(this.node)?.data;
    const nets = this.h.manage.networks.get(this.node)?.data;
    const n = this.h.store.nodes.get(this.node);
    if (!st || !nets || !n) return undefined;
    const templates = this.templates.get(this.node);
    if (tmpl(this.input) && !templates) return undefined;
    return {
      ...(templates ? { templates } : {}),
      local: this.local,
      node: this.node,
      vmNames: this.h.store.vmsOf(this.node).map((v) => v.name),
      cpus: n.host?.cpus ?? 0,
      freeMemKiB: freeForVmsKiB(n),
      pools: st.pools,
      volumes: st.volumes,
      networks: nets.networks.map((x) => x.name),
    };
  }

  lines(width: number, height: number): string[] {
    const t = this.h.theme;
    const out = [titleLine(t, `Create a VM on ${this.node}${this.sending ? '  (sending...)' : ''}`, width, isSimulated(this.h.store, this.node))];
    const f = this.facts();
    out.push(
      escapeTags(
        cell(
          f ? `node: ${f.cpus} CPUs, ${Math.floor(f.freeMemKiB / 1024)} MiB free for VMs; pools ${f.pools.map((p) => p.name).join(', ')}; networks ${f.networks.join(', ')}` : 'reading the node\'s pools, networks and templates...',
          width,
        ),
      ),
      '',
    );
    // Errors of fields the current choices hide are left out; those of no field go under the button.
    out.push(...formLines(t, { ...this.form(), errors: this.errors.filter((x) => !FIELDS.some((fd) => fd.errs.includes(x.field)) || this.fields().some((fd) => fd.errs.includes(x.field))) }, 'create', '', width));
    if (this.job) out.push('', ...provisionJobLines(this.h.theme, this.job, width));
    if (tmpl(this.input) && f) out.push('', ...this.templateLines(f, width));
    return withFooter(out, height);
  }

  /** The node's templates, and the user-data the seed will carry (when the cloud-init fields are good). */
  private templateLines(f: NodeFacts, width: number): string[] {
    const t = this.h.theme;
    const line = (s: string): string => escapeTags(cell(s, width));
    const tf = f.templates ?? {};
    const out = [t.head(line(`Templates on ${this.node} (${tf.templates?.length ?? 0})`))];
    for (const x of tf.templates ?? []) {
      const row = line(`  ${cell(x.name, 50)} ${cell(x.kind, 6)} ${cell(x.os ?? '-', 14)} ${(x.capacity / 1024 ** 3).toFixed(1)} GiB${x.simulated === true ? '  SIMULATED' : ''}`);
      out.push(x.simulated === true ? row.replace(/SIMULATED$/, t.sim('SIMULATED')) : row);
    }
    if (tf.error !== undefined) out.push(t.bad(line(`  ! ${tf.error}`)));
    else if ((tf.templates ?? []).length === 0) out.push(line('  none (a volume of a pool named templates, or a VM marked as a template; or give POOL/VOLUME)'));
    const name = this.input.name.trim();
    const host = this.input.hostname.trim() || hostnameFor(name) || '?';
    const ud = validateCreate(this.input, f).userData;
    out.push('', t.head(line(`user-data the seed will carry (hostname ${host}; ${this.local.sshKeys.length} SSH key${this.local.sshKeys.length === 1 ? '' : 's'})`)));
    if (ud === undefined) out.push(t.dim(line('  (shown once the cloud-init fields are good)')));
    else for (const l of ud.replace(/\n$/, '').split('\n')) out.push(line(`  ${l}`));
    return out;
  }

  submit(): void {
    if (this.sending) return;
    if (!tmpl(this.input)) return this.check();
    // The key and user-data files are read again: what is sent is what the files hold now.
    this.sending = true;
    void readLocalInputs(this.input.sshKey, this.input.userData).then((l) => {
      this.local = l;
      this.sending = false;
      this.check();
    });
  }

  /** Checks the form against the node, then sends it: a definition, or the provisioning job. */
  private check(): void {
    const h = this.h;
    const f = this.facts();
    if (!f) return h.say(`still reading ${this.node}'s pools, networks and templates; try again in a moment`, true);
    const r = validateCreate(this.input, f);
    this.errors = r.errors;
    if (!r.plan && !r.provision) {
      h.markDirty();
      h.say(`not created: ${r.errors.map((e) => e.message).join('; ')}`, true);
      return;
    }
    const plan = r.plan;
    if (r.provision) {
      const choice = r.provision;
      this.sending = true;
      this.jobKey = undefined;
      void provisionVm(h.cmds, this.node, choice, (key) => {
        this.jobKey = key;
        h.markDirty();
      }).then((res) => {
        this.sending = false;
        if (res.ok && this.visible) h.close();
        else if (!res.ok) {
          // A job that ran and failed is drawn with its steps and reason; a refusal goes under its field.
          this.errors = res.job && res.job.status !== 'running' ? [] : [res.error];
          h.markDirty();
        }
      });
      return;
    }
    if (!plan) return;
    this.sending = true;
    void h.cmds.createVm(this.node, plan).then((res) => {
      this.sending = false;
      if (res.ok) h.close();
      else {
        this.errors = [{ field: 'libvirt', message: res.error }];
        h.markDirty();
      }
    });
  }

  private form(): FormState<Field> {
    return { fields: this.fields(), sel: this.sel, errors: this.errors, value: (f) => this.input[f.key] || '' };
  }

  navigate(k: string): void {
    this.sel = moveSel(this.sel, this.fields().length + 1, k) ?? this.sel;
  }

  enter(): void {
    editField(this.h, this.form(), {
      move: (sel) => (this.sel = Math.min(sel, this.fields().length)),
      set: (f, text) => {
        this.input[f.key] = text;
        this.errors = this.errors.filter((e) => !f.errs.includes(e.field));
        if (f.key === 'sshKey' || f.key === 'userData') this.readLocal();
      },
      submit: () => this.submit(),
    });
  }

  stepNode(delta: number): void {
    this.node = stepNode(this.h.store, this.node, delta);
    this.errors = [];
    this.jobKey = undefined;
    this.show();
  }

  static readonly TABLE: readonly Binding<CreateScreen>[] = [
    ...formBindings<CreateScreen>('create'),
    { keys: ['['], help: 'previous node', run: (s) => s.stepNode(-1) },
    { keys: [']'], help: 'next node', hint: 'node', run: (s) => s.stepNode(1) },
  ];

  protected table(): readonly Binding<this>[] {
    return CreateScreen.TABLE;
  }
}
