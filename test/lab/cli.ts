// The lab from a shell: `npm run lab -- up 2 --sshd`, then virsh/ssh at the printed
// addresses, then `npm run lab -- down DIR`. Everything it starts lives in DIR.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLab, stopLabDir, readLabDir, type Lab } from './lab.js';
import { missingPrerequisites } from './prereq.js';
import { buildGuestImage } from './guest-image.js';
import { guestDomainXml } from './guest-xml.js';
import { writeTestNodeXml } from './testnode-xml.js';
import { slotRoot } from './slots.js';
import { isAlive, run } from './procs.js';
import { LabNodeProcess } from './node.js';

const HELP = `usage: node dist/test/lab/cli.js COMMAND ...   (or: npm run lab -- COMMAND ...)

  up N [--sshd] [--name NAME]       start N libvirt nodes (and an sshd each); prints the lab folder
  down DIR                          stop every process of the lab in DIR (by PID)
  status DIR                        nodes, addresses and live processes of a lab
  list                              labs running on this machine
  image                             build (or find in the cache) the test guest image
  boot DIR [NODE] [NAME]            boot a test guest on a node (default n1, g1); see it with virsh console
  testnode FILE [--domains N] [--running M]
                                    write a test-driver node file (default 1000 domains, half running)
  check                             list missing prerequisites (exit 1 if any)

Lab nodes listen on 127.77.<slot>.<n> only; nothing is sent outside 127.0.0.0/8.`;

class Usage extends Error {}

function describe(lab: Lab): string {
  const lines = [`lab folder: ${lab.dir}`];
  for (const n of lab.nodes) {
    lines.push(`  ${n.name}  ${n.ip}  ${n.qemuUri}  unix: ${n.socketPath}  libvirtd pid ${n.libvirtdPid()}`);
    if (n.sshd) {
      lines.push(`      ssh -i ${n.sshd.userKeyPath} -o UserKnownHostsFile=${join(n.dir, 'ssh', 'known_hosts')} -p ${n.sshd.port} root@${n.ip}`);
    }
  }
  lines.push(`try:   virsh -c ${lab.nodes[0]?.qemuUri ?? ''} list --all`);
  lines.push(`stop:  node dist/test/lab/cli.js down ${lab.dir}`);
  return lines.join('\n');
}

function intArg(v: string | undefined, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Usage(`${what} must be a whole number, got '${v}'`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = (() => {
    try {
      return parseArgs({ args: argv, allowPositionals: true, strict: true, options: {
        sshd: { type: 'boolean' }, name: { type: 'string' }, domains: { type: 'string' }, running: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      } });
    } catch (e) {
      throw new Usage((e as Error).message.split('.')[0] ?? 'bad arguments');
    }
  })();
  const [cmd, ...rest] = positionals;
  if (values.help === true || cmd === undefined || cmd === 'help') {
    console.log(HELP);
    return cmd === undefined && values.help !== true ? 2 : 0;
  }
  switch (cmd) {
    case 'up': {
      const n = intArg(rest[0], 'N', 2);
      if (n < 1) throw new Usage('N must be at least 1');
      const lab = await startLab({ nodes: n, sshd: values.sshd === true, name: values.name ?? 'cli', keepAfterExit: true });
      const text = describe(lab);
      writeFileSync(join(lab.dir, 'README.txt'), `${text}\n`);
      console.log(text);
      return 0;
    }
    case 'down': {
      const dir = rest[0];
      if (dir === undefined) throw new Usage('down needs the lab folder');
      await stopLabDir(dir);
      console.log(`stopped ${dir}`);
      return 0;
    }
    case 'status': {
      const dir = rest[0];
      if (dir === undefined) throw new Usage('status needs the lab folder');
      for (const s of readLabDir(dir)) {
        const pids = new LabNodeProcess(s).livePids();
        console.log(`${s.name}  ${s.ip}  qemu+tcp://${s.ip}/system  ${isAlive(s.holderPid) ? 'up' : 'down'}  processes: ${pids.join(' ') || 'none'}`);
      }
      return 0;
    }
    case 'list': {
      const slots = existsSync(slotRoot()) ? readdirSync(slotRoot()).filter((e) => /^\d+$/.test(e)) : [];
      for (const slot of slots.sort((a, b) => Number(a) - Number(b))) {
        try {
          const o = JSON.parse(readFileSync(join(slotRoot(), slot, 'owner.json'), 'utf8')) as { dir: string; pid: number; pids: number[] };
          const live = [o.pid, ...o.pids].some(isAlive);
          console.log(`slot ${slot}  127.77.${slot}.*  ${o.dir}  ${live ? 'running' : 'stale'}`);
        } catch {
          console.log(`slot ${slot}  (starting)`);
        }
      }
      if (slots.length === 0) console.log('no lab running');
      return 0;
    }
    case 'image': {
      const img = await buildGuestImage();
      console.log(`kernel: ${img.kernel}\ninitrd: ${img.initrd}\nhash:   ${img.hash}`);
      return 0;
    }
    case 'boot': {
      const [dir, nodeName = 'n1', vm = 'g1'] = rest;
      if (dir === undefined) throw new Usage('boot needs the lab folder');
      const node = readLabDir(dir).find((s) => s.name === nodeName);
      if (node === undefined) throw new Usage(`no node ${nodeName} in ${dir}`);
      const img = await buildGuestImage();
      const xmlPath = join(dir, `${vm}.xml`);
      writeFileSync(xmlPath, guestDomainXml({ name: vm, kernel: img.kernel, initrd: img.initrd }));
      const uri = `qemu+tcp://${node.ip}/system`;
      await run('virsh', ['-c', uri, 'create', xmlPath], { timeoutMs: 120_000 });
      console.log(`started ${vm} on ${nodeName}; its console: virsh -c ${uri} console ${vm}   (leave with Ctrl-])`);
      return 0;
    }
    case 'testnode': {
      const file = rest[0];
      if (file === undefined) throw new Usage('testnode needs a file path');
      const domains = intArg(values.domains, '--domains', 1000);
      const running = values.running === undefined ? undefined : intArg(values.running, '--running', 0);
      writeTestNodeXml(file, { domains, ...(running !== undefined ? { running } : {}) });
      console.log(`wrote ${file}: ${domains} domains; use test+unix://${file.startsWith('/') ? '' : '/'}${file}?socket=<a lab node's socket>`);
      return 0;
    }
    case 'check': {
      const missing = missingPrerequisites(['libvirt', 'qemu', 'sshd', 'tmux', 'guest', 'python3']);
      if (missing.length === 0) {
        console.log('all lab prerequisites present');
        return 0;
      }
      console.log(`missing prerequisite: ${missing.join(', ')} (install with .ci/install-deps.sh)`);
      return 1;
    }
    default:
      throw new Usage(`unknown command '${cmd}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof Usage) {
      console.error(`lab: ${e.message} (see --help)`);
      process.exit(2);
    }
    console.error(`lab: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
