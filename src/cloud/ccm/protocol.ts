/** The cloud-controller-manager actor's protocol: timers and watch events it routes to its client machinery, and a status ask. */
import type { Message } from '../../actor/protocol.js';
import type { ApiWatchMsg } from '../../api/protocol.js';
import type { ClientTimerMsg } from '../../client/clock.js';

export type CcmMsg = ClientTimerMsg | ApiWatchMsg | Message<'ccm.status', null>;

/** The actor's default name (replicas: cloud-controller-manager-0, -1 ...). */
export const CCM_NAME = 'cloud-controller-manager';
