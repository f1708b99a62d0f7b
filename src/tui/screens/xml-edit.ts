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
import type { Screen, ScreenHost } from './types.js';

/** Runs the admin's editor on a file with the terminal handed over; resolves when it exits (true = status 0). */
export type EditorRunner = (file: string) => Promise<boolean>;

type State = { kind: 'loading' } | { kind: 'editing' } | { kind: 'sending' } | { kind: 'rejected'; error: string; local: boolean } | { kind: 'failed'; error: string };

export class XmlEditScreen implements Screen {
  readonly id = 'xml';
  state: State = { kind: 'loading' };
  file = '';
  private original = '';
  private top = 0;

  constructor(
    private readonly h: ScreenHost,
    readonly vm: VmRecord,
    private readonly runEditor: EditorRunner,
  ) {}

  show(): void {
    void this.begin();
  }

  hide(): void {}

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
    return withFooter(out, height, t.dim(s.kind === 'rejected' ? 'e edit your text again  up/down scroll  Esc discard (the file stays)' : 'Esc back'));
  }

  key(k: string): boolean {
    if (this.state.kind !== 'rejected') return this.state.kind === 'editing' || this.state.kind === 'sending';
    if (k === 'e') {
      void this.edit();
      return true;
    }
    if (k === 'up' || k === 'k') this.top = Math.max(0, this.top - 1);
    else if (k === 'down' || k === 'j') this.top++;
    else return false;
    return true;
  }
}
