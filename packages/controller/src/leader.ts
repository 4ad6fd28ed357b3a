/**
 * Leader election with a coordination.k8s.io Lease: only the holder
 * reconciles. Every write is a compare-and-swap on resourceVersion, so two
 * replicas never both believe they lead (the loser sees 409).
 */
import type { V1Lease } from '@kubernetes/client-node';
import type { Kube } from './kube.ts';
import { isStatus } from './kube.ts';
import type { Logger } from './log.ts';

/** What to do with the lease as it stands. */
export type LeaseDecision = 'create' | 'renew' | 'acquire' | 'wait';

/** Decides from the lease, who we are and the time: pure, table-tested. */
export function leaseDecision(lease: V1Lease | undefined, identity: string, nowMs: number): LeaseDecision {
  if (!lease) return 'create';
  const spec = lease.spec ?? {};
  if (spec.holderIdentity === identity) return 'renew';
  if (!spec.holderIdentity) return 'acquire';
  const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
  const duration = (spec.leaseDurationSeconds ?? 15) * 1000;
  return renewed + duration < nowMs ? 'acquire' : 'wait';
}

/**
 * A Date that serializes with microseconds: the API server parses Lease times
 * as MicroTime (exactly six fraction digits) and rejects JavaScript's three.
 */
class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }
}

/** Wraps a time so it serializes as a Kubernetes MicroTime. */
export function microTime(d: Date | string | number): Date {
  return new MicroTime(typeof d === 'object' ? d.getTime() : d);
}

/** Options of the elector. */
export interface ElectorOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationSeconds?: number;
  readonly renewEveryMs?: number;
}

/** Keeps trying to hold the Lease; `onChange` fires when leadership is gained or lost. */
export class LeaderElector {
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly kube: Kube, private readonly opts: ElectorOptions, private readonly log: Logger, private readonly onChange: (leader: boolean) => void) {}

  /** True while this process holds the lease. */
  get isLeader(): boolean {
    return this.leader;
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.log.log('info', leader ? 'became leader' : 'lost leadership', { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity });
    this.onChange(leader);
  }

  private body(lease: V1Lease | undefined, acquire: boolean): V1Lease {
    const now = microTime(Date.now());
    const spec = lease?.spec ?? {};
    return {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: { ...(lease?.metadata ?? {}), name: this.opts.name, namespace: this.opts.namespace },
      spec: {
        ...spec,
        ...(spec.acquireTime ? { acquireTime: microTime(spec.acquireTime) } : {}),
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: this.opts.leaseDurationSeconds ?? 15,
        renewTime: now,
        ...(acquire ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + (lease ? 1 : 0) } : {}),
      },
    };
  }

  /** One round: read the lease and create, renew or take it when it is ours to take. */
  async tick(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    let lease: V1Lease | undefined;
    try {
      lease = await this.kube.getLease(namespace, name);
    } catch (e) {
      if (!isStatus(e, 404)) {
        this.log.log('warn', 'reading the lease failed', { error: e instanceof Error ? e.message : String(e) });
        this.set(false);
        return false;
      }
    }
    const d = leaseDecision(lease, identity, Date.now());
    try {
      if (d === 'create') await this.kube.createLease(namespace, this.body(undefined, true));
      else if (d === 'renew' || d === 'acquire') await this.kube.replaceLease(namespace, this.body(lease, d === 'acquire'));
      this.set(d !== 'wait');
    } catch (e) {
      // 409: someone else created or renewed it between our read and write.
      if (!isStatus(e, 409)) this.log.log('warn', 'writing the lease failed', { error: e instanceof Error ? e.message : String(e) });
      this.set(false);
    }
    return this.leader;
  }

  /** Starts the renew loop. */
  start(): void {
    const loop = async (): Promise<void> => {
      if (this.stopped) return;
      await this.tick();
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.opts.renewEveryMs ?? 2000);
    };
    void loop();
  }

  /** Stops renewing and gives the lease up so a successor need not wait for it to expire. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leader) return;
    try {
      const lease = await this.kube.getLease(this.opts.namespace, this.opts.name);
      if (lease.spec?.holderIdentity === this.opts.identity) {
        const spec = lease.spec;
        await this.kube.replaceLease(this.opts.namespace, {
          ...lease,
          spec: {
            ...spec, holderIdentity: undefined, leaseDurationSeconds: 1,
            ...(spec.acquireTime ? { acquireTime: microTime(spec.acquireTime) } : {}), ...(spec.renewTime ? { renewTime: microTime(spec.renewTime) } : {}),
          },
        });
      }
    } catch {
      // Best effort: the lease expires on its own.
    }
    this.set(false);
  }
}
