/** What runs inside a simulated guest, by role: processes, services, accounts. Templates only; SimGuest animates them. */
import type { GuestOs } from './guest-os.js';

export interface ProcTemplate {
  name: string;
  command: string;
  user: string;
  /** Share of the VM's busy CPU this process takes (weights are normalised). */
  cpuWeight: number;
  rssKiB: number;
  service?: string;
  /** Number of copies (workers). */
  count?: number;
  /** Index of the parent in the template list (default: pid 1). */
  parentOf?: string;
}

export interface ServiceTemplate {
  name: string;
  description: string;
  enabled: boolean;
  running: boolean;
}

export interface AccountTemplate {
  name: string;
  uid: number;
  home: string;
  shell: string;
  gecos: string;
  groups: string[];
  admin?: boolean;
}

/** A VM's role from its name: web-03 -> web, k8s-worker-12 -> k8s-worker. */
export function roleOf(vmName: string): string {
  return vmName.replace(/[-_]?\d+$/, '');
}

const svc = (name: string, description: string, running = true, enabled = true): ServiceTemplate => ({ name, description, running, enabled });

export function baseProcesses(os: GuestOs): ProcTemplate[] {
  const alpine = os.family === 'alpine';
  const p: ProcTemplate[] = [
    { name: alpine ? 'init' : 'systemd', command: alpine ? '/sbin/init' : '/sbin/init', user: 'root', cpuWeight: 0.2, rssKiB: alpine ? 900 : 12_800 },
    { name: 'kthreadd', command: '[kthreadd]', user: 'root', cpuWeight: 0, rssKiB: 0 },
    { name: 'rcu_preempt', command: '[rcu_preempt]', user: 'root', cpuWeight: 0.3, rssKiB: 0, parentOf: 'kthreadd' },
    { name: 'kworker/0:1-events', command: '[kworker/0:1-events]', user: 'root', cpuWeight: 0.3, rssKiB: 0, parentOf: 'kthreadd' },
    { name: 'ksoftirqd/0', command: '[ksoftirqd/0]', user: 'root', cpuWeight: 0.2, rssKiB: 0, parentOf: 'kthreadd' },
  ];
  if (!alpine) {
    p.push(
      { name: 'systemd-journal', command: '/lib/systemd/systemd-journald', user: 'root', cpuWeight: 0.4, rssKiB: 24_000, service: 'systemd-journald' },
      { name: 'systemd-udevd', command: '/lib/systemd/systemd-udevd', user: 'root', cpuWeight: 0.05, rssKiB: 7_200, service: 'systemd-udevd' },
      { name: 'systemd-logind', command: '/lib/systemd/systemd-logind', user: 'root', cpuWeight: 0.05, rssKiB: 7_600, service: 'systemd-logind' },
      { name: 'dbus-daemon', command: '/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only', user: 'messagebus', cpuWeight: 0.05, rssKiB: 5_100, service: 'dbus' },
      { name: os.family === 'rhel' ? 'crond' : 'cron', command: os.family === 'rhel' ? '/usr/sbin/crond -n' : '/usr/sbin/cron -f', user: 'root', cpuWeight: 0.01, rssKiB: 2_700, service: os.family === 'rhel' ? 'crond' : 'cron' },
      { name: 'rsyslogd', command: '/usr/sbin/rsyslogd -n -iNONE', user: os.family === 'rhel' ? 'root' : 'syslog', cpuWeight: 0.05, rssKiB: 4_900, service: 'rsyslog' },
      { name: 'chronyd', command: '/usr/sbin/chronyd -F 1', user: '_chrony', cpuWeight: 0.02, rssKiB: 3_300, service: 'chrony' },
      { name: 'agetty', command: '/sbin/agetty -o -p -- \\u --keep-baud 115200,57600,38400,9600 ttyS0 vt220', user: 'root', cpuWeight: 0, rssKiB: 1_900, service: 'serial-getty@ttyS0' },
    );
  } else {
    p.push(
      { name: 'syslogd', command: '/sbin/syslogd -t -n', user: 'root', cpuWeight: 0.02, rssKiB: 900, service: 'syslog' },
      { name: 'crond', command: '/usr/sbin/crond -c /etc/crontabs -f', user: 'root', cpuWeight: 0.01, rssKiB: 800, service: 'crond' },
      { name: 'getty', command: '/sbin/getty -L 115200 ttyS0 vt100', user: 'root', cpuWeight: 0, rssKiB: 700 },
    );
  }
  p.push(
    { name: 'sshd', command: 'sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups', user: 'root', cpuWeight: 0.02, rssKiB: 8_900, service: os.family === 'debian' ? 'ssh' : 'sshd' },
    { name: 'qemu-ga', command: '/usr/sbin/qemu-ga', user: 'root', cpuWeight: 0.01, rssKiB: 3_800, service: 'qemu-guest-agent' },
    { name: 'vem', command: 'node /usr/lib/ve-manager/vem guest-agent --port /dev/virtio-ports/org.vemanager.guest.0', user: 'root', cpuWeight: 0.1, rssKiB: 46_000, service: 'vem-guest-agent' },
  );
  return p;
}

