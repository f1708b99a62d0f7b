/** balancer.*: the level-1 scheduler between the VMs of one node. */
import { method } from './method.js';
import { opt } from './schema.js';
import { level1Plan, level1Settings, level1Status } from './types.js';

export const balancer = {
  level1Disable: method({
    name: 'balancer.level1.disable',
    help: 'Stop acting; shares and balloons stay as they are. Returns the status.',
    params: [],
    result: level1Status,
    mutates: true,
  }),
  level1DryRun: method({
    name: 'balancer.level1.dryRun',
    help: 'What level 1 would decide now from the latest collection, without changing anything: {contended, pressure, freeShare, decisions}.',
    params: [],
    result: level1Plan,
  }),
  level1Enable: method({
    name: 'balancer.level1.enable',
    help: 'Start acting: set CPU shares (and caps when caps=true) and balloon targets after each collection. Optional struct: pressureFree, guestFree, shrinkStep, relaxStep, memBudgetKiB (memory VMs may use on this node), headroom, floorShare, baseShares, caps, vms {name: {priority, minShares, maxShares, minMemKiB, maxMemKiB}}. Returns the status.',
    params: [opt(level1Settings)],
    result: level1Status,
    mutates: true,
  }),
  level1Status: method({
    name: 'balancer.level1.status',
    help: 'Level-1 balancing on this node: whether it acts, its settings, the last decisions (CPU shares, entitled cores, balloon targets) and recent errors.',
    params: [],
    result: level1Status,
  }),
};
