/**
 * The field list of a management form (create, clone): rows with a '>' cursor,
 * each problem under its field, the button, and the keys that move, edit and
 * submit. The screens keep their own fields and checks.
 */
import { cell, escapeTags } from '../format/text.js';
import type { FieldError } from '../commands/manage-validate.js';
import type { Theme } from '../views/theme.js';
import { listKeys, type Navigable, type ScreenHost } from './types.js';
import type { Binding } from '../keymap.js';

export interface FormField {
  label: string;
  hint: string;
  /** The validation field names shown under this row. */
  errs: string[];
}

export interface FormState<F extends FormField> {
  fields: F[];
  /** The cursor: a field's index, or fields.length for the button. */
  sel: number;
  errors: FieldError[];
  value(f: F): string;
}

/** The rows, the button (with `busy` after it) and the errors that belong to no field. */
export function formLines<F extends FormField>(t: Theme, s: FormState<F>, button: string, busy: string, width: number): string[] {
  const out: string[] = [];
  s.fields.forEach((fd, i) => {
    const on = i === s.sel;
    const line = escapeTags(cell(`${on ? '>' : ' '} ${cell(fd.label, 12)} ${cell(s.value(fd), 34)} ${fd.hint}`, width));
    out.push(on ? t.sel(line) : line);
    for (const e of s.errors.filter((x) => fd.errs.includes(x.field))) out.push(t.bad(escapeTags(cell(`      ! ${e.message}`, width))));
  });
  const onBtn = s.sel === s.fields.length;
  const btn = escapeTags(`${onBtn ? '>' : ' '} [ ${button} ]${busy}`);
  out.push('', onBtn ? t.sel(btn) : btn);
  for (const e of s.errors.filter((x) => !s.fields.some((fd) => fd.errs.includes(x.field)))) out.push(t.bad(escapeTags(cell(`  ! ${e.message}`, width))));
  return out;
}

/** A form screen as its bindings see it. */
export interface FormScreen extends Navigable {
  /** enter: edit the field under the cursor in the prompt, or press the button. */
  enter(): void;
  submit(): void;
}

/** The keys every form has: the list keys move, enter edits (or presses the button), C submits from anywhere. */
export function formBindings<P extends FormScreen>(button: string): Binding<P>[] {
  return [
    ...listKeys<P>('field'),
    { keys: ['enter'], help: `edit the field (on the button: ${button})`, hint: 'edit', run: (p) => p.enter() },
    { keys: ['C'], help: `${button} now, from any field`, hint: button, run: (p) => p.submit() },
  ];
}

/** enter on a form: the field's prompt (then the cursor moves on), or the button. */
export function editField<F extends FormField>(h: ScreenHost, s: FormState<F>, o: { move(sel: number): void; set(f: F, text: string): void; submit(): void }): void {
  const fd = s.fields[s.sel];
  if (!fd) return o.submit();
  h.prompt(`${fd.label} (${fd.hint}): `, s.value(fd), (text) => {
    o.set(fd, text);
    o.move(s.sel + 1);
  });
}
