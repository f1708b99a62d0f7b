/**
 * A simulated serial console: a Duplex that behaves like a tiny root shell on
 * ttyS0 (banner, prompt, echo, line editing, a few commands), clearly saying
 * it is simulated.
 */
import { Duplex } from 'node:stream';
import type { SimDomain } from './domain.js';
import type { SimGuest } from './guest.js';

export function openSimConsole(d: SimDomain, guest: SimGuest, node: string, now: () => number): Duplex {
  let line = '';
  let esc = 0;
  const name = d.current.name;
  const shell = d.os.family === 'alpine' ? 'ash' : 'bash';
  const prompt = (): string => `root@${name}:~# `;
  const banner = (): string =>
    `\r\n${d.os.prettyName} ${name} ttyS0\r\n` + `[simulated console: ve-manager sim://${node}; this is not a real VM]\r\n\r\n` + prompt();
  const s = new Duplex({
    read() {},
    write(chunk: Buffer | string, _enc, cb) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      let out = '';
      for (const b of buf) {
        // Skip terminal escape sequences (arrows, function keys).
        if (esc === 1) {
          esc = b === 0x5b || b === 0x4f ? 2 : 0;
          continue;
        }
        if (esc === 2) {
          if (b >= 0x40 && b <= 0x7e) esc = 0;
          continue;
        }
        if (b === 0x1b) {
          esc = 1;
        } else if (b === 0x0d || b === 0x0a) {
          if (b === 0x0a && out.endsWith('\r\n') && line === '') continue;
          out += '\r\n';
          const cmd = line.trim();
          line = '';
          if (cmd === 'exit' || cmd === 'logout') {
            out += 'logout\r\n' + banner();
            continue;
          }
          const res = cmd === '' ? '' : run(cmd, d, guest, now, shell);
          out += res + prompt();
        } else if (b === 0x7f || b === 0x08) {
          if (line.length > 0) {
            line = line.slice(0, -1);
            out += '\b \b';
          }
        } else if (b === 0x03) {
          line = '';
          out += '^C\r\n' + prompt();
        } else if (b === 0x15) {
          out += '\b \b'.repeat(line.length);
          line = '';
        } else if (b >= 0x20 && b < 0x7f) {
          line += String.fromCharCode(b);
          out += String.fromCharCode(b);
        }
      }
      if (out) s.push(out);
      cb();
    },
    final(cb) {
      s.push(null);
      cb();
    },
  });
  setImmediate(() => {
    if (!s.destroyed) s.push(banner());
  });
  return s;
}

function fmtUptime(sec: number): string {
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}:${String(m % 60).padStart(2, '0')}`;
  return `${Math.floor(h / 24)} days, ${h % 24}:${String(m % 60).padStart(2, '0')}`;
}

const lines = (xs: string[]): string => (xs.length ? xs.join('\r\n') + '\r\n' : '');

function run(cmd: string, d: SimDomain, guest: SimGuest, now: () => number, shell: string): string {
  const c = d.current;
  if (cmd.endsWith('&')) {
    const pid = guest.spawn(cmd.slice(0, -1).trim());
    return `[1] ${pid}\r\n`;
  }
  const [prog = '', ...args] = cmd.split(/\s+/);
  const rest = cmd.slice(prog.length).trim();
  switch (prog) {
    case 'uname':
      if (args.includes('-a')) return `Linux ${c.name} ${d.os.kernel} #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux\r\n`;
      if (args.includes('-r')) return `${d.os.kernel}\r\n`;
      return 'Linux\r\n';
    case 'hostname':
      return `${c.name}\r\n`;
    case 'echo':
      return `${rest.replace(/^(['"])(.*)\1$/, '$2')}\r\n`;
    case 'whoami':
      return 'root\r\n';
    case 'id':
      return 'uid=0(root) gid=0(root) groups=0(root)\r\n';
    case 'pwd':
      return '/root\r\n';
    case 'ls':
      return 'notes.txt  scripts\r\n';
    case 'date':
      return `${new Date(now()).toUTCString()}\r\n`;
    case 'uptime': {
      const o = guest.info();
      const t = new Date(now()).toISOString().slice(11, 19);
      return ` ${t} up ${fmtUptime(o.uptimeSec)},  1 user,  load average: ${[o.load.load1, o.load.load5, o.load.load15].map((x) => x.toFixed(2)).join(', ')}\r\n`;
    }
    case 'free': {
      const o = guest.info();
      const mb = (k: number): string => String(Math.round(k / 1024)).padStart(12);
      return lines(['               total        used        free', `Mem:  ${mb(o.memory.totalKiB)}${mb(o.memory.totalKiB - o.memory.availableKiB)}${mb(o.memory.freeKiB)}`]);
    }
    case 'cat':
      if (args[0] === '/etc/os-release') return lines([`PRETTY_NAME="${d.os.prettyName}"`, `NAME="${d.os.name}"`, `VERSION_ID="${d.os.versionId}"`, `VERSION="${d.os.version}"`, `ID=${d.os.id}`]);
      if (args[0] === '/etc/hostname') return `${c.name}\r\n`;
      return `cat: ${args[0] ?? ''}: No such file or directory\r\n`;
    case 'ps':
      return lines(['  PID USER     %CPU   RSS COMMAND', ...guest.processes().processes.map((p) => `${String(p.pid).padStart(5)} ${p.user.padEnd(8).slice(0, 8)} ${p.cpuPercent.toFixed(1).padStart(4)} ${String(p.rssKiB).padStart(5)} ${p.command}`)]);
    case 'df':
      return lines(['Filesystem      Size  Used Mounted on', ...guest.filesystems().map((f) => `${f.device.padEnd(15)} ${(f.totalBytes / 1024 ** 3).toFixed(0).padStart(4)}G ${(f.usedBytes / 1024 ** 3).toFixed(0).padStart(4)}G ${f.mountPoint}`)]);
    case 'ip':
      return lines(guest.interfaces().flatMap((i, n) => [`${n + 1}: ${i.name}: <UP,LOWER_UP> mtu 1500`, `    link/ether ${i.mac}`, ...i.addresses.map((a) => `    ${a.family === 'IPv4' ? 'inet' : 'inet6'} ${a.cidr}`)]));
    case 'kill': {
      const sig = args[0]?.startsWith('-') ? args[0].slice(1) : 'TERM';
      const pids = args.filter((a) => !a.startsWith('-'));
      const out: string[] = [];
      for (const p of pids) {
        try {
          guest.signal(Number(p), /^\d+$/.test(sig) ? Number(sig) : sig);
        } catch (e) {
          out.push(`-${shell}: kill: (${p}) - ${(e as Error).message}`);
        }
      }
      return lines(out);
    }
    case 'clear':
      return '\x1b[H\x1b[2J';
    case 'true':
    case ':':
      return '';
    case 'help':
      return lines(['simulated shell: uname [-a|-r], hostname, echo, whoami, id, uptime, date, free, df, ip a, ps, kill [-SIG] PID, cat /etc/os-release, CMD &, clear, exit']);
    default:
      return shell === 'ash' ? `-ash: ${prog}: not found\r\n` : `-bash: ${prog}: command not found\r\n`;
  }
}
