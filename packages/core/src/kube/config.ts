/**
 * Finds the cluster to talk to, in kubectl's order: the `kubeconfig` input
 * (content or a path), `KUBECONFIG` (several files joined by the path
 * delimiter, merged, the first one's context winning), `~/.kube/config`, then
 * the in-cluster service account. The Kubernetes client is imported here, on
 * first use, so actions that never reach a cluster do not pay for loading it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { InputError, UserError } from '../errors';

export interface KubeConfigSource {
  /** The `kubeconfig` input: YAML content, or a path (relative to the workspace). */
  kubeconfig?: string | undefined;
  /** The `context` input. */
  context?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  workspace: string;
  /**
   * The `oidc-audience` input: a GitHub OIDC token for this audience becomes the bearer token of a kubeconfig
   * user that has no credentials of its own (a cluster that trusts GitHub's OIDC issuer).
   */
  oidc?: { audience: string; token: (audience: string) => Promise<string> } | undefined;
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type ClientNode = typeof import('@kubernetes/client-node');

let clientNode: Promise<ClientNode> | undefined;
/** The one place that loads @kubernetes/client-node (a large module graph). */
export function importClientNode(): Promise<ClientNode> {
  clientNode ??= import('@kubernetes/client-node');
  return clientNode;
}

/** Where the configuration came from, for the log and error messages. */
export interface LoadedKubeConfig {
  config: KubeConfig;
  origin: string;
}

export async function loadKubeConfig(source: KubeConfigSource): Promise<LoadedKubeConfig> {
  const { KubeConfig } = await importClientNode();
  const config = new KubeConfig();
  const origin = loadInto(config, source, KubeConfig);
  if (source.context !== undefined && source.context !== '') {
    if (config.getContextObject(source.context) === null) {
      const known = config.getContexts().map((context) => context.name);
      throw new InputError(
        'context',
        `no such context in the kubeconfig (${origin}); contexts: ${known.join(', ') || 'none'}`,
        source.context,
        known[0] ?? 'kind-kind',
      );
    }
    config.setCurrentContext(source.context);
  }
  if (config.getCurrentCluster() === null) {
    throw new UserError(
      `The kubeconfig (${origin}) has no cluster for context "${config.getCurrentContext() || '(none)'}"`,
      { hint: 'set the context input to one of its contexts, or fix current-context' },
    );
  }
  if (source.oidc !== undefined && !hasCredentials(config.getCurrentUser())) {
    useOidcToken(config, await source.oidc.token(source.oidc.audience));
    return { config, origin: `${origin}, with a GitHub OIDC token for audience ${source.oidc.audience}` };
  }
  return { config, origin };
}

type KubeUser = NonNullable<ReturnType<KubeConfig['getCurrentUser']>>;

/** Whether the user has a way to authenticate of its own (then an OIDC token is not needed). */
function hasCredentials(user: KubeUser | null): boolean {
  if (user === null) return false;
  const fields = user as KubeUser & { tokenFile?: string };
  return Boolean(
    fields.token ||
      fields.tokenFile ||
      fields.certData ||
      fields.certFile ||
      fields.exec ||
      fields.authProvider ||
      fields.username,
  );
}

/** The current context's user gets `token` (a user the context names but the kubeconfig lacks is added). */
function useOidcToken(config: KubeConfig, token: string): void {
  const context = config.getContextObject(config.getCurrentContext())!;
  const name = context.user || 'github-oidc';
  const others = config.users.filter((user) => user.name !== name);
  config.users = [...others, { ...(config.getUser(name) ?? {}), name, token }];
  if (!context.user) {
    config.contexts = config.contexts.map((each) => (each.name === context.name ? { ...each, user: name } : each));
  }
}

function loadInto(config: KubeConfig, source: KubeConfigSource, Config: new () => KubeConfig): string {
  const given = source.kubeconfig?.trim();
  if (given) {
    if (looksLikeContent(given)) {
      parse(() => config.loadFromString(given), 'the kubeconfig input', 'kubeconfig');
      return 'the kubeconfig input';
    }
    const path = isAbsolute(given) ? given : resolve(source.workspace, given);
    if (!existsSync(path)) {
      throw new InputError(
        'kubeconfig',
        'is neither kubeconfig YAML nor an existing file',
        given,
        '${{ secrets.KUBECONFIG }}',
      );
    }
    parse(() => config.loadFromString(readFileSync(path, 'utf8')), path, 'kubeconfig');
    return path;
  }
  const fromEnv = (source.env.KUBECONFIG ?? '').split(delimiter).filter((path) => path !== '');
  const files = fromEnv.filter((path) => existsSync(path));
  if (files.length > 0) {
    files.forEach((path, index) => {
      const part = index === 0 ? config : new Config();
      parse(() => part.loadFromString(readFileSync(path, 'utf8')), path);
      if (part !== config) config.mergeConfig(part, true);
    });
    return `KUBECONFIG=${files.join(delimiter)}`;
  }
  const home = source.env.HOME ?? homedir();
  const homeConfig = join(home, '.kube', 'config');
  if (existsSync(homeConfig)) {
    parse(() => config.loadFromString(readFileSync(homeConfig, 'utf8')), homeConfig);
    return homeConfig;
  }
  if (source.env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_TOKEN)) {
    config.loadFromCluster();
    return 'the in-cluster service account';
  }
  throw new UserError('No Kubernetes configuration found', {
    hint: 'set the kubeconfig input (e.g. kubeconfig: ${{ secrets.KUBECONFIG }}), or KUBECONFIG, or run a setup step that writes ~/.kube/config',
  });
}

/** Inline YAML has a newline or a `key: value`; a path has neither. */
function looksLikeContent(text: string): boolean {
  return text.includes('\n') || /^\s*[{]/.test(text) || /^[\w-]+:\s/.test(text);
}

function parse(load: () => void, where: string, input?: string): void {
  try {
    load();
  } catch (error) {
    const problem = `cannot be read as a kubeconfig: ${(error as Error).message}`;
    if (input !== undefined)
      throw new InputError(
        input,
        problem,
        where === 'the kubeconfig input' ? '(inline YAML)' : where,
        '${{ secrets.KUBECONFIG }}',
      );
    throw new UserError(`${where} ${problem}`);
  }
}
