/**
 * A volume's bytes from one node's libvirtd to another's: virStorageVolDownload
 * on the source piped into virStorageVolUpload on the target, with the streams'
 * own backpressure (the agent holds at most a few chunks). The copy is the file as
 * it is (a qcow2 stays a qcow2, a raw image is sent whole, holes included).
 */
import { Transform, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Hypervisor, VolumeRef } from '../libvirt/hypervisor.js';

export interface CopyWatch {
  /** Called as bytes arrive, with the running total. */
  onBytes?(total: number): void;
  /** Polled; true stops the copy (it then rejects). */
  cancelled?(): boolean;
}

/** Resolves with the bytes copied once the target's daemon has taken them all. */
export async function copyVolumeData(from: Hypervisor, src: VolumeRef, to: Hypervisor, dst: VolumeRef, watch: CopyWatch = {}): Promise<number> {
  const down = await from.volumeStream(src, 'download');
  let up: Duplex;
  try {
    up = await to.volumeStream(dst, 'upload');
  } catch (e) {
    down.destroy();
    throw e;
  }
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      watch.onBytes?.(bytes);
      cb(null, chunk);
    },
  });
  const poll = setInterval(() => {
    if (watch.cancelled?.()) down.destroy(new Error('cancelled'));
  }, 200);
  // The upload's 'finish' waits for the daemon's OK, so the pipeline ends once everything is taken.
  up.resume();
  try {
    await pipeline(down, count, up);
  } finally {
    clearInterval(poll);
  }
  return bytes;
}
