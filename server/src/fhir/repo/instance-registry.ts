// Which server instances write to this database, and which of them died without stopping.
// Each instance keeps a document with its host, pid and a heartbeat. At start-up an instance looks
// for dead ones (same host and its pid gone, or no heartbeat for a while) and settles what they
// may have left half-done: versions claimed but never made current, conditional-create claims.
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';

export const INSTANCES_COLLECTION = 'server_instances';

const HEARTBEAT_MS = 10_000;
/** Another host's instance without a heartbeat for this long is taken for dead. */
const SILENT_MS = 6 * HEARTBEAT_MS;

export interface InstanceDocument {
  _id: string;
  host: string;
  pid: number;
  startedAt: Date;
  aliveAt: Date;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

export class InstanceRegistry {
  readonly id = randomUUID();
  private readonly instances: Collection<InstanceDocument>;
  private timer?: NodeJS.Timeout;

  constructor(db: Db) {
    this.instances = db.collection<InstanceDocument>(INSTANCES_COLLECTION);
  }

  /** Records this instance and keeps its heartbeat going. */
  async register(): Promise<void> {
    const now = new Date();
    await this.instances.insertOne({ _id: this.id, host: os.hostname(), pid: process.pid, startedAt: now, aliveAt: now });
    this.timer = setInterval(() => {
      this.instances.updateOne({ _id: this.id }, { $set: { aliveAt: new Date() } }).catch(() => undefined);
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Instances that stopped without saying so. */
  async dead(): Promise<InstanceDocument[]> {
    const host = os.hostname();
    const now = Date.now();
    const all = await this.instances.find({ _id: { $ne: this.id } }).toArray();
    return all.filter((i) => (i.host === host ? !processAlive(i.pid) : now - i.aliveAt.getTime() > SILENT_MS));
  }

  /** Forgets dead instances once what they left is settled. */
  async forget(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.instances.deleteMany({ _id: { $in: ids } });
  }

  /** A clean stop: nothing of this instance is left to settle. */
  async unregister(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.instances.deleteOne({ _id: this.id }).catch(() => undefined);
  }
}

/** How far before a dead instance's last heartbeat its unfinished claims can reach. */
export const CLAIM_WINDOW_MS = 2 * 60_000;
