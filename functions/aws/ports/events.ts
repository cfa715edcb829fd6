/** The event port: the crosslink bus on EventBridge (CROSSLINK_BUS). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { need } from '#core/link/settings.ts';
import { EventBridgeSink } from '../event-sink.ts';
import { type PortFactory, region } from '../runtime.ts';

export const events: PortFactory<'events'> = (env) =>
  new EventBridgeSink(new EventBridgeClient({ region: region(env) }), {
    busName: need(env, 'CROSSLINK_BUS'),
  });
