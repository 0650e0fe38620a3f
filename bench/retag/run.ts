/**
 * bench/retag: promoting a 5-layer, 2-platform image (a manifest list) to 3 new tags in another repository
 * of a real docker-registry (token auth, as GHCR runs it), counted in registry requests and bytes moved.
 * Ours: build-tag's promoteImage (blobs mounted, manifests put as bytes). Peer: what a pull-tag-push does
 * through the same API (per blob: HEAD in the target, GET from the source, upload), the way `docker pull`
 * + `docker tag` + `docker push` or a copy without mounts moves an image. Same registry, same run,
 * a fresh target repository for each round.
 *
 *   npx tsx bench/retag/run.ts [layer-kib=1024] [rounds=3]
 */
import { promoteImage, RegistryClient } from '../../packages/core/src/registry';
import { startRegistry } from '../../packages/testkit/src/registry';
import { pushTestImage } from '../../packages/testkit/src/registry-images';
import { median, reportResult } from '../support';

const layerKib = Number(process.argv[2] ?? 1024);
const rounds = Number(process.argv[3] ?? 3);
const TAGS = ['1.4.0', '1.4', 'latest'];

const registry = await startRegistry({ auth: 'token' });
const credentials = () => ({ username: registry.username, password: registry.password });

interface Sample {
  ms: number;
  requests: number;
  blobBytes: number;
  manifestBytes: number;
}

/** A copy as pull + tag + push does it: every blob read from the source and written to the target. */
async function peerCopy(client: RegistryClient, from: string, repository: string): Promise<void> {
  const source = (await client.getManifest(`${registry.host}/acme/staging:${from}`))!;
  const children = JSON.parse(Buffer.from(source.bytes).toString()).manifests as {
    digest: string;
    mediaType: string;
  }[];
  for (const child of children) {
    const manifest = (await client.getManifest(`${registry.host}/acme/staging@${child.digest}`))!;
    const json = JSON.parse(Buffer.from(manifest.bytes).toString()) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    for (const blob of [json.config, ...json.layers]) {
      if (await client.blobExists(registry.host, repository, blob.digest)) continue;
      await client.uploadBlob(
        registry.host,
        repository,
        await client.getBlob(registry.host, 'acme/staging', blob.digest),
      );
    }
    await client.putManifest(registry.host, repository, child.digest, {
      bytes: manifest.bytes,
      mediaType: child.mediaType,
    });
  }
  for (const tag of TAGS)
    await client.putManifest(registry.host, repository, tag, { bytes: source.bytes, mediaType: source.mediaType });
}

try {
  const seed = new RegistryClient({ credentials });
  const image = await pushTestImage(seed, registry.host, 'acme/staging', 'sha-1a2b3c4', {
    platforms: ['linux/amd64', 'linux/arm64'],
    layers: 5,
    layerBytes: layerKib * 1024,
  });
  console.log(
    `source: ${image.blobDigests.length} blobs, ${(image.blobBytes / 1048576).toFixed(1)} MiB, list ${image.digest}`,
  );
  const samples = { ours: [] as Sample[], peer: [] as Sample[] };
  for (let round = 0; round < rounds; round++) {
    for (const who of round % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours']) {
      const client = new RegistryClient({ credentials });
      const repository = `acme/prod-${who}-${round}`;
      const started = performance.now();
      if (who === 'ours') {
        const result = await promoteImage(
          client,
          `${registry.host}/acme/staging:sha-1a2b3c4`,
          TAGS.map((tag) => `${registry.host}/${repository}:${tag}`),
        );
        if (result.digest !== image.digest || result.copiedBytes !== 0)
          throw new Error('promote did not keep the digest or copied bytes');
      } else {
        await peerCopy(client, 'sha-1a2b3c4', repository);
      }
      const ms = performance.now() - started;
      const check = await client.manifestExists(`${registry.host}/${repository}:latest`);
      if (check?.digest !== image.digest) throw new Error(`${who}: latest is ${check?.digest}, not ${image.digest}`);
      const s = client.stats;
      // The check above is not part of the promotion.
      samples[who as 'ours' | 'peer'].push({
        ms,
        requests: s.requests - 1,
        blobBytes: s.blobBytesUp + s.blobBytesDown,
        manifestBytes: s.manifestBytesUp + s.manifestBytesDown,
      });
    }
  }
  const summary = (list: Sample[]) => ({
    ms: median(list.map((s) => s.ms)),
    requests: median(list.map((s) => s.requests)),
    blobBytes: median(list.map((s) => s.blobBytes)),
    manifestBytes: median(list.map((s) => s.manifestBytes)),
  });
  const ours = summary(samples.ours);
  const peer = summary(samples.peer);
  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(2)} MiB`;
  console.log(
    `promote to ${TAGS.length} tags: ours ${ours.requests} requests, ${mib(ours.blobBytes)} of blobs, ${ours.manifestBytes} manifest bytes, ${ours.ms.toFixed(0)} ms`,
  );
  console.log(
    `                  pull+push ${peer.requests} requests, ${mib(peer.blobBytes)} of blobs, ${peer.manifestBytes} manifest bytes, ${peer.ms.toFixed(0)} ms`,
  );
  console.log(
    `ratios ours/peer: requests ${(ours.requests / peer.requests).toFixed(2)}x, blob bytes ${(ours.blobBytes / peer.blobBytes).toFixed(2)}x, time ${(ours.ms / peer.ms).toFixed(2)}x (target: no blob bytes moved)`,
  );
  reportResult({
    measure: 'promote 5-layer 2-platform image to 3 tags: blob bytes moved',
    ours: mib(ours.blobBytes),
    peer: mib(peer.blobBytes),
    peerName: 'pull + tag + push over the registry API',
    ratio: `${(ours.blobBytes / peer.blobBytes).toFixed(2)}x`,
    target: '0 bytes (mounts only)',
    met: ours.blobBytes === 0,
  });
  reportResult({
    measure: 'promote 5-layer 2-platform image to 3 tags: registry requests',
    ours: String(ours.requests),
    peer: String(peer.requests),
    peerName: 'pull + tag + push over the registry API',
    ratio: `${(ours.requests / peer.requests).toFixed(2)}x`,
  });
  reportResult({
    measure: 'promote 5-layer 2-platform image to 3 tags: wall time',
    ours: `${ours.ms.toFixed(0)} ms`,
    peer: `${peer.ms.toFixed(0)} ms`,
    peerName: 'pull + tag + push over the registry API',
    ratio: `${(ours.ms / peer.ms).toFixed(2)}x`,
  });
} finally {
  await registry.stop();
}
