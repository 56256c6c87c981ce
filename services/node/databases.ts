/**
 * The databases a node serves: the catalog says which exist, each one's value is rebuilt from
 * its log on first use and kept current by commits, notifications and polling.
 */
import { isDatalithError, notFound, checkDatabaseName } from '../engine';
import type { CatalogStore, DatabaseRecord } from './storage';
import type { LogStore } from './log';
import { DatabaseHost, DELETED_CODE } from './log/transactor';
import type { TransactorObserver } from './metrics';
import type { Indexing } from './indexing/durable';

export class Databases {
  private readonly hosts = new Map<string, Promise<DatabaseHost>>();
  /** Hosts whose log has been replayed (their promise resolved). */
  private readonly ready = new WeakSet<Promise<DatabaseHost>>();
  /** Called when any database advances (a commit on this node or entries read from the log). */
  onAdvance: ((name: string, t: number) => void) | null = null;
  /** Called when a host moves onto a newer durable root (its database id and the root's t). */
  readonly onRebase: Array<(dbId: string, t: number) => void> = [];
  /** Receives every host's commits, conflicts and catch-ups (the node's metrics). */
  observer: TransactorObserver | null = null;

  constructor(
    private readonly catalog: CatalogStore,
    private readonly log: LogStore,
    /** Durable index segments: hosts start from their database's root and index their tail. */
    readonly indexing: Indexing | null = null,
  ) {}

  async create(name: string): Promise<DatabaseRecord & { created: boolean }> {
    checkDatabaseName(name);
    return this.catalog.createDatabase(name);
  }

  /**
   * Deletes a database: first its log is closed with a deletion entry (so no node, informed or
   * not, can commit into it any more), then its catalog entry is removed. Returns the t of the
   * deletion entry (for notifying the other nodes), or null when there was no such database.
   */
  async delete(name: string): Promise<{ deleted: boolean; t: number | null }> {
    checkDatabaseName(name);
    const rec = await this.catalog.getDatabase(name);
    if (!rec) return { deleted: false, t: null };
    const host = await this.host(name).catch(() => undefined);
    let t: number | null = null;
    if (host && host.dbId === rec.id) {
      await host.closeLog();
      t = host.db.t + 1;
    }
    this.hosts.delete(name);
    return { deleted: await this.catalog.deleteDatabase(name), t };
  }

  list(): Promise<string[]> {
    return this.catalog.listDatabases();
  }

  /** The hosts whose database is loaded (not those still loading), by name. */
  async readyHosts(): Promise<Array<[string, DatabaseHost]>> {
    const out: Array<[string, DatabaseHost]> = [];
    for (const [name, h] of this.hosts) if (this.ready.has(h)) out.push([name, await h]);
    return out;
  }

  /** Databases loaded on this node. */
  loaded(): string[] {
    return [...this.hosts.keys()];
  }

  /**
   * Whether the database is loaded here (its log replayed); when it is not, starts loading it in
   * the background. A node that just joined uses it to pass transactions on instead of holding
   * them while it replays a whole log.
   */
  readyOrLoad(name: string): boolean {
    const h = this.hosts.get(name);
    if (h !== undefined && this.ready.has(h)) return true;
    void this.host(name).catch(() => {});
    return false;
  }

  /** The host of a database, loading it from its log on first use; not-found if it does not exist. */
  async host(name: string): Promise<DatabaseHost> {
    checkDatabaseName(name);
    const cached = this.hosts.get(name);
    if (cached) {
      const host = await cached;
      if (!host.isDeleted) return host;
      // Deleted (perhaps through another node), perhaps created again since: look again.
      if (this.hosts.get(name) === cached) this.hosts.delete(name);
    }
    let h = this.hosts.get(name);
    if (!h) {
      h = this.load(name);
      this.hosts.set(name, h);
      const loading = h;
      h.then(() => { this.ready.add(loading); }, () => {
        if (this.hosts.get(name) === loading) this.hosts.delete(name);
      });
    }
    return h;
  }

  private async load(name: string): Promise<DatabaseHost> {
    const rec = await this.catalog.getDatabase(name);
    if (!rec) throw notFound('db.error/db-not-found', `Database ${name} does not exist`, { dbName: name });
    const durability = this.indexing?.durabilityFor(rec.id);
    const host = new DatabaseHost(name, rec.id, this.log, durability ? { durability } : {});
    host.onAdvance = (t) => this.onAdvance?.(name, t);
    host.onRebase = (t) => { for (const f of this.onRebase) f(rec.id, t); };
    // From the durable root when there is one: only the log after it is read.
    await host.open();
    await host.catchUp();
    // Loading replays the whole log: that is not lag. Observe from here on.
    host.observer = this.observer;
    // A log closed by a deletion whose catalog entry was not removed yet.
    if (host.isDeleted) throw notFound('db.error/db-not-found', `Database ${name} does not exist`, { dbName: name });
    return host;
  }

  /**
   * Runs `fn` on the database's host; when the host turns out to serve a deleted log (the
   * database was deleted, and perhaps created again, through another node), runs it once more
   * on the database the catalog names now.
   */
  async withHost<T>(name: string, fn: (host: DatabaseHost) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.host(name));
    } catch (e) {
      if (!(isDatalithError(e) && e.code === DELETED_CODE)) throw e;
      return fn(await this.host(name));
    }
  }

  /** Forgets a loaded database whose catalog entry is gone (deleted through another node). */
  async revalidate(name: string): Promise<void> {
    const h = this.hosts.get(name);
    if (!h) return;
    const rec = await this.catalog.getDatabase(name);
    const host = await h.catch(() => undefined);
    if (!rec || (host && host.dbId !== rec.id)) this.hosts.delete(name);
  }

  /**
   * Catches every loaded database up with its log (polling backs up lost notifications), and
   * forgets those whose catalog entry is gone or names another log (deleted, created again).
   */
  async pollAll(): Promise<void> {
    await Promise.all(
      [...this.hosts.entries()].map(async ([name, h]) => {
        try {
          const host = await h;
          await host.catchUp();
          if (host.isDeleted) {
            if (this.hosts.get(name) === h) this.hosts.delete(name);
            return;
          }
          await this.revalidate(name);
        } catch {
          // Reported by the next request that needs this database.
        }
      }),
    );
  }
}
