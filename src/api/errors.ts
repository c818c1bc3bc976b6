/**
 * API errors as values that carry the `Status` Kubernetes would answer with.
 * Every failure the API server reports goes through one of these
 * constructors, so the reason, code and message text match what kubectl and
 * client libraries expect (`Error from server (NotFound): pods "x" not found`).
 */
import type { Status, StatusCause, StatusReason } from './types/index.js';

export class ApiError extends Error {
  readonly status: Status;

  constructor(code: number, reason: StatusReason, message: string, details?: Status['details']) {
    super(message);
    this.name = 'ApiError';
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
    if (details !== undefined) this.status.details = details;
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): StatusReason | undefined {
    return this.status.reason;
  }
}

/** `pods "x"` or `deployments.apps "x"`, as Kubernetes names a resource in messages. */
export function qualifiedResource(resource: string, group: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

export const apiErrors = {
  notFound(resource: string, group: string, name: string, kind?: string): ApiError {
    return new ApiError(404, 'NotFound', `${qualifiedResource(resource, group)} "${name}" not found`, { name, group: group || undefined, kind: resource });
  },
  alreadyExists(resource: string, group: string, name: string): ApiError {
    return new ApiError(409, 'AlreadyExists', `${qualifiedResource(resource, group)} "${name}" already exists`, { name, group: group || undefined, kind: resource });
  },
  conflict(resource: string, group: string, name: string, why: string): ApiError {
    return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(resource, group)} "${name}": ${why}`, {
      name, group: group || undefined, kind: resource,
    });
  },
  /** The optimistic-concurrency failure: the caller's resourceVersion is not the stored one. */
  staleResourceVersion(resource: string, group: string, name: string): ApiError {
    return apiErrors.conflict(resource, group, name, 'the object has been modified; please apply your changes to the latest version and try again');
  },
  invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
    const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
    return new ApiError(422, 'Invalid', `${qualifiedResource(kind, group)} "${name}" is invalid: ${summary}`, { name, group: group || undefined, kind, causes });
  },
  badRequest(message: string): ApiError {
    return new ApiError(400, 'BadRequest', message);
  },
  gone(message: string): ApiError {
    return new ApiError(410, 'Expired', message);
  },
  unauthorized(): ApiError {
    return new ApiError(401, 'Unauthorized', 'Unauthorized');
  },
  forbidden(user: string, verb: string, resource: string, group: string, namespace: string | undefined, why: string, name?: string): ApiError {
    const where = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
    const what = name ? `${qualifiedResource(resource, group)} "${name}"` : qualifiedResource(resource, group);
    // Kubernetes appends the authorizer's reason only when there is one (a binding to a missing role, say).
    const because = why === '' ? '' : `: ${why}`;
    return new ApiError(403, 'Forbidden', `${what} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${group}"${where}${because}`, {
      group: group || undefined, kind: resource,
    });
  },
  forbiddenAdmission(message: string, resource: string, group: string, name: string): ApiError {
    return new ApiError(403, 'Forbidden', message, { name, group: group || undefined, kind: resource });
  },
  methodNotAllowed(message: string): ApiError {
    return new ApiError(405, 'MethodNotAllowed', message);
  },
  notAcceptable(message: string): ApiError {
    return new ApiError(406, 'NotAcceptable', message);
  },
  tooLarge(message: string): ApiError {
    return new ApiError(413, 'RequestEntityTooLarge', message);
  },
  unsupportedMediaType(contentType: string): ApiError {
    return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${contentType})`);
  },
  internal(message: string): ApiError {
    return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
  },
  unavailable(message: string): ApiError {
    return new ApiError(503, 'ServiceUnavailable', message);
  },
  timeout(message: string): ApiError {
    return new ApiError(504, 'Timeout', message);
  },
  pathNotFound(path: string): ApiError {
    return new ApiError(404, 'NotFound', `the server could not find the requested resource (${path})`);
  },
};

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}
