/** network.*: virtual networks. */
import { method } from './method.js';
import { array, bool, int, literal, opt, string, struct, type Infer } from './schema.js';
import { networkInfo } from './types.js';

/** One address the network's DHCP server handed out (libvirt's virNetworkDHCPLease). */
export const dhcpLease = struct({
  iface: string,
  /** When it runs out, seconds since the epoch. */
  expiryTime: int,
  type: literal('ipv4', 'ipv6'),
  mac: opt(string),
  iaid: opt(string),
  ipAddress: string,
  prefix: int,
  hostname: opt(string),
  clientId: opt(string),
});
export type DhcpLease = Infer<typeof dhcpLease>;

export const network = {
  create: method({
    name: 'network.create',
    help: 'Defines a network from <network> XML and starts it, in one step: network.create(xml) -> its name. When it cannot start, its definition is removed again, so nothing is left half made.',
    params: [string],
    result: string,
    mutates: true,
  }),
  define: method({
    name: 'network.define',
    help: 'Defines a network from <network> XML: network.define(xml) -> its name.',
    params: [string],
    result: string,
    mutates: true,
  }),
  delete: method({
    name: 'network.delete',
    help: 'Stops a network when it runs and removes its definition, in one step: network.delete(name) -> true. VMs with an interface on it lose their network.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  dhcpLeases: method({
    name: 'network.dhcpLeases',
    help: 'The addresses the network\'s DHCP server handed out: network.dhcpLeases(name) -> [{iface, expiryTime (s since the epoch), type (ipv4|ipv6), mac, iaid, ipAddress, prefix, hostname, clientId}]. A driver without lease lists refuses, naming itself.',
    params: [string],
    result: array(dhcpLease),
  }),
  list: method({
    name: 'network.list',
    help: 'Virtual networks: [{name, uuid, active, persistent, autostart, bridge, ipAddress, netmask, dhcpStart, dhcpEnd}].' + ' Each network also has usedBy: the VMs with an interface on it.',
    params: [],
    result: array(networkInfo),
  }),
  setAutostart: method({
    name: 'network.setAutostart',
    help: 'Starts the network when the node boots, or not: network.setAutostart(name, on) -> true.',
    params: [string, bool],
    result: bool,
    mutates: true,
  }),
  start: method({
    name: 'network.start',
    help: 'Starts a defined network: network.start(name) -> true.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  stop: method({
    name: 'network.stop',
    help: 'Stops a network: network.stop(name) -> true.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  undefine: method({
    name: 'network.undefine',
    help: 'Removes a network\'s definition: network.undefine(name) -> true.',
    params: [string],
    result: bool,
    mutates: true,
  }),
  xml: method({
    name: 'network.xml',
    help: 'A network\'s XML: network.xml(name).',
    params: [string],
    result: string,
  }),
};
