/**
 * Inputs shared by every action that talks to Kubernetes (INTERFACE.md, "Common to every action").
 * Kept apart from the client so an action can validate them without loading @kubernetes/client-node.
 */
import { string } from '../inputs';

/** RFC 1123 label: what Kubernetes accepts as a namespace name. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const kubeInputs = {
  /** Kubeconfig content or a path; masked because it may hold tokens and client keys. */
  kubeconfig: string({ secret: true, example: '${{ secrets.KUBECONFIG }}' }),
  context: string({ example: 'prod-us-east-1' }),
  // No default: like kubectl, an unset namespace means the kubeconfig context's, else `default` (resolveNamespace).
  namespace: string({ pattern: DNS_LABEL, example: 'production' }),
};

/** The namespace to work in, as kubectl picks it: the input, else the kubeconfig context's, else `default`. */
export function resolveNamespace(given: string | undefined, contextNamespace: string | undefined): string {
  return given ?? contextNamespace ?? 'default';
}
