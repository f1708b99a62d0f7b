/**
 * Clone a stopped VM: a new name and whether to start it, a preview of the
 * volumes that will be copied (and under which names), the disks shared and
 * the NICs that get new MACs; then the copy's progress until the agent's job
 * ends. Problems are named by field and nothing is sent while there are any.
 */
import { cell, escapeTags } from '../format/text.js';
import { fmtBytes } from '../format/units.js';
import { cloneVm, emptyClone, previewClone, type CloneInput, type ClonePreview } from '../commands/manage-clone.js';
import type { FieldError } from '../commands/manage-validate.js';
import type { VmRecord } from '../store/model.js';
import { isSimulated, titleLine, withFooter } from './common.js';
import { moveSel, Screen, type Navigable, type ScreenHost } from './types.js';
import type { Binding } from '../keymap.js';
import { editField, formBindings, formLines, type FormField, type FormState } from './form.js';

const FIELDS: Array<FormField & { key: keyof CloneInput }> = [
  { key: 'name', label: 'new name', hint: 'letters, digits, . _ + -', errs: ['name'] },
  { key: 'start', label: 'start now', hint: 'yes | no', errs: ['start'] },
];

export class CloneScreen extends Screen implements Navigable {
  readonly id = 'clone';
  readonly title = 'Clone VM';
  readonly input: CloneInput;
  errors: FieldError[] = [];
  private sel = 0;
  private sending = false;

  constructor(
    private readonly h: ScreenHost,
    readonly vm: VmRecord,
  ) {
    super();
    this.input = emptyClone(vm.name);
  }

  override show(): void {
    void this.h.cmds.loadStorage(this.vm.node);
    void this.h.cmds.loadVmDevices(this.vm);
  }

  override hide(): void {}

  private current(): VmRecord {
    return this.h.store.vms.get(this.vm.key) ?? this.vm;
  }

  /** The preview from the store; undefined while the VM's devices or the node's pools are being read. */
  preview(): ClonePreview | undefined {
    const devices = this.h.manage.vmDevices.get(this.vm.key)?.data;
    const storage = this.h.manage.storage.get(this.vm.node)?.data;
    if (!devices || !storage) return undefined;
    return previewClone(this.current(), devices, storage, this.h.store.vmsOf(this.vm.node).map((v) => v.name), this.input);
  }

  lines(width: number, height: number): string[] {
    const t = this.h.theme;
    const vm = this.current();
    const follow = this.h.manage.clones.get(vm.key);
    const running = follow?.state === 'running';
    const out = [titleLine(t, `Clone VM ${vm.name} on ${vm.node} (${vm.state})`, width, isSimulated(this.h.store, vm.node)), ''];
    // Said before anything is typed: a clone is made from a stopped VM.
    if (vm.state !== 'shutoff' && !follow) out.splice(1, 1, t.bad(escapeTags(cell(`${vm.name} is ${vm.state}: shut it down first (Esc, then d), so its disks are consistent`, width))), '');
    out.push(...formLines(t, this.form(), 'clone', this.sending || running ? '  (cloning...)' : '', width), '');

    const p = this.preview();
    if (!p) out.push('reading the VM\'s disks and the node\'s pools...');
    else {
      out.push(t.head(escapeTags(cell(`Volumes copied (${p.copies.length}), into the pool each one is in`, width))));
      for (const c of p.copies) out.push(escapeTags(cell(`  ${cell(c.target, 5)} ${cell(`${c.pool}/${c.from}`, 30)} -> ${cell(c.to, 30)} ${fmtBytes(c.bytes)}`, width)));
      if (p.copies.length === 0) out.push('  none');
      out.push(escapeTags(cell(`Shared with ${vm.name}: ${p.shared.join(', ') || 'none'}    NICs given new MACs: ${p.nics}`, width)));
    }
    if (follow && follow.name === this.input.name.trim()) {
      out.push('', t.head(escapeTags(cell(`Clone ${follow.name}: ${follow.state}${follow.bytesTotal > 0 ? `, ${follow.percent}% (${fmtBytes(follow.bytesDone)} of ${fmtBytes(follow.bytesTotal)})` : ''}`, width))));
      for (const v of follow.volumes) out.push(escapeTags(cell(`  ${v.done ? 'copied ' : 'copying'} ${v.target} -> ${v.pool}/${v.to}`, width)));
      if (follow.error) out.push(t.bad(escapeTags(cell(`  ! ${follow.error}`, width))));
    }
    return withFooter(out, height);
  }

  submit(): void {
    const h = this.h;
    if (this.sending) return;
    const p = this.preview();
    if (!p) return h.say(`still reading ${this.vm.name}'s disks and ${this.vm.node}'s pools; try again in a moment`, true);
    this.errors = p.errors;
    if (!p.plan) {
      h.say(`not cloned: ${p.errors.map((e) => e.message).join('; ')}`, true);
      return;
    }
    this.sending = true;
    void cloneVm(h.cmds, this.current(), p.plan).then((ok) => {
      this.sending = false;
      if (ok) h.close();
      else h.markDirty();
    });
  }

  private form(): FormState<(typeof FIELDS)[number]> {
    return { fields: FIELDS, sel: this.sel, errors: this.errors, value: (f) => this.input[f.key] };
  }

  navigate(k: string): void {
    this.sel = moveSel(this.sel, FIELDS.length + 1, k) ?? this.sel;
  }

  enter(): void {
    editField(this.h, this.form(), {
      move: (sel) => (this.sel = Math.min(sel, FIELDS.length)),
      set: (f, text) => {
        this.input[f.key] = text;
        this.errors = this.errors.filter((e) => !f.errs.includes(e.field));
      },
      submit: () => this.submit(),
    });
  }

  static readonly TABLE: readonly Binding<CloneScreen>[] = [
    ...formBindings<CloneScreen>('clone'),
  ];

  protected table(): readonly Binding<this>[] {
    return CloneScreen.TABLE;
  }
}