export function baseServices(os: GuestOs): ServiceTemplate[] {
  if (os.family === 'alpine') {
    return [svc('syslog', 'System logger'), svc('crond', 'Cron daemon'), svc('sshd', 'OpenSSH server'), svc('qemu-guest-agent', 'QEMU guest agent'), svc('vem-guest-agent', 've-manager guest agent'), svc('chronyd', 'NTP daemon', false, false)];
  }
  const ssh = os.family === 'debian' ? 'ssh' : 'sshd';
  const list = [
    svc('systemd-journald', 'Journal Service'),
    svc('systemd-udevd', 'Rule-based Manager for Device Events and Files'),
    svc('systemd-logind', 'User Login Management'),
    svc('dbus', 'D-Bus System Message Bus'),
    svc(os.family === 'rhel' ? 'crond' : 'cron', 'Regular background program processing daemon'),
    svc('rsyslog', 'System Logging Service'),
    svc('chrony', 'chrony, an NTP client/server'),
    svc('serial-getty@ttyS0', 'Serial Getty on ttyS0'),
    svc(ssh, 'OpenBSD Secure Shell server'),
    svc('qemu-guest-agent', 'QEMU Guest Agent'),
    svc('vem-guest-agent', 've-manager guest agent'),
  ];
  if (os.family === 'rhel') list.push(svc('firewalld', 'firewalld - dynamic firewall daemon', false, false));
  else list.push(svc('unattended-upgrades', 'Unattended Upgrades Shutdown', false, true));
  list.push(svc('cups', 'CUPS Scheduler', false, false));
  return list;
}

