/**
 * The management screens' slice of the store: per node storage and networks,
 * per VM guest data. Written by the manage commands, read by the screens; every
 * change calls `onChange` so the dashboard redraws.
 */
import type { DhcpLease } from '../../api/network.js';
import type { Job, Snapshot } from '../../api/types.js';
import type { TemplateInfo } from '../../api/template.js';
import type { DomainDevices } from './manage-xml.js';
import type { FilesystemRow, GroupRow, GuestAgentState, GuestSystem, InterfaceRow, NetworkRow, PoolRow, ProcessRow, ServiceRow, SessionRow, UserRow, VolumeRow } from './manage-decode.js';

export interface Loaded<T> {
  data?: T;
  loading: boolean;
  error?: string;
  /** When the data was last read (ms). */
  at?: number;
}

export interface NodeStorage {
  pools: PoolRow[];
  /** Volumes by pool name (a pool that failed to list has an error instead). */
  volumes: Map<string, VolumeRow[]>;
  volumeErrors: Map<string, string>;
  /** pool -> volume name -> VMs using it. */
  users: Map<string, Map<string, string[]>>;
}

export interface NodeNetworks {
  networks: NetworkRow[];
  /** network -> VMs with an interface on it. */
  users: Map<string, string[]>;
}

export type GuestSection = 'processes' | 'users' | 'sessions' | 'services' | 'info' | 'filesystems' | 'interfaces';

export interface GuestData {
  status?: GuestAgentState;
  processes?: ProcessRow[];
  /** Who answered guest.processes ("host /proc (LXC init pid N)" for a container read from the host). */
  processSource?: string;
  users?: UserRow[];
  groups?: GroupRow[];
  sessions?: SessionRow[];
  init?: string;
  services?: ServiceRow[];
  info?: GuestSystem;
  filesystems?: FilesystemRow[];
  interfaces?: InterfaceRow[];
  /** Why a section is empty (not offered by qemu-guest-agent, a fault). */
  errors: Partial<Record<GuestSection, string>>;
  /** The last action the guest's policy refused, shown until the next action. */
  refused?: string;
  loading: boolean;
  at?: number;
}

/** A clone the dashboard started and follows (agent job vm.clone), by the source VM's key. */
export interface CloneFollow {
  node: string;
  source: string;
  name: string;
  job: string;
  state: 'running' | 'completed' | 'failed' | 'cancelled';
  percent: number;
  bytesDone: number;
  bytesTotal: number;
  volumes: Array<{ target: string; pool: string; to: string; done: boolean }>;
  error?: string;
  startedAt: number;
}

/**
 * A provisioning job (vm.provision) the dashboard follows, by `node/job id`: one its
 * create form started, or one the node's events told of (`vem vm create`, another
 * dashboard). Kept after the form closes, for the tasks view.
 */
export interface ProvisionFollow {
  node: string;
  id: string;
  /** The VM being made and its template: from the request or the event, then from the job. */
  name: string;
  template: string;
  /** The last job.get answer (steps, status, reason); undefined until the first. */
  job?: Job;
  /** This dashboard's create form started it, or it was seen in the node's events. */
  by: 'dashboard' | 'events';
  startedAt: number;
  /** Why it is no longer followed before it ended (the agent forgot it, the link stayed down). */
  lost?: string;
}

export class ManageStore {
  readonly clones = new Map<string, CloneFollow>();
  readonly provisions = new Map<string, ProvisionFollow>();
  /** Each node's templates (template.list), as the :templates screen last read them. */
  readonly templates = new Map<string, Loaded<TemplateInfo[]>>();
  readonly storage = new Map<string, Loaded<NodeStorage>>();
  readonly networks = new Map<string, Loaded<NodeNetworks>>();
  readonly guests = new Map<string, GuestData>();
  /** One VM's devices in its persistent definition (the edit screen), by VM key. */
  readonly vmDevices = new Map<string, Loaded<DomainDevices>>();
  /** A network's DHCP leases, by `node/network`. */
  readonly leases = new Map<string, Loaded<DhcpLease[]>>();
  /** A VM's snapshots with their time and state, by VM key. */
  readonly snapshots = new Map<string, Loaded<Snapshot[]>>();
  version = 0;
  private listeners: Array<() => void> = [];

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  changed(): void {
    this.version++;
    for (const cb of this.listeners) cb();
  }

  guest(vmKey: string): GuestData {
    let g = this.guests.get(vmKey);
    if (!g) {
      g = { errors: {}, loading: false };
      this.guests.set(vmKey, g);
    }
    return g;
  }

  loaded<T>(m: Map<string, Loaded<T>>, key: string): Loaded<T> {
    let l = m.get(key);
    if (!l) {
      l = { loading: false };
      m.set(key, l);
    }
    return l;
  }
}
