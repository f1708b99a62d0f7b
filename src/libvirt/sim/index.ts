/**
 * The simulated hypervisor: a product feature behind `vem demo`, the TUI scale
 * benchmark and the balancer simulator. It always says it is simulated.
 */
export { createSimCluster, SimCluster, type SimClusterOptions } from './cluster.js';
export { SimHypervisor } from './hypervisor.js';
export { SimGuest, SimGuestError, type GuestPolicy, type GuestErrorCode, type GuestProcess, type GuestUser, type GuestGroup, type GuestSession, type GuestService, type GuestFilesystem, type GuestInterface, type GuestOsInfo, type GuestActionRecord } from './guest.js';
export { ManualClock, scaledClock, type SimClock } from './clock.js';
export { utilAt, sampleAt, makeWorkload, WORKLOAD_KINDS, type WorkloadKind, type WorkloadParams, type WorkloadSample } from './workload.js';
export { shareCpu } from './host.js';
export { parseSimUri } from './migrate.js';
export { SIM_DRIVER_KINDS, type SimDriverKind } from './drivers.js';
