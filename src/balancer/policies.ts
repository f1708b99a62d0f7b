/** The level-2 policies by the names the CLI and the benchmark use. */
import { drsPolicy, ovirtPolicy, sandpiperPolicy, staticPolicy } from './baselines.js';
import { kubevirtPolicy } from './baselines/kubevirt.js';
import { proxmoxPolicy } from './baselines/proxmox.js';
import { oursPolicy } from './level2.js';
import type { Level2Policy } from './types.js';

export const POLICY_NAMES = ['static', 'drs', 'sandpiper', 'ovirt', 'proxmox', 'proxmox-norm', 'kubevirt', 'ours'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export function isPolicyName(s: string): s is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(s);
}

export function policyByName(name: PolicyName): Level2Policy {
  switch (name) {
    case 'static':
      return staticPolicy;
    case 'drs':
      return drsPolicy();
    case 'sandpiper':
      return sandpiperPolicy();
    case 'ovirt':
      return ovirtPolicy();
    case 'proxmox':
      return proxmoxPolicy();
    case 'proxmox-norm':
      return proxmoxPolicy({ normaliseCv: true });
    case 'kubevirt':
      return kubevirtPolicy();
    case 'ours':
      return oursPolicy();
  }
}
