/**
 * The cloud actor's protocol. `cloud.call` is the cloud's API: it answers a
 * `CloudResult` after the configured latency, or an error value (never a
 * thrown remote error) so callers switch on `error.code`. `cloud.fault` and
 * `cloud.heal` are the chaos engine's handle on the cloud itself (they act
 * at once and never fail for outage reasons); `cloud.snapshot` shows
 * everything, for tests and checks.
 */
import type { Message } from '../../actor/protocol.js';
import type { CloudRequest } from './api.js';
import type { CloudFault, CloudHeal } from './types.js';

export type CloudMsg =
  | Message<'cloud.call', CloudRequest>
  | Message<'cloud.fault', CloudFault>
  | Message<'cloud.heal', CloudHeal>
  | Message<'cloud.snapshot', null>
  /** Threaded runtime with the TCP data plane: which listeners are open and which failed. */
  | Message<'cloud.dataPlane', null>
  /** Internal: a call's latency is over; process it now. */
  | Message<'cloud.due', { seq: number }>;

/** The actor's default name. */
export const CLOUD_NAME = 'cloud';

export interface DataPlaneStatus {
  enabled: boolean;
  listeners: string[];
  failures: Array<{ address: string; error: string }>;
  connections: number;
}
