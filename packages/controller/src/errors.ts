/**
 * Errors the controller reports. Each carries a stable `code` so callers and
 * tests branch on the code, never on message text.
 */
import { PipodError } from '@pipod/plan';

/** A Kubernetes API call failed with an HTTP status the caller did not handle. */
export class KubeApiError extends PipodError {
  constructor(readonly status: number | undefined, readonly operation: string, detail: string) {
    super('KUBE_API', `${operation} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${detail}`);
    this.name = 'KubeApiError';
  }
}

/** A Pipeline or Task a run refers to does not exist in the run's namespace. */
export class RefNotFoundError extends PipodError {
  constructor(readonly kind: string, readonly refName: string, readonly namespace: string) {
    super('REF_NOT_FOUND', `${kind} ${JSON.stringify(refName)} not found in namespace ${JSON.stringify(namespace)}`);
    this.name = 'RefNotFoundError';
  }
}

/** The run cannot be turned into a pod (validation errors from the builder, or an unsupported shape). */
export class RunInvalidError extends PipodError {
  constructor(readonly errors: readonly string[]) {
    super('RUN_INVALID', errors.join('; '));
    this.name = 'RunInvalidError';
  }
}

/** Writing the cancel file into the pod did not work. */
export class CancelDeliveryError extends PipodError {
  constructor(detail: string) {
    super('CANCEL_DELIVERY', `could not deliver cancel to the pod: ${detail}`);
    this.name = 'CancelDeliveryError';
  }
}

/** The controller was started with options that cannot work (no kubeconfig, bad namespace). */
export class ControllerConfigError extends PipodError {
  constructor(detail: string) {
    super('CONTROLLER_CONFIG', detail);
    this.name = 'ControllerConfigError';
  }
}

/** HTTP status of an error thrown by @kubernetes/client-node (v1 throws ApiException with `code`), if any. */
export function httpStatus(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const o = e as { code?: unknown; statusCode?: unknown; status?: unknown };
  for (const v of [o.code, o.statusCode, o.status]) if (typeof v === 'number') return v;
  return undefined;
}
