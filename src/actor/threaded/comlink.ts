// comlink ships its Node adapter as a separate ESM file without a typed export path; this module gives it one.
import * as Comlink from 'comlink';
// @ts-expect-error -- no declaration file for the .mjs path; typed below.
import nodeEndpointUntyped from 'comlink/dist/esm/node-adapter.mjs';
import type { MessagePort, Worker } from 'node:worker_threads';

export { Comlink };
export const nodeEndpoint = nodeEndpointUntyped as (endpoint: Worker | MessagePort) => Comlink.Endpoint;
