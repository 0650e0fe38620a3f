/**
 * `kube-sim [--port 0] [--kubeconfig ./kubeconfig.yaml] [--scenario file.yaml] [--namespace ns] [--no-tls]`:
 * start a server, print its address (and where the kubeconfig went), run until SIGINT/SIGTERM.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '@deploy-actions/core/inputs';
import { installControllers } from './defaults';
import { KubeSim } from './kube-sim';
import { loadScenario } from './scenario';

const USAGE = `Usage: kube-sim [--port 0] [--kubeconfig ./kubeconfig.yaml] [--scenario file.yaml] [--namespace default] [--event-ttl 1h] [--no-tls]

  --port        port on 127.0.0.1 (0 picks a free one; default 0)
  --kubeconfig  write a kubeconfig for the server to this path (mode 0600)
  --scenario    YAML: { namespaces: [...], objects: [...], ... } or a stream of manifests to create at start
  --namespace   the namespace of the kubeconfig's context (default: default)
  --event-ttl   Events are deleted this long after their last update, like kube-apiserver's flag (default 1h)
  --no-controllers  serve the API only (no Deployment/ReplicaSet/Job controllers, kubelet or simulated apps)
  --no-tls      serve plain HTTP (the kubeconfig then has no CA; client-node 2.x refuses http without skip-verify)`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Parse the arguments and start the server; returns it (the caller keeps the process alive). */
export async function runCli(argv: string[], io: CliIo): Promise<KubeSim | undefined> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    io.err(`kube-sim: ${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  if (args.values.help) {
    io.out(USAGE);
    return undefined;
  }
  const port = Number(args.values.port ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.err(`kube-sim: --port must be a number from 0 to 65535 (got ${JSON.stringify(args.values.port)})`);
    process.exitCode = 2;
    return undefined;
  }
  const eventTtl = args.values['event-ttl'];
  const eventTtlMs = eventTtl === undefined ? undefined : parseDuration(eventTtl);
  if (eventTtl !== undefined && !((eventTtlMs ?? 0) > 0)) {
    io.err(`kube-sim: --event-ttl must be a positive duration like 30m or 1h (got ${JSON.stringify(eventTtl)})`);
    process.exitCode = 2;
    return undefined;
  }
  const scenario = args.values.scenario ? loadScenario(resolve(args.values.scenario)) : undefined;
  const sim = await KubeSim.start({
    port,
    tls: !args.values['no-tls'],
    ...(scenario ? { scenario } : {}),
    ...(eventTtlMs !== undefined ? { eventTtlMs } : {}),
  });
  if (!args.values['no-controllers']) installControllers(sim);
  io.out(`kube-sim listening on ${sim.url}`);
  if (args.values.kubeconfig) {
    const path = resolve(args.values.kubeconfig);
    sim.writeKubeconfig(path, args.values.namespace ? { namespace: args.values.namespace } : {});
    io.out(`kubeconfig written to ${path}`);
  }
  return sim;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      port: { type: 'string', short: 'p' },
      kubeconfig: { type: 'string' },
      scenario: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      'event-ttl': { type: 'string' },
      'no-tls': { type: 'boolean' },
      'no-controllers': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
}

/** Entry point of bin/kube-sim.js. */
export async function main(argv = process.argv.slice(2)): Promise<void> {
  const sim = await runCli(argv, { out: (l) => console.log(l), err: (l) => console.error(l) });
  if (!sim) return;
  const stop = async () => {
    await sim.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
