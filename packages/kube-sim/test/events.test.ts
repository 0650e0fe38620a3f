// Events: expiry after the API server's TTL (on the sim's clock) and the recorder's folding of repeats, as a
// user of `kubectl get events` would see them.
import { VirtualClock } from '@deploy-actions/core/clock';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli';
import { EventRecorder } from '../src/controllers/events';
import { installControllers } from '../src/defaults';
import { expireEvents } from '../src/event-ttl';
import { KubeSim } from '../src/index';
import { type KubeObject, ObjectStore } from '../src/store';

const MINUTE = 60_000;

function event(name: string, message = 'hello'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' },
    reason: 'Test',
    message,
    type: 'Normal',
    count: 1,
  };
}

const names = (store: ObjectStore) => store.list('v1/events', 'default').map((e) => e.metadata.name as string);

describe('Event TTL', () => {
  let sim: KubeSim | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  it('deletes an Event an hour after its last write, renewed by every update, with a DELETED watch event', async () => {
    const clock = new VirtualClock();
    sim = await KubeSim.start({ clock });
    const deleted: string[] = [];
    sim.store.watch('v1/events', undefined, undefined, (e) => {
      if (e.type === 'DELETED') deleted.push(e.object.metadata.name);
    });
    sim.store.create(event('once'));
    sim.store.create(event('updated'));
    await clock.advance(30 * MINUTE);
    sim.store.modify('v1/events', 'default', 'updated', (e) => {
      e.count = 2;
    });
    await clock.advance(29 * MINUTE);
    expect(names(sim.store)).toEqual(['once', 'updated']);
    await clock.advance(1 * MINUTE);
    expect(names(sim.store)).toEqual(['updated']);
    expect(deleted).toEqual(['once']);
    // 'updated' was last written at 30 min: it goes at 90.
    await clock.advance(29 * MINUTE);
    expect(names(sim.store)).toEqual(['updated']);
    await clock.advance(1 * MINUTE);
    expect(names(sim.store)).toEqual([]);
    expect(deleted).toEqual(['once', 'updated']);
    // Other kinds never expire.
    expect(sim.store.find('v1/namespaces', undefined, 'default')).toBeDefined();
  });

  it('takes the TTL from KubeSim.start options', async () => {
    const clock = new VirtualClock();
    sim = await KubeSim.start({ clock, eventTtlMs: 5 * MINUTE });
    sim.store.create(event('short'));
    await clock.advance(5 * MINUTE - 1);
    expect(names(sim.store)).toEqual(['short']);
    await clock.advance(1);
    expect(names(sim.store)).toEqual([]);
  });

  it('stops expiring when stopped, and refuses a TTL that is not positive', async () => {
    const clock = new VirtualClock();
    const store = new ObjectStore(clock);
    const stop = expireEvents(store, clock, MINUTE);
    store.create(event('kept'));
    stop();
    await clock.advance(2 * MINUTE);
    expect(names(store)).toEqual(['kept']);
    expect(clock.pendingTimers).toBe(0);
    expect(() => expireEvents(store, clock, 0)).toThrow(RangeError);
  });

  it('is set on the command line with --event-ttl, and a bad value is refused before anything starts', async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (l: string) => err.push(l) };
    try {
      expect(await runCli(['--event-ttl', 'soon'], io)).toBeUndefined();
      expect(process.exitCode).toBe(2);
      expect(err.join('\n')).toContain('--event-ttl must be a positive duration like 30m or 1h (got "soon")');
      expect(await runCli(['--event-ttl', '0'], io)).toBeUndefined();
    } finally {
      process.exitCode = undefined;
    }
    sim = await runCli(['--event-ttl', '90m', '--no-controllers'], io);
    expect(sim).toBeDefined();
  });
});

describe('EventRecorder', () => {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'u-1', resourceVersion: '1' },
  };
  const kubelet = { component: 'kubelet', host: 'node-1' };

  it('counts repeats on one Event and combines more than ten different messages of one reason', async () => {
    const clock = new VirtualClock();
    const store = new ObjectStore(clock);
    const recorder = new EventRecorder(store, clock);
    for (let i = 0; i < 5; i++) recorder.record(pod, 'Warning', 'BackOff', 'Back-off restarting', kubelet);
    let events = store.list('v1/events', 'default');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ count: 5, message: 'Back-off restarting', reason: 'BackOff' });

    for (let i = 1; i <= 12; i++) recorder.record(pod, 'Normal', 'Scaling', `to ${i}`, kubelet);
    events = store.list('v1/events', 'default').filter((e) => e.reason === 'Scaling');
    // Nine on their own, then one Event for the 10th, 11th and 12th.
    expect(events).toHaveLength(10);
    const combined = events.filter((e) => e.message.startsWith('(combined from similar events): '));
    expect(combined).toHaveLength(1);
    expect(combined[0]).toMatchObject({ count: 3, message: '(combined from similar events): to 12' });

    // Ten quiet minutes later the similar-message count starts again.
    await clock.advance(11 * MINUTE);
    recorder.record(pod, 'Normal', 'Scaling', 'to 13', kubelet);
    expect(store.list('v1/events', 'default').some((e) => e.message === 'to 13' && e.count === 1)).toBe(true);
  });

  it('re-creates an expired Event under its name with the count going on', async () => {
    const clock = new VirtualClock();
    const store = new ObjectStore(clock);
    const stop = expireEvents(store, clock, 60 * MINUTE);
    const recorder = new EventRecorder(store, clock);
    recorder.record(pod, 'Warning', 'BackOff', 'Back-off restarting', kubelet);
    const [first] = store.list('v1/events', 'default');
    await clock.advance(61 * MINUTE);
    expect(store.list('v1/events', 'default')).toEqual([]);
    recorder.record(pod, 'Warning', 'BackOff', 'Back-off restarting', kubelet);
    const [again] = store.list('v1/events', 'default');
    expect(again).toMatchObject({
      metadata: { name: first!.metadata.name },
      count: 2,
      firstTimestamp: first!.firstTimestamp,
      lastTimestamp: '2026-01-01T01:01:00Z',
    });
    stop();
  });
});

describe('a crash-looping pod for three hours', () => {
  it('keeps a handful of Events: repeats are counted, one-off Events expire after an hour', async () => {
    const clock = new VirtualClock();
    const sim = await KubeSim.start({ clock });
    try {
      installControllers(sim);
      sim.behaviour.set('web:bad', { crashLoop: { after: '1s' } });
      sim.store.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace: 'default' },
        spec: { containers: [{ name: 'main', image: 'web:bad' }] },
      });
      let most = 0;
      for (let t = 0; t < 180; t++) {
        await clock.advance(MINUTE);
        most = Math.max(most, sim.store.count('v1/events'));
      }
      const restarts = sim.store.get('v1/pods', 'default', 'web').status.containerStatuses[0].restartCount;
      expect(restarts).toBeGreaterThan(30);
      expect(most).toBeLessThanOrEqual(8);
      const events = sim.store.list('v1/events', 'default');
      const reasons = events.map((e) => e.reason).sort();
      // Scheduled happened once, at the start: expired. The repeating ones are still being counted.
      expect(reasons).not.toContain('Scheduled');
      expect(events.find((e) => e.reason === 'BackOff')!.count).toBeGreaterThan(30);
      expect(events.find((e) => e.reason === 'Started')!.count).toBe(restarts + 1);
    } finally {
      await sim.stop();
    }
  });
});
