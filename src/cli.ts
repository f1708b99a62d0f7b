#!/usr/bin/env node
/** `vem`: the single entry point; dispatches to a subcommand module. */
import { commands, findCommand } from './cli/commands.js';
import { version } from './cli/version.js';
import { UsageError, VemError } from './common/errors.js';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = [
    've-manager: manage a cluster of libvirt hosts (QEMU/KVM, Xen, LXC, ...) from a terminal.',
    '',
    'Usage: vem [COMMAND] [OPTIONS]     (no command: the dashboard)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     this text (or `vem COMMAND --help` for one command)',
    '  -V, --version  the version',
  ];
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '-h' || first === '--help' || first === 'help') {
    const sub = first === 'help' && rest[0] ? findCommand(rest[0]) : undefined;
    process.stdout.write((sub ? `${sub.usage}\n  ${sub.summary}` : help()) + '\n');
    return 0;
  }
  if (first === '-V' || first === '--version') {
    process.stdout.write(`vem ${version()}\n`);
    return 0;
  }
  let name = 'tui';
  let args = argv;
  if (first !== undefined && !first.startsWith('-')) {
    name = first;
    args = rest;
  }
  const cmd = findCommand(name);
  if (!cmd) throw new UsageError(`vem: unknown command '${name}'`, "see 'vem --help'");
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(`Usage: ${cmd.usage}\n  ${cmd.summary}\n`);
    return 0;
  }
  const mod = await cmd.load();
  return mod.run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof VemError) {
      process.stderr.write(`${e.message}${e.hint ? ` (${e.hint})` : ''}\n`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    } else {
      process.stderr.write(`vem: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
