/** The registry of `vem` subcommands: name, one-line summary, usage, and a lazy loader. */
import { setLocalAgentLoader } from '../link/agentless-host.js';

// Agentless nodes run the agent's code in this process; it is loaded only when one is met.
setLocalAgentLoader(() => import('./agentless-agent.js').then((m) => m.runLocalAgent));

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Loaded on demand so `vem --help` and light commands start fast. */
  load: () => Promise<{ run: (args: string[]) => Promise<number> }>;
}

export const commands: Command[] = [
  {
    name: 'tui',
    summary: 'the dashboard over the nodes in the cluster file (default command)',
    usage: 'vem [tui] [--cluster FILE] [--wall] [--refresh MS]',
    load: () => import('./tui.js'),
  },
  {
    name: 'demo',
    summary: 'a local SIMULATED cluster with the dashboard on it, no set-up needed',
    usage: 'vem demo [--nodes N] [--vms N] [--seed N] [--mixed] [--wall] [--refresh MS] [--time-scale X] [--no-tui]',
    load: () => import('./demo.js'),
  },
  {
    name: 'agent',
    summary: 'the node agent: XML-RPC over libvirt on loopback or a unix socket',
    usage:
      'vem agent [--uri URI | --sim [--sim-vms N]] [--listen 127.0.0.1:PORT | --socket PATH] [--token-file F]\n' +
      '          [--tls-cert F --tls-key F] [--read-only] [--audit-log F] [--audit-durable] [--poll-ms MS] [--history SECONDS] [--history-file F|none] [--history-save SECONDS]',
    load: () => import('./agent.js'),
  },
  {
    name: 'guest-agent',
    summary: 'the in-guest agent over a virtio-serial port (or loopback HTTP for development)',
    usage: 'vem guest-agent [--port DEV | --channel NAME] [--listen 127.0.0.1:PORT] [--policy FILE] [--log FILE]',
    load: () => import('./guest-agent.js'),
  },
  {
    name: 'call',
    summary: 'one XML-RPC call to an agent, result as JSON',
    usage:
      'vem call (--agent ADDR | NODE [--cluster FILE]) [--token-file F] [--ca-file PEM] [--raw] METHOD [ARG ...]\n' +
      '  ADDR: http(s)://HOST:PORT/, HOST:PORT (http on loopback, https elsewhere), unix:/path or /path.\n' +
      '  Options may come anywhere before a lone --; after it every word is an ARG.\n' +
      '  ARG typing: 42, -1.5 are numbers; true/false booleans; null is nil; {...} [...] "..." JSON;\n' +
      '  anything else a string; s:WORD forces a string (s:42 is the string "42").\n' +
      '  Output: the result as JSON; --raw prints a string result as is (vem call n1 --raw vm.xml web1, like virsh dumpxml).\n' +
      '  Methods and their help: vem call NODE system.listMethods, vem call NODE system.methodHelp s:vm.list',
    load: () => import('./call.js'),
  },
  {
    name: 'vnc',
    summary: "forward a VM's VNC/SPICE display to a local loopback port through its node's SSH link",
    usage: 'vem vnc VM [--cluster FILE]',
    load: () => import('./vnc.js'),
  },
  {
    name: 'balance',
    summary: 'level-2 load balancing: plan, apply, or simulate on a trace',
    usage:
      'vem balance simulate --trace F (--hosts N --host-cores C --host-mem-gib M | --hosts-file F) [--policy NAME,...] [--json]\n' +
      '       vem balance plan [--cluster FILE] [--evacuate NODE,...] [--paused live|keep] [--maintenance NODE,...] [--anti-affinity VM,VM,...] [--json]\n' +
      '       vem balance apply [--cluster FILE] [--evacuate NODE,...] [--paused live|keep] [--maintenance NODE,...] [--only VM,...] [--yes] [--auto --every S]\n' +
      '       vem balance generate --kind diurnal|bursty|ramp|onoff|mix --vms N --steps N [--period S] [--seed N] --out F',
    load: () => import('./balance.js'),
  },
  {
    name: 'vm',
    summary: 'VMs for scripts: list, templates, create from a template with cloud-init, start, shutdown, destroy, delete',
    usage:
      'vem vm list [--node N] [--json] [--cluster FILE]\n' +
      '       vem vm templates [--node N] [--json]\n' +
      '       vem vm create NAME --node N --from TEMPLATE [--cpus C] [--memory 2G] [--disk 20G] [--ssh-key FILE] [--user-data FILE] [--network NET] [--no-start] [--json]\n' +
      '              [--pool P] [--hostname H] [--user U] [--package P]... [--run CMD]... [--network-config FILE] [--virt-type kvm|qemu] [--kernel PATH --initrd PATH --cmdline TEXT] [--no-guest-agent] [--full-copy] [--template-node N]\n' +
      '       vem vm start|shutdown|destroy|delete NAME [--node N] [--json]\n' +
      '  create waits for the job, a progress line on stderr. Exit: 0 done, 1 refused or failed (the reason on stderr), 2 bad command line.',
    load: () => import('./vm.js'),
  },
  {
    name: 'node',
    summary: 'add, list or remove nodes in the cluster file (add checks and trusts the host key first)',
    usage:
      'vem node add NAME --ssh USER@HOST[:PORT] [--identity F] [--agent none [--uri URI]] [--trust SHA256:...] [--cluster FILE]\n' +
      '       vem node list [--json] [--cluster FILE]\n' +
      '       vem node remove NAME [--cluster FILE]',
    load: () => import('./node.js'),
  },
  {
    name: 'deploy',
    summary: "install, upgrade (with rollback) or remove the resident agent on nodes over their SSH links",
    usage:
      'vem deploy [--cluster FILE] [--dry-run] [--remove] [--bundle FILE] [--wait SECONDS] [--node-prefix DIR] [--node-path PATH] NODE...\n' +
      '  Checks each node (Node.js 18+, libvirt socket, free space, root), uploads the one-file agent and verifies its sha256,\n' +
      '  installs its token and hardened systemd unit (no systemd: a detached process with a pid file, which does not survive a reboot),\n' +
      '  waits until it answers through the tunnel and points the cluster file at it. Again: upgrade in place, rolled back if the\n' +
      '  new agent does not answer. --remove: stop it and remove all deploy installed. Exit status: the number of nodes that failed.\n' +
      '  --node-prefix DIR puts every path under DIR on the node; --node-path PATH is where node is looked for there.',
    load: () => import('./deploy.js'),
  },
];

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}
