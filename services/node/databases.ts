/**
 * The databases a node serves: the catalog says which exist, each one's value is rebuilt from
 * its log on first use and kept current by commits, notifications and polling.
 */
import { notFound } from '../engine/errors';
import { checkDatabaseName } from '../client/local';
import type { CatalogStore, DatabaseRecord, LogStore } from './storage';
import { DatabaseHost } from './transactor';

export class Databases {
  private readonly hosts = new Map<string, Promise<DatabaseHost>>();
  /** Called when any database advances (a commit on this node or entries read from the log). */
  onAdvance: ((name: string, t: number) => void) | null = null;

  constructor(
    private readonly catalog: CatalogStore,
    private readonly log: LogStore,
  ) {}

  async create(name: string): Promise<DatabaseRecord & { created: boolean }> {
    checkDatabaseName(name);
    return this.catalog.createDatabase(name);
  }

  async delete(name: string): Promise<boolean> {
    checkDatabaseName(name);
    this.hosts.delete(name);
    return this.catalog.deleteDatabase(name);
  }

  list(): Promise<string[]> {
    return this.catalog.listDatabases();
  }

  /** Databases loaded on this node. */
  loaded(): string[] {
    return [...this.hosts.keys()];
  }

  /** The host of a database, loading it from its log on first use; not-found if it does not exist. */
  async host(name: string): Promise<DatabaseHost> {
    checkDatabaseName(name);
    let h = this.hosts.get(name);
    if (!h) {
      h = (async () => {
        const rec = await this.catalog.getDatabase(name);
        if (!rec) throw notFound('db.error/db-not-found', `Database ${name} does not exist`, { dbName: name });
        const host = new DatabaseHost(name, rec.id, this.log);
        host.onAdvance = (t) => this.onAdvance?.(name, t);
        await host.catchUp();
        return host;
      })();
      this.hosts.set(name, h);
      h.catch(() => {
        if (this.hosts.get(name) === h) this.hosts.delete(name);
      });
    }
    const host = await h;
    return host;
  }

  /** Forgets a loaded database whose catalog entry is gone (deleted through another node). */
  async revalidate(name: string): Promise<void> {
    const h = this.hosts.get(name);
    if (!h) return;
    const rec = await this.catalog.getDatabase(name);
    const host = await h.catch(() => undefined);
    if (!rec || (host && host.dbId !== rec.id)) this.hosts.delete(name);
  }

  /** Catches every loaded database up with its log (polling backs up lost notifications). */
  async pollAll(): Promise<void> {
    await Promise.all(
      [...this.hosts.values()].map(async (h) => {
        try {
          await (await h).catchUp();
        } catch {
          // Reported by the next request that needs this database.
        }
      }),
    );
  }
}
