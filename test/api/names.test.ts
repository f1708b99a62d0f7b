// A method name is written once, in src/api: no string literal in src/ outside src/api
// may be an agent method's name (or build one, as `vm.${verb}` would). Files still being
// moved onto the typed client by their owners are listed below with what is left; the
// list may only shrink (a listed file that no longer names a method fails too).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { declared } from '../../src/api/index.js';

const ROOT = join(import.meta.dirname, '../../..');

/** Files that still name agent methods, and why they may for now. */
const PENDING: Record<string, string> = {
  'src/link/vnc.ts': 'the console/VNC finder looks VMs up by name (src/link belongs to helper "map")',
  'src/agent/guest/index.ts': 'the guest relay (owned by another helper) registers by name; the registry takes help and signatures from src/api',
  'src/agent/guest/qga.ts': 'the qemu-guest-agent fallback table is keyed by method name (guest/ is owned by another helper)',
  'src/agent/level1.ts': 'level 1 registers by name; the registry takes help and signatures from src/api',
  'src/guest-agent/methods.ts': "the in-guest agent serves the same guest.* names over virtio-serial (its owner moves it onto src/api's guest declarations)",
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? files(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const prefixes = [...new Set([...declared.keys()].map((n) => n.slice(0, n.indexOf('.') + 1)))].filter((p) => p !== 'system.');

/** Each string literal that is a declared name, and each template that starts like one (`vm.${x}`). */
export function methodNamesIn(source: string, file = 'x.ts'): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    // system.* are XML-RPC's own introspection names, offered by every server (the guest agent's too).
    if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) && declared.has(n.text) && !n.text.startsWith('system.')) found.push(n.text);
    if (ts.isTemplateExpression(n) && prefixes.some((p) => n.head.text.startsWith(p) && /^[a-z]+\.[A-Za-z.]*$/.test(n.head.text))) found.push(`${n.head.text}\${...}`);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

test('the check finds a method name in a literal and a template, not in comments or other strings', () => {
  assert.deepEqual(methodNamesIn(`// vm.list\nconst a = 'vm.list'; const b = \`vm.\${op}\`; const c = 'vm.list is fast'; link.call("node.info");`), ['vm.list', 'vm.${...}', 'node.info']);
});

test('no agent method name is written in src/ outside src/api (except the files listed as pending, each with its owner)', () => {
  const offenders: string[] = [];
  const stillPending = new Set<string>();
  for (const f of files(join(ROOT, 'src'))) {
    const rel = relative(ROOT, f);
    if (rel.startsWith('src/api/')) continue;
    const names = methodNamesIn(readFileSync(f, 'utf8'), f);
    if (names.length === 0) continue;
    if (rel in PENDING) stillPending.add(rel);
    else offenders.push(`${rel}: ${[...new Set(names)].join(', ')}`);
  }
  assert.deepEqual(offenders, [], 'method names outside src/api: call through client() / api.<ns>.<method> instead');
  const done = Object.keys(PENDING).filter((f) => !stillPending.has(f));
  assert.deepEqual(done, [], 'files that no longer name methods: remove them from PENDING');
});
