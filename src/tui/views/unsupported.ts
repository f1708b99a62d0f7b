/**
 * Which VM actions a node's driver lacks, from the capabilities its agent reports (node.info):
 * the dashboard says so, naming the driver and node, instead of sending a call libvirt will
 * refuse. Pure: the store's records in, words out.
 */
import { isActive, type NodeRecord, type VmRecord } from '../store/model.js';

/** The VM actions that depend on the driver, by the words the dashboard uses for them. */
export type DriverAction = 'migrate' | 'snapshots' | 'vcpus' | 'memory' | 'reset' | 'console';

/** The agent's feature name (src/libvirt/capabilities.ts featureLabels) an action needs for this VM. */
export function featureFor(action: DriverAction, vm: Pick<VmRecord, 'state'>): string {
  switch (action) {
    case 'migrate':
      return isActive(vm.state) ? 'migration' : 'offline-migration';
    case 'memory':
      return 'balloon';
    default:
      return action;
  }
}

/** "migrate: not supported by the LXC driver on n2 (libvirt's reason)", or undefined when the node has it (or has not said). */
export function unsupportedReason(action: DriverAction, vm: Pick<VmRecord, 'state'>, node: NodeRecord | undefined): string | undefined {
  const why = node?.host?.capabilities?.unsupported[featureFor(action, vm)];
  if (why === undefined || !node) return undefined;
  return `${action}: not supported by the ${node.host?.driver ?? 'node\'s'} driver on ${node.name} (${why})`;
}

const ACTIONS: readonly DriverAction[] = ['migrate', 'snapshots', 'vcpus', 'memory', 'reset', 'console'];

/** The `?` screen's lines for the selected VM: what its node's driver cannot do, or nothing. */
export function unavailableLines(vm: VmRecord | undefined, node: NodeRecord | undefined): string[] {
  if (!vm) return [];
  const lines = ACTIONS.flatMap((a) => {
    const r = unsupportedReason(a, vm, node);
    return r === undefined ? [] : [`  ${r}`];
  });
  return lines.length === 0 ? [] : [`Not available for ${vm.name} on ${vm.node} (${node?.host?.driver ?? '?'} driver)`, ...lines];
}
