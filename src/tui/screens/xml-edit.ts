/**
 * Edit a VM's XML in $EDITOR: the persistent definition goes to a private temp
 * file, the editor runs on the terminal, and the result is checked (well formed)
 * then sent with vm.redefine. When it is refused, locally or by libvirt, the
 * error is shown with the edited text, which stays in its file: `e` edits it
 * again, nothing is lost.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cell, escapeTags } from '../format/text.js';
import type { VmRecord } from '../store/model.js';
import { xmlWellFormed } from '../store/manage-xml.js';
import { isSimulated, titleLine, withFooter } from './common.js';
import { Screen, type ScreenHost } from './types.js';
import type { Binding } from '../keymap.js';

/** Runs the admin's editor on a file with the terminal handed over; resolves when it exits (true = status 0). */
export type EditorRunner = (file: string) => Promise<boolean>;

type State = { kind: 'loading' } | { kind: 'editing' } | { kind: 'sending' } | { kind: 'rejected'; error: string; local: boolean } | { kind: 'failed'; error: string };

export class XmlEditScreen extends Screen {
  readonly id = 'xml';
  readonly title = 'XML edit';
  state: State = { kind: 'loading' };
  file = '';
  private original = '';
  private top = 0;

  constructor(
    private readonly h: ScreenHost,
    readonly vm: VmRecord,
    private readonly runEditor: EditorRunner,
  ) {
    super();
  }

  override show(): void {
    void this.begin();
  }

  override hide(): void {}

  private async begin(): Promise<void> {
    try {
      this.original = await this.h.cmds.domainXml(this.vm);
      // Private directory: the XML may name paths and secrets of the VM.
      const dir = mkdtempSync(join(tmpdir(), 'vem-xml-'));
      this.file = join(dir, `${this.vm.name.replace(/[^A-Za-z0-9._-]/g, '_')}.xml`);
      writeFileSync(this.file, this.original, { mode: 0o600 });
      await this.edit();
    } catch (e) {
      this.state = { kind: 'failed', error: e instanceof Error ? e.message : String(e) };
      this.h.markDirty();
    }
  }

  /** Open the file (the original or the kept, refused text) in the editor, then send what comes back. */
  async edit(): Promise<void> {
    this.state = { kind: 'editing' };
    this.h.markDirty();
    const ok = await this.runEditor(this.file);
    const text = readFileSync(this.file, 'utf8');
    if (!ok) {
      this.state = { kind: 'rejected', error: 'the editor exited with an error: nothing was sent', local: true };
      this.h.markDirty();
      return;
    }
    if (text === this.original) {
      this.h.say(`XML of ${this.vm.name}: no change, nothing sent`);
      this.h.close();
      return;
    }
    const wf = xmlWellFormed(text);
    if (!wf.ok) {
      this.state = { kind: 'rejected', error: `broken XML at line ${wf.line}: ${wf.message} (nothing was sent)`, local: true };
      this.top = Math.max(0, wf.line - 3);
      this.h.say(`XML of ${this.vm.name}: broken at line ${wf.line}, nothing sent; e edits your text again`, true);
      this.h.markDirty();
      return;
    }
    this.state = { kind: 'sending' };
    this.h.markDirty();
    const r = await this.h.cmds.redefine(this.vm, text);
    if (r.ok) {
      this.h.say(`XML of ${this.vm.name} saved${r.appliesAtNextBoot ? ' (the running VM takes it at its next start)' : ''}`);
      this.original = text;
      this.h.close();
      return;
    }
    this.state = { kind: 'rejected', error: `libvirt refused it: ${r.error}`, local: false };
    this.h.say(`XML of ${this.vm.name} refused: ${r.error}`, true);
    this.h.markDirty();
  }

  lines(width: number, height: number): string[] {
    const t = this.h.theme;
    const out = [titleLine(t, `XML of ${this.vm.name} on ${this.vm.node}`, width, isSimulated(this.h.store, this.vm.node))];
    const s = this.state;
    if (s.kind === 'loading') out.push('reading the definition...');
    else if (s.kind === 'editing') out.push('in the editor ($EDITOR)...');
    else if (s.kind === 'sending') out.push('sending to libvirt...');
    else if (s.kind === 'failed') out.push(t.bad(escapeTags(cell(`could not read the XML: ${s.error}`, width))));
    else {
      // The whole error, wrapped: libvirt's message names the element at fault.
      const err = s.error;
      for (let i = 0; i < err.length && out.length < 5; i += width) out.push(t.bad(escapeTags(err.slice(i, i + width))));
      out.push(escapeTags(cell(`your text is kept in ${this.file}`, width)));
      out.push('');
      let text: string[] = [];
      try {
        text = readFileSync(this.file, 'utf8').split('\n');
      } catch {
        /* shown as empty */
      }
      const room = Math.max(1, height - out.length - 1);
      this.top = Math.max(0, Math.min(this.top, text.length - room));
      text.slice(this.top, this.top + room).forEach((l, i) => out.push(escapeTags(cell(`${String(this.top + i + 1).padStart(4)} ${l}`, width))));
    }
    return withFooter(out, height);
  }

  private rejected(): boolean {
    return this.state.kind === 'rejected';
  }

  /** While the editor runs or the XML is being sent, keys wait (nothing else happens on this screen). */
  override fallback(): boolean {
    return this.state.kind === 'editing' || this.state.kind === 'sending';
  }

  static readonly TABLE: readonly Binding<XmlEditScreen>[] = [
    { keys: ['e'], help: 'edit your refused text again in $EDITOR', hint: 'edit again', when: (x) => x.rejected(), run: (x) => void x.edit() },
    { keys: ['up', 'k'], help: 'scroll up', when: (x) => x.rejected(), run: (x) => (x.top = Math.max(0, x.top - 1)) },
    { keys: ['down', 'j'], help: 'scroll down', hint: 'scroll', when: (x) => x.rejected(), run: (x) => x.top++ },
  ];

  protected table(): readonly Binding<this>[] {
    return XmlEditScreen.TABLE;
  }
}
