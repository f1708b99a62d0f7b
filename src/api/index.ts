/**
 * The agent's API: every method declared once, by namespace. The agent binds its
 * handlers to these declarations (serve.ts); clients call through the typed
 * client made from them (client.ts). Adding a method = one declaration here + one
 * handler in src/agent/methods.
 */
import type { AnyMethod } from './method.js';
import { balancer } from './balancer.js';
import { events } from './events.js';
import { guest } from './guest.js';
import { job } from './job.js';
import { lease } from './lease.js';
import { network } from './network.js';
import { node } from './node.js';
import { storage } from './storage.js';
import { system } from './system.js';
import { template } from './template.js';
import { vm } from './vm.js';

export const api = { vm, node, job, events, storage, network, guest, balancer, system, lease, template } as const;
export type Api = typeof api;
export type Namespace = keyof Api;

/** Every declared method, by wire name. */
export const declared: ReadonlyMap<string, AnyMethod> = new Map(
  Object.values(api).flatMap((ns) => Object.values(ns as Record<string, AnyMethod>).map((m) => [m.name, m] as const)),
);

export { method, SCOPE_HELP, type AnyMethod, type Args, type Method, type Result } from './method.js';
export { problems, type Infer, type Type } from './schema.js';
export * from './types.js';
export { provisionSpec, templateInfo, type ProvisionSpec, type TemplateInfo } from './template.js';
