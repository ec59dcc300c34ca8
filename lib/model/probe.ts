/**
 * One check of an endpoint before a run, so that a dead server, a wrong base URL or a model the
 * server does not serve fails at once with the URL and the server's answer, instead of after every
 * prompt's retries (about 6 s each) and as "Connection error.".
 *
 * The check is GET /models on every replica (one try each, no retries): it must answer a model list,
 * and when the list is not empty it must include the client's model. The context it reports is kept
 * by the client for the completions-mode `max_tokens` (lib/model/context.ts). Clients that are not
 * made by createModelClient (anything else implementing ModelClient) are not probed.
 */
import type { ModelClient } from './types.js';
import { type EndpointClient, ProbeError, type ReplicaReport } from './client.js';

export { ProbeError };

function isEndpointClient(client: ModelClient): client is EndpointClient {
  return typeof (client as Partial<EndpointClient>).probe === 'function';
}

/**
 * Probes `client`'s servers; `role` names it in the error ("policy", "judge", ...). Returns what each
 * replica reported, or [] for a client that cannot be probed. Throws ProbeError.
 */
export async function probeEndpoint(client: ModelClient, role = 'model'): Promise<ReplicaReport[]> {
  if (!isEndpointClient(client)) return [];
  try {
    return await client.probe();
  } catch (err) {
    if (err instanceof ProbeError) throw new ProbeError(`${role} endpoint: ${err.message}`);
    throw err;
  }
}

/**
 * Probes every endpoint a run uses, in order, before it starts: `roles` maps a role name to a client,
 * or to anything holding one as `.client` (an LLM judge or detector); other values (offline judges,
 * undefined) are passed over, and a client used under two roles is probed once.
 */
export async function probeEndpoints(roles: Record<string, unknown>): Promise<void> {
  const seen = new Set<ModelClient>();
  for (const [role, value] of Object.entries(roles)) {
    const candidate = (value && typeof value === 'object' && 'client' in value ? (value as { client: unknown }).client : value) as ModelClient | undefined;
    if (!candidate || typeof candidate !== 'object' || seen.has(candidate)) continue;
    seen.add(candidate);
    await probeEndpoint(candidate, role);
  }
}