/** Processes and services of the VM's role (what makes web-01 look like a web server). */
export function roleProcesses(role: string, vcpus: number): { procs: ProcTemplate[]; services: ServiceTemplate[]; accounts: AccountTemplate[] } {
  const workers = Math.max(1, Math.min(8, vcpus));
  switch (role) {
    case 'web':
      return {
        procs: [
          { name: 'nginx', command: 'nginx: master process /usr/sbin/nginx -g daemon on; master_process on;', user: 'root', cpuWeight: 0.1, rssKiB: 9_800, service: 'nginx' },
          { name: 'nginx', command: 'nginx: worker process', user: 'www-data', cpuWeight: 6, rssKiB: 14_000, service: 'nginx', count: workers, parentOf: 'nginx' },
          { name: 'php-fpm8.2', command: 'php-fpm: pool www', user: 'www-data', cpuWeight: 8, rssKiB: 42_000, service: 'php8.2-fpm', count: workers },
        ],
        services: [svc('nginx', 'A high performance web server and a reverse proxy server'), svc('php8.2-fpm', 'The PHP 8.2 FastCGI Process Manager')],
        accounts: [],
      };
    case 'api':
      return {
        procs: [{ name: 'node', command: 'node /srv/api/dist/server.js --port 8080', user: 'app', cpuWeight: 10, rssKiB: 310_000, service: 'api' }],
        services: [svc('api', 'Orders API (node)')],
        accounts: [{ name: 'app', uid: 998, home: '/srv/api', shell: '/usr/sbin/nologin', gecos: 'API service', groups: ['app'] }],
      };
    case 'db':
      return {
        procs: [
          { name: 'postgres', command: '/usr/lib/postgresql/16/bin/postgres -D /var/lib/postgresql/16/main -c config_file=/etc/postgresql/16/main/postgresql.conf', user: 'postgres', cpuWeight: 0.5, rssKiB: 220_000, service: 'postgresql' },
          { name: 'postgres', command: 'postgres: 16/main: checkpointer', user: 'postgres', cpuWeight: 0.5, rssKiB: 60_000, service: 'postgresql', parentOf: 'postgres' },
          { name: 'postgres', command: 'postgres: 16/main: background writer', user: 'postgres', cpuWeight: 0.5, rssKiB: 20_000, service: 'postgresql', parentOf: 'postgres' },
          { name: 'postgres', command: 'postgres: 16/main: walwriter', user: 'postgres', cpuWeight: 0.8, rssKiB: 18_000, service: 'postgresql', parentOf: 'postgres' },
          { name: 'postgres', command: 'postgres: 16/main: autovacuum launcher', user: 'postgres', cpuWeight: 0.3, rssKiB: 12_000, service: 'postgresql', parentOf: 'postgres' },
          { name: 'postgres', command: 'postgres: 16/main: app orders 10.20.0.21(51324) idle', user: 'postgres', cpuWeight: 7, rssKiB: 90_000, service: 'postgresql', parentOf: 'postgres', count: workers },
        ],
        services: [svc('postgresql', 'PostgreSQL RDBMS')],
        accounts: [{ name: 'postgres', uid: 114, home: '/var/lib/postgresql', shell: '/bin/bash', gecos: 'PostgreSQL administrator', groups: ['postgres', 'ssl-cert'] }],
      };
    case 'cache':
      return {
        procs: [{ name: 'redis-server', command: '/usr/bin/redis-server 0.0.0.0:6379', user: 'redis', cpuWeight: 10, rssKiB: 1_200_000, service: 'redis-server' }],
        services: [svc('redis-server', 'Advanced key-value store')],
        accounts: [{ name: 'redis', uid: 115, home: '/var/lib/redis', shell: '/usr/sbin/nologin', gecos: '', groups: ['redis'] }],
      };
    case 'ci-runner':
    case 'k8s-worker':
      return role === 'ci-runner'
        ? {
            procs: [
              { name: 'gitlab-runner', command: '/usr/bin/gitlab-runner run --working-directory /home/gitlab-runner --config /etc/gitlab-runner/config.toml', user: 'root', cpuWeight: 0.5, rssKiB: 52_000, service: 'gitlab-runner' },
              { name: 'make', command: `make -j${workers} all`, user: 'gitlab-runner', cpuWeight: 0.5, rssKiB: 6_000, parentOf: 'gitlab-runner' },
              { name: 'cc1', command: '/usr/libexec/gcc/x86_64-linux-gnu/12/cc1 -quiet src/storage/engine.c -O2', user: 'gitlab-runner', cpuWeight: 10, rssKiB: 140_000, parentOf: 'make', count: workers },
            ],
            services: [svc('gitlab-runner', 'GitLab Runner')],
            accounts: [{ name: 'gitlab-runner', uid: 999, home: '/home/gitlab-runner', shell: '/bin/bash', gecos: 'GitLab Runner', groups: ['gitlab-runner', 'docker'] }],
          }
        : {
            procs: [
              { name: 'kubelet', command: '/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml --container-runtime-endpoint=unix:///run/containerd/containerd.sock', user: 'root', cpuWeight: 2, rssKiB: 98_000, service: 'kubelet' },
              { name: 'containerd', command: '/usr/bin/containerd', user: 'root', cpuWeight: 1, rssKiB: 64_000, service: 'containerd' },
              { name: 'containerd-shim', command: '/usr/bin/containerd-shim-runc-v2 -namespace k8s.io -address /run/containerd/containerd.sock', user: 'root', cpuWeight: 0.1, rssKiB: 9_000, parentOf: 'containerd', count: workers },
              { name: 'java', command: 'java -Xmx1g -jar /app/checkout-service.jar', user: 'nobody', cpuWeight: 10, rssKiB: 780_000, parentOf: 'containerd-shim', count: Math.max(1, workers >> 1) },
            ],
            services: [svc('kubelet', 'kubelet: The Kubernetes Node Agent'), svc('containerd', 'containerd container runtime')],
            accounts: [],
          };
    case 'batch':
    case 'analytics':
      return {
        procs: [
          { name: role === 'batch' ? 'python3' : 'java', command: role === 'batch' ? 'python3 /opt/batch/etl.py --since yesterday --workers 4' : 'java -Xmx6g -cp /opt/spark/jars/* org.apache.spark.deploy.worker.Worker spark://analytics-master:7077', user: 'etl', cpuWeight: 10, rssKiB: role === 'batch' ? 450_000 : 2_800_000, service: role === 'batch' ? 'etl' : 'spark-worker' },
        ],
        services: [role === 'batch' ? svc('etl', 'Nightly ETL jobs') : svc('spark-worker', 'Apache Spark worker')],
        accounts: [{ name: 'etl', uid: 997, home: '/opt/batch', shell: '/bin/bash', gecos: 'ETL jobs', groups: ['etl'] }],
      };
    case 'mail':
      return {
        procs: [
          { name: 'master', command: '/usr/lib/postfix/sbin/master -w', user: 'root', cpuWeight: 0.5, rssKiB: 4_600, service: 'postfix' },
          { name: 'qmgr', command: 'qmgr -l -t unix -u', user: 'postfix', cpuWeight: 1, rssKiB: 6_200, service: 'postfix', parentOf: 'master' },
          { name: 'dovecot', command: '/usr/sbin/dovecot -F', user: 'root', cpuWeight: 3, rssKiB: 3_900, service: 'dovecot' },
        ],
        services: [svc('postfix', 'Postfix Mail Transport Agent'), svc('dovecot', 'Dovecot IMAP/POP3 email server')],
        accounts: [{ name: 'postfix', uid: 116, home: '/var/spool/postfix', shell: '/usr/sbin/nologin', gecos: '', groups: ['postfix'] }],
      };
    case 'ldap':
      return { procs: [{ name: 'slapd', command: '/usr/sbin/slapd -h ldap:/// ldapi:/// -g openldap -u openldap -F /etc/ldap/slapd.d', user: 'openldap', cpuWeight: 10, rssKiB: 18_000, service: 'slapd' }], services: [svc('slapd', 'OpenLDAP standalone server')], accounts: [] };
    case 'dns':
      return { procs: [{ name: 'named', command: '/usr/sbin/named -f -u bind', user: 'bind', cpuWeight: 10, rssKiB: 36_000, service: 'named' }], services: [svc('named', 'BIND Domain Name Server')], accounts: [] };
    case 'monitor':
      return {
        procs: [
          { name: 'prometheus', command: '/usr/bin/prometheus --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/var/lib/prometheus', user: 'prometheus', cpuWeight: 7, rssKiB: 620_000, service: 'prometheus' },
          { name: 'grafana', command: '/usr/share/grafana/bin/grafana server --config=/etc/grafana/grafana.ini', user: 'grafana', cpuWeight: 3, rssKiB: 150_000, service: 'grafana-server' },
        ],
        services: [svc('prometheus', 'Monitoring system and time series database'), svc('grafana-server', 'Grafana instance')],
        accounts: [{ name: 'prometheus', uid: 117, home: '/var/lib/prometheus', shell: '/usr/sbin/nologin', gecos: '', groups: ['prometheus'] }],
      };
    case 'backup':
      return { procs: [{ name: 'restic', command: 'restic backup --one-file-system /srv /etc --repo sftp:backup@vault:/restic', user: 'root', cpuWeight: 10, rssKiB: 210_000, service: 'restic-backup' }], services: [svc('restic-backup', 'Nightly restic backup')], accounts: [] };
    case 'dev':
      return {
        procs: [
          { name: 'tmux: server', command: 'tmux new -s work', user: 'alice', cpuWeight: 0.3, rssKiB: 5_200 },
          { name: 'bash', command: '-bash', user: 'alice', cpuWeight: 0.1, rssKiB: 5_500, parentOf: 'tmux: server' },
          { name: 'vim', command: 'vim src/main.rs', user: 'alice', cpuWeight: 1, rssKiB: 12_000, parentOf: 'bash' },
          { name: 'cargo', command: 'cargo watch -x check', user: 'alice', cpuWeight: 8, rssKiB: 96_000, parentOf: 'bash' },
        ],
        services: [],
        accounts: [{ name: 'alice', uid: 1002, home: '/home/alice', shell: '/bin/bash', gecos: 'Alice Martin,,,', groups: ['alice', 'docker'] }],
      };
    default:
      return { procs: [{ name: 'python3', command: '/usr/bin/python3 /opt/app/main.py', user: 'app', cpuWeight: 10, rssKiB: 64_000, service: 'app' }], services: [svc('app', 'Application service')], accounts: [{ name: 'app', uid: 998, home: '/opt/app', shell: '/usr/sbin/nologin', gecos: 'Application', groups: ['app'] }] };
  }
}

export const SYSTEM_ACCOUNTS: ReadonlyArray<[string, number, string, string]> = [
  ['root', 0, '/root', '/bin/bash'],
  ['daemon', 1, '/usr/sbin', '/usr/sbin/nologin'],
  ['bin', 2, '/bin', '/usr/sbin/nologin'],
  ['sys', 3, '/dev', '/usr/sbin/nologin'],
  ['sync', 4, '/bin', '/bin/sync'],
  ['man', 6, '/var/cache/man', '/usr/sbin/nologin'],
  ['mail', 8, '/var/mail', '/usr/sbin/nologin'],
  ['www-data', 33, '/var/www', '/usr/sbin/nologin'],
  ['nobody', 65534, '/nonexistent', '/usr/sbin/nologin'],
  ['messagebus', 100, '/nonexistent', '/usr/sbin/nologin'],
  ['syslog', 101, '/home/syslog', '/usr/sbin/nologin'],
  ['_chrony', 102, '/var/lib/chrony', '/usr/sbin/nologin'],
  ['sshd', 103, '/run/sshd', '/usr/sbin/nologin'],
];
