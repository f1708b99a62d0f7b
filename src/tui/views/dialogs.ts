/** The dashboard's dialogs: confirmations, migration, evacuation, snapshots. */
import type { Dashboard } from './app.js';
import type { EvacuationStep } from '../commands/plan.js';
import { targetsFor } from '../commands/plan.js';
import { escapeTags } from '../format/text.js';
import { evacuationLines, migrateChoiceLines, migrationLines } from './panels.js';

export type Dialog =
  | { kind: 'confirm'; lines: string[]; yes: () => void }
  | { kind: 'migrate'; vmKey: string; sel: number; live: boolean }
  | { kind: 'progress'; vmKey: string }
  | { kind: 'evacuate'; node: string; steps: EvacuationStep[] }
  | { kind: 'snapshots'; vmKey: string; list: string[] | null; sel: number; error?: string };

export function dialogLines(d: Dashboard, dlg: Dialog, width: number, height: number): string[] {
  const t = d.theme;
  switch (dlg.kind) {
    case 'confirm':
      return [...dlg.lines.map(escapeTags), '', 'y confirm   n/Esc cancel'];
    case 'migrate': {
      const vm = d.vm(dlg.vmKey);
      if (!vm) return ['the VM is gone', '', 'Esc close'];
      const fits = targetsFor(vm, d.store.nodes.values());
      return migrateChoiceLines(vm, fits, Math.min(dlg.sel, fits.length - 1), dlg.live, t);
    }
    case 'progress': {
      const m = d.cmd.migrations.get(dlg.vmKey);
      if (!m) return ['no migration', '', 'Esc close'];
      return [t.head(escapeTags(`Migration of ${m.vm}`)), ...migrationLines(m, width, t, d.glyphs), '', m.finished ? 'Esc close' : 'c cancel the migration   Esc close (it keeps running)'];
    }
    case 'evacuate':
      return evacuationLines(dlg.node, dlg.steps, t).slice(0, height);
    case 'snapshots': {
      const vm = d.vm(dlg.vmKey);
      const out = [t.head(escapeTags(`Snapshots of ${vm?.name ?? dlg.vmKey}`)), ''];
      if (dlg.error) out.push(t.bad(escapeTags(dlg.error)));
      else if (dlg.list === null) out.push('loading...');
      else if (dlg.list.length === 0) out.push('no snapshots');
      else dlg.list.forEach((s, i) => out.push(i === dlg.sel ? t.sel(escapeTags(`>${s} `)) : escapeTags(` ${s}`)));
      out.push('', 'c create   r revert to selected   x delete selected   Esc close');
      return out;
    }
  }
}

async function loadSnapshots(d: Dashboard, dlg: Extract<Dialog, { kind: 'snapshots' }>): Promise<void> {
  const vm = d.vm(dlg.vmKey);
  if (!vm) return;
  try {
    dlg.list = await d.cmd.snapshotList(vm);
  } catch (e) {
    dlg.error = e instanceof Error ? e.message : String(e);
  }
  d.markDirty();
}

export function openSnapshots(d: Dashboard, vmKey: string): void {
  const dlg: Dialog = { kind: 'snapshots', vmKey, list: null, sel: 0 };
  d.dialog = dlg;
  void loadSnapshots(d, dlg);
}

/** Keys while a dialog is open. Returns nothing; every action goes through the command layer. */
export function dialogKey(d: Dashboard, dlg: Dialog, k: string): void {
  const close = (): void => {
    d.dialog = undefined;
  };
  if (k === 'escape' || (k === 'q' && dlg.kind !== 'confirm')) return close();
  switch (dlg.kind) {
    case 'confirm':
      if (k === 'y' || k === 'Y' || k === 'enter') {
        close();
        dlg.yes();
      } else if (k === 'n' || k === 'N') close();
      return;
    case 'migrate': {
      const vm = d.vm(dlg.vmKey);
      if (!vm) return close();
      const fits = targetsFor(vm, d.store.nodes.values());
      if (k === 'up' || k === 'k') dlg.sel = Math.max(0, dlg.sel - 1);
      else if (k === 'down' || k === 'j') dlg.sel = Math.min(fits.length - 1, dlg.sel + 1);
      else if (k === 'l') dlg.live = !dlg.live;
      else if (k === 'enter') {
        const f = fits[Math.min(dlg.sel, fits.length - 1)];
        if (!f) return;
        if (!f.fits) {
          d.cmd.say(`${vm.name} does not fit on ${f.node}: ${f.reason ?? ''}`, true);
          return;
        }
        d.dialog = { kind: 'progress', vmKey: vm.key };
        d.cmd.migrate(vm, f.node, dlg.live).catch((e: unknown) => {
          d.cmd.say(`migrate ${vm.name}: ${e instanceof Error ? e.message : String(e)}`, true);
          if (d.dialog?.kind === 'progress') close();
        });
      }
      return;
    }
    case 'progress': {
      const m = d.cmd.migrations.get(dlg.vmKey);
      if (k === 'c' && m && !m.finished) {
        d.dialog = { kind: 'confirm', lines: [`Cancel the migration of ${m.vm} to ${m.to}?`, 'The VM stays on its source node.'], yes: () => void d.cmd.cancelMigration(m) };
      }
      return;
    }
    case 'evacuate':
      if (k === 'y' || k === 'enter') {
        close();
        if (dlg.steps.some((s) => s.target)) {
          void d.cmd.evacuate(dlg.node, dlg.steps);
          d.view = 'tasks';
        }
      } else if (k === 'n') close();
      return;
    case 'snapshots': {
      const vm = d.vm(dlg.vmKey);
      if (!vm) return close();
      const list = dlg.list ?? [];
      const sel = list[dlg.sel];
      if (k === 'up' || k === 'k') dlg.sel = Math.max(0, dlg.sel - 1);
      else if (k === 'down' || k === 'j') dlg.sel = Math.min(Math.max(0, list.length - 1), dlg.sel + 1);
      else if (k === 'c') {
        close();
        d.input = {
          prompt: `snapshot name for ${vm.name}: `,
          buf: `snap-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`,
          submit: (name) => {
            if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) return d.cmd.say(`invalid snapshot name '${name}' (letters, digits, . _ -)`, true);
            void d.cmd.snapshotCreate(d.targets(), name);
          },
        };
      } else if (k === 'r' && sel) {
        d.dialog = { kind: 'confirm', lines: [`Revert ${vm.name} to snapshot ${sel}?`, 'Changes since the snapshot are lost.'], yes: () => void d.cmd.snapshotRevert(vm, sel) };
      } else if (k === 'x' && sel) {
        d.dialog = { kind: 'confirm', lines: [`Delete snapshot ${sel} of ${vm.name}?`], yes: () => void d.cmd.snapshotDelete(vm, sel) };
      }
      return;
    }
  }
}
