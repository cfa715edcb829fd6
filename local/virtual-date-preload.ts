/**
 * Preload of a Cloud Function's process (`node --import <this file>`, local/gcp/functions-host.ts):
 * `Date` and `scheduler.wait` follow the anchor the host sends over the IPC channel, and each anchor is acknowledged so
 * the host knows the process holds it (virtual-date.ts). Until the first anchor arrives the process
 * sees the wall time. The gRPC transport keeps the wall clock for its deadlines, as the emulators it
 * calls do (virtual-date.ts `keepTransportOnWallTime`). The channel does not keep the process alive.
 */
import type { ClockAnchor } from './clock.ts';
import {
  type ClockAck,
  installVirtualDate,
  installVirtualWait,
  keepTransportOnWallTime,
} from './virtual-date.ts';

// The local cloud's compile cache (functions-host.ts) is the host's, not the function's
// environment: Node read it as it started; the function does not see it. Node writes what the
// process compiled as it exits (functions-framework exits on SIGTERM).
delete process.env.NODE_COMPILE_CACHE;

let current: ClockAnchor | undefined;
keepTransportOnWallTime(globalThis.Date);
installVirtualDate(() => current);
installVirtualWait();

if (process.send) {
  process.on('message', (m: unknown) => {
    const clock = (m as { crosslinkClock?: { seq: number; anchor: ClockAnchor } } | null)?.crosslinkClock;
    if (!clock) return;
    current = clock.anchor;
    const ack: ClockAck = { crosslinkClockAck: clock.seq };
    process.send?.(ack);
  });
  process.channel?.unref();
}
