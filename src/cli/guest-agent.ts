import { UsageError } from '../common/errors.js';
import { parseCommandArgs, stringOpt } from './args.js';

/**
 * `vem guest-agent [--port DEV | --channel NAME] [--listen 127.0.0.1:PORT] [--policy F] [--log F]`:
 * the in-guest agent. Default: the virtio-serial port /dev/virtio-ports/org.vemanager.guest.0.
 */
export async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs(
    'guest-agent',
    args,
    {
      port: { type: 'string' },
      channel: { type: 'string' },
      listen: { type: 'string' },
      policy: { type: 'string' },
      log: { type: 'string' },
    },
    false,
  );
  // The port's blocking reads hold a libuv pool thread; keep enough for file reads.
  process.env['UV_THREADPOOL_SIZE'] ??= '8';
  const { startGuestAgent, DEFAULT_CHANNEL } = await import('../guest-agent/index.js');
  const listen = stringOpt(p, 'listen');
  const channel = stringOpt(p, 'channel') ?? DEFAULT_CHANNEL;
  if (!/^[A-Za-z0-9._-]+$/.test(channel)) throw new UsageError(`vem guest-agent: bad channel name '${channel}'`);
  let port = stringOpt(p, 'port');
  if (port === undefined && (listen === undefined || stringOpt(p, 'channel') !== undefined)) port = `/dev/virtio-ports/${channel}`;
  const agent = await startGuestAgent({ port, listen, policyPath: stringOpt(p, 'policy'), logPath: stringOpt(p, 'log') });
  if (agent.url) process.stdout.write(`${agent.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await agent.close();
  return 0;
}
