/**
 * The view registry: every screen the dashboard can show, by id. An entry marked
 * `reserved` (none at present) keeps its key and `:` name taken: they say
 * "not in this version" instead of doing something else.
 */
export type ViewId = 'overview' | 'vm' | 'node' | 'wall' | 'help' | 'tasks' | 'console' | 'create' | 'clone' | 'edit' | 'xml' | 'storage' | 'networks' | 'guest' | 'delete';

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
  { id: 'create', title: 'create a VM' },
  { id: 'clone', title: 'clone a VM' },
  { id: 'edit', title: 'edit a VM' },
  { id: 'xml', title: "edit a VM's XML" },
  { id: 'storage', title: 'storage pools and volumes' },
  { id: 'networks', title: 'virtual networks' },
  { id: 'guest', title: 'guest browser' },
  { id: 'delete', title: 'delete a VM' },
];

export function viewSpec(id: string): ViewSpec | undefined {
  return VIEWS.find((v) => v.id === id);
}
