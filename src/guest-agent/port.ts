/**
 * Serving the guest agent's methods over a framed byte stream: the virtio-serial
 * port (a character device that stays open across host reconnects), or any
 * Duplex (a unix socket standing in for the channel in development and tests).
 */
import { promises as fsp } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { decodeCall, encodeFault, encodeResponse, FaultCode, XmlRpcParseError } from '../common/xmlrpc/codec.js';
import { toFault, type MethodRegistry } from '../common/xmlrpc/registry.js';
import { XmlRpcFault } from '../common/xmlrpc/codec.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES, type Frame } from '../common/guest-framing.js';

export type AgentLog = (msg: string) => void;

/** One request frame in, one reply frame out with the same id; never throws. */
export async function answerFrame(reg: MethodRegistry, f: Frame, caller: string): Promise<Buffer> {
  let xml: string;
  try {
    let call: { method: string; params: XmlRpcValue[] };
    try {
      call = decodeCall(f.body.toString('utf8'), { maxBytes: MAX_FRAME_BYTES });
    } catch (e) {
      throw e instanceof XmlRpcParseError ? new XmlRpcFault(FaultCode.PARSE_ERROR, `malformed request: ${e.message}`) : e;
    }
    xml = encodeResponse(await reg.dispatch(call.method, call.params, { caller, readOnly: false }));
  } catch (e) {
    const fault = toFault(e);
    try {
      xml = encodeFault(fault.code, fault.message);
    } catch {
      xml = encodeFault(FaultCode.INTERNAL_ERROR, 'the fault message could not be encoded');
    }
  }
  return encodeFrame(f.id, xml);
}

/** Serves one connected stream until it ends. */
export function serveStream(reg: MethodRegistry, stream: Duplex, caller: string, log: AgentLog): void {
  const dec = new FrameDecoder();
  let garbageSeen = 0;
  stream.on('data', (chunk: Buffer) => {
    for (const f of dec.push(chunk)) {
      void answerFrame(reg, f, caller).then((out) => {
        if (!stream.destroyed && stream.writable) stream.write(out);
      });
    }
    if (dec.garbageBytes > garbageSeen) {
      log(`skipped ${dec.garbageBytes - garbageSeen} bytes of garbage on ${caller}`);
      garbageSeen = dec.garbageBytes;
    }
  });
  stream.on('error', (e) => log(`${caller}: ${e.message}`));
}

/** Listens on a unix socket as QEMU does for a channel (mode='bind'): each connection is one host session. */
export async function serveUnixChannel(reg: MethodRegistry, path: string, log: AgentLog): Promise<Server> {
  await fsp.rm(path, { force: true });
  const srv = createServer((sock) => serveStream(reg, sock, `channel:${path}`, log));
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(path, () => resolve());
  });
  return srv;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type WriteAt = (buf: Buffer, offset: number, length: number) => Promise<{ bytesWritten: number }>;

/**
 * Writes every byte of one frame. The guest kernel's virtio-serial driver takes at
 * most 32 KiB per write(), so a bigger reply written once lost its tail: the host
 * then read the next replies as the rest of that frame and none of them arrived.
 */
export async function writeAll(write: WriteAt, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await write(buf, off, buf.length - off);
    if (bytesWritten <= 0) throw new Error(`the port took no bytes (${off} of ${buf.length} written)`);
    off += bytesWritten;
  }
}

/**
 * Serves the virtio-serial port. A read of 0 bytes means no host is connected
 * (the guest side never sees EOF for good): forget any partial frame and poll
 * again. A missing device (the module not loaded yet) is retried.
 */
export async function serveDevice(reg: MethodRegistry, path: string, log: AgentLog, signal?: AbortSignal): Promise<void> {
  const dec = new FrameDecoder();
  const buf = Buffer.alloc(64 * 1024);
  let writing: Promise<unknown> = Promise.resolve();
  let connected = false;
  while (!signal?.aborted) {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, 'r+');
    } catch (e) {
      log(`cannot open ${path}: ${(e as Error).message}; retrying`);
      await sleep(1000);
      continue;
    }
    log(`serving on ${path}`);
    try {
      while (!signal?.aborted) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) {
          if (connected) log('host disconnected');
          connected = false;
          dec.reset();
          await sleep(200);
          continue;
        }
        if (!connected) log('host connected');
        connected = true;
        for (const f of dec.push(Buffer.from(buf.subarray(0, bytesRead)))) {
          void answerFrame(reg, f, `virtio:${path}`).then((out) => {
            // Writes are serialised so frames never interleave on the port.
            writing = writing.then(() => writeAll((b, o, l) => fh.write(b, o, l), out)).catch((e: Error) => log(`write to ${path} failed: ${e.message}`));
          });
        }
      }
    } catch (e) {
      log(`${path}: ${(e as Error).message}; reopening`);
      await sleep(500);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }
}
