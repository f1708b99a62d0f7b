/**
 * The view registry: every screen the dashboard can show, by id. The management
 * screens of issue 9 are registered as reserved so their keys and `:` names are
 * already taken and say "not in this version" instead of doing something else.
 */
export type ViewId = 'overview' | 'vm' | 'node' | 'wall' | 'help' | 'tasks' | 'console' | 'create' | 'clone' | 'edit' | 'xml' | 'storage' | 'networks' | 'guest';

export interface ViewSpec {
  id: ViewId;
  title: string;
  reserved?: boolean;
}

export const VIEWS: readonly ViewSpec[] = [
  { id: 'overview', title: 'nodes and VMs' },
  { id: 'vm', title: 'VM details and charts' },
  { id: 'node', title: 'node details and charts' },
  { id: 'wall', title: 'wall mode' },
  { id: 'help', title: 'keys and commands' },
  { id: 'tasks', title: 'recent actions' },
  { id: 'console', title: 'serial console' },
  { id: 'create', title: 'create a VM', reserved: true },
  { id: 'clone', title: 'clone a VM', reserved: true },
  { id: 'edit', title: 'edit a VM', reserved: true },
  { id: 'xml', title: "edit a VM's XML", reserved: true },
  { id: 'storage', title: 'storage pools and volumes', reserved: true },
  { id: 'networks', title: 'virtual networks', reserved: true },
  { id: 'guest', title: 'guest browser', reserved: true },
];

export function viewSpec(id: string): ViewSpec | undefined {
  return VIEWS.find((v) => v.id === id);
}
