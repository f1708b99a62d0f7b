/** job.*, jobs.list: migrations, clones and provisioning, which run as jobs. */
import { method } from './method.js';
import { array, string } from './schema.js';
import { jobInfo } from './types.js';

export const job = {
  cancel: method({
    name: 'job.cancel',
    help: 'Aborts a running job (libvirt abortJob); the job then ends as cancelled and the VM stays on this node: job.cancel(id) -> the job struct as in job.get.',
    params: [string],
    result: jobInfo,
    mutates: true,
  }),
  get: method({
    name: 'job.get',
    help: 'A job\'s state: {id, kind, vm, dest, status: running|completed|failed|cancelled, reason (when failed or cancelled), vmStateOnSource, startedAt, endedAt, elapsedMs, progress {type, dataTotal, dataProcessed, dataRemaining, memTotal, memProcessed, memRemaining, memIteration, memDirtyRate, memBps, expectedDowntimeMs, timeElapsedMs, timeRemainingMs, percent}}. Bytes as <double>. ' +
      'With disks copied: progress diskTotal, diskProcessed, diskRemaining (the disks alone; data* counts the disks and the memory, mem* the memory alone), and storage {mode: copy|shared|trusted|unplanned, note, disks [{target, path, action: copy|shared|not-copied, why, pool, volume, format, capacity, bytes}], created, removed, leftover [{pool, volume, path, error}]}.',
    params: [string],
    result: jobInfo,
  }),
  list: method({
    name: 'jobs.list',
    help: 'Every job this agent knows (running and the last finished ones), as in job.get.',
    params: [],
    result: array(jobInfo),
  }),
};
