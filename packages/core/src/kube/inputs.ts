/**
 * Inputs shared by every action that talks to Kubernetes (README.md, "What every action shares").
 * Kept apart from the client so an action can validate them without loading @kubernetes/client-node.
 */
import { UserError } from '../errors';
import { string } from '../inputs';
import type { Runtime } from '../runtime/port';
import type { KubeConfigSource } from './config';

/** RFC 1123 label: what Kubernetes accepts as a namespace name. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const kubeInputs = {
  /** Kubeconfig content or a path; masked because it may hold tokens and client keys. */
  kubeconfig: string({ secret: true, example: '${{ secrets.KUBECONFIG }}' }),
  context: string({ example: 'prod-us-east-1' }),
  // No default: like kubectl, an unset namespace means the kubeconfig context's, else `default` (resolveNamespace).
  namespace: string({ pattern: DNS_LABEL, example: 'production' }),
  /** Audience of a GitHub OIDC token used as the cluster's bearer token when the kubeconfig user has no credentials. */
  'oidc-audience': string({ example: 'kubernetes' }),
};

/** Where the cluster is, from the kube inputs: what KubeClient.connect and loadKubeConfig take. */
export function kubeSource(
  rt: Pick<Runtime, 'env' | 'workspace' | 'mask' | 'idToken'>,
  values: { kubeconfig?: string | undefined; context?: string | undefined; 'oidc-audience'?: string | undefined },
): KubeConfigSource {
  const audience = values['oidc-audience'];
  return {
    kubeconfig: values.kubeconfig,
    context: values.context,
    env: rt.env,
    workspace: rt.workspace,
    ...(audience === undefined ? {} : { oidc: { audience, token: (wanted: string) => oidcToken(rt, wanted) } }),
  };
}

async function oidcToken(rt: Pick<Runtime, 'mask' | 'idToken'>, audience: string): Promise<string> {
  if (rt.idToken === undefined) {
    throw new UserError(`Input 'oidc-audience': a GitHub OIDC token can only be had on a GitHub runner`, {
      hint: 'outside GitHub Actions, give a kubeconfig whose user has credentials',
    });
  }
  let token: string;
  try {
    token = await rt.idToken(audience);
  } catch (error) {
    throw new UserError(
      `Input 'oidc-audience': no GitHub OIDC token for audience ${audience}: ${(error as Error).message}`,
      {
        hint: 'give the job `permissions: id-token: write` (and contents: read)',
        cause: error,
      },
    );
  }
  rt.mask(token);
  return token;
}

/** The namespace to work in, as kubectl picks it: the input, else the kubeconfig context's, else `default`. */
export function resolveNamespace(given: string | undefined, contextNamespace: string | undefined): string {
  return given ?? contextNamespace ?? 'default';
}
