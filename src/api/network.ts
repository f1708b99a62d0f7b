/** network.*: virtual networks. */
import { method } from './method.js';
import { array, bool, string } from './schema.js';
import { networkInfo } from './types.js';

export const network = {
  define: method({
    name: 'network.define',
    help: 'Defines a network from <network> XML: network.define(xml) -> its name.',
    params: [string],
    result: string,
    mutates: true,
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
