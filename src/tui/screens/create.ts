/**
 * Create a VM on a node with a form: name, vCPUs, memory, disk (new volume in
 * a pool, or an existing one), network, boot media, start at once. Checked
 * against what the node has before anything is sent; each problem shows next
 * to its field.
 */
import { cell, escapeTags } from '../format/text.js';
import { freeForVmsKiB } from '../commands/plan.js';
import { emptyCreate, validateCreate, type CreateInput, type NodeFacts } from '../commands/manage-create.js';
import type { FieldError } from '../commands/manage-validate.js';
import { isSimulated, stepNode, titleLine, withFooter } from './common.js';
import { moveSel, Screen, type Navigable, type ScreenHost } from './types.js';
import type { Binding } from '../keymap.js';
import { editField, formBindings, formLines, type FormField, type FormState } from './form.js';

interface Field extends FormField {
  key: keyof CreateInput;
  shown?: (i: CreateInput) => boolean;
}

const FIELDS: Field[] = [
  { key: 'name', label: 'name', errs: ['name'], hint: 'letters, digits, . _ + -' },
  { key: 'vcpus', label: 'vCPUs', errs: ['vcpus'], hint: 'whole number' },
  { key: 'memoryMiB', label: 'memory MiB', errs: ['memory'], hint: 'MiB' },
  { key: 'diskMode', label: 'disk', errs: ['disk'], hint: 'new | existing | none' },
  { key: 'diskPool', label: 'disk pool', errs: ['disk pool'], hint: 'pool for the new volume', shown: (i) => i.diskMode === 'new' },
  { key: 'diskSize', label: 'disk size', errs: ['disk size'], hint: 'e.g. 20G', shown: (i) => i.diskMode === 'new' },
  { key: 'diskVolume', label: 'disk volume', errs: ['disk volume'], hint: 'POOL/VOLUME', shown: (i) => i.diskMode === 'existing' },
  { key: 'network', label: 'network', errs: ['network'], hint: 'a network of the node, or none' },
  { key: 'bootMode', label: 'boot', errs: ['boot'], hint: 'none | iso | kernel' },
  { key: 'iso', label: 'ISO', errs: ['iso'], hint: 'POOL/VOLUME', shown: (i) => i.bootMode === 'iso' },
  { key: 'kernel', label: 'kernel', errs: ['kernel'], hint: 'path on the node', shown: (i) => i.bootMode === 'kernel' },
  { key: 'initrd', label: 'initrd', errs: ['initrd'], hint: 'path on the node', shown: (i) => i.bootMode === 'kernel' },
  { key: 'start', label: 'start now', errs: ['start'], hint: 'yes | no' },
  { key: 'type', label: 'type', errs: ['type'], hint: 'kvm | qemu (TCG, no KVM)' },
];

export class CreateScreen extends Screen implements Navigable {
  readonly id = 'create';
  readonly title = 'Create VM';
  readonly input: CreateInput = emptyCreate();
  errors: FieldError[] = [];
  private sel = 0;
  private sending = false;

  constructor(
    private readonly h: ScreenHost,
    public node: string,
    name = '',
  ) {
    super();
    this.input.name = name;
  }

  override show(): void {
    void this.h.cmds.loadStorage(this.node);
    void this.h.cmds.loadNetworks(this.node);
  }

  override hide(): void {}

  private fields(): Field[] {
    return FIELDS.filter((f) => !f.shown || f.shown(this.input));
  }

  /** What the node has, from the store; undefined while its pools or networks are still being read. */
  facts(): NodeFacts | undefined {
    const st = this.h.manage.storage.get(this.node)?.data;
    const nets = this.h.manage.networks.get(this.node)?.data;
    const n = this.h.store.nodes.get(this.node);
    if (!st || !nets || !n) return undefined;
    return {
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
          f ? `node: ${f.cpus} CPUs, ${Math.floor(f.freeMemKiB / 1024)} MiB free for VMs; pools ${f.pools.map((p) => p.name).join(', ')}; networks ${f.networks.join(', ')}` : 'reading the node\'s pools and networks...',
          width,
        ),
      ),
      '',
    );
    // Errors of fields the current choices hide are left out; those of no field go under the button.
    out.push(...formLines(t, { ...this.form(), errors: this.errors.filter((x) => !FIELDS.some((fd) => fd.errs.includes(x.field)) || this.fields().some((fd) => fd.errs.includes(x.field))) }, 'create', '', width));
    return withFooter(out, height);
  }

  submit(): void {
    const h = this.h;
    if (this.sending) return;
    const f = this.facts();
    if (!f) return h.say(`still reading ${this.node}'s pools and networks; try again in a moment`, true);
    const r = validateCreate(this.input, f);
    this.errors = r.errors;
    if (!r.plan) {
      h.say(`not created: ${r.errors.map((e) => e.message).join('; ')}`, true);
      return;
    }
    const plan = r.plan;
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
      },
      submit: () => this.submit(),
    });
  }

  stepNode(delta: number): void {
    this.node = stepNode(this.h.store, this.node, delta);
    this.errors = [];
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
