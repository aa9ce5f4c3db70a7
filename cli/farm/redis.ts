/**
 * Redis connections for `nca farm`. The short-lived commands (submit, status, results)
 * connect once and give up at once: Redis unreachable is exit 69 with the URL. The worker's
 * connections retry for ever, so a worker keeps training through a Redis restart.
 */
import { Redis } from 'ioredis';
import { CliError, EXIT } from '../exit-codes.ts';

/** The BullMQ queue name unless --queue says otherwise. */
export const DEFAULT_QUEUE = 'nca-farm';

/** Where a finished job's .nca is stored (binary), beside BullMQ's own keys. */
export function modelKey(queue: string, jobId: string): string {
  return `nca-farm:${queue}:model:${jobId}`;
}

/** The URL as shown to people: a password is replaced by ***. */
export function displayUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

export function checkUrl(url: string | undefined): string {
  if (!url) throw new CliError('give --redis URL, e.g. --redis redis://127.0.0.1:6379 (see --help)', EXIT.usage);
  if (!/^rediss?:\/\/./.test(url)) throw new CliError(`--redis must be a redis:// or rediss:// URL, not "${url}" (see --help)`, EXIT.usage);
  return url;
}

export function unreachable(url: string, error: unknown): CliError {
  const reason = (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message ?? String(error);
  return new CliError(`Redis is unreachable at ${displayUrl(url)} (${reason})`, EXIT.unavailable);
}

/** True for errors that mean "no connection to Redis" rather than a refused command. */
export function isConnectionError(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException & { name?: string };
  if (!e) return false;
  if (e.code && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|ENETUNREACH)$/.test(e.code)) return true;
  return e.name === 'MaxRetriesPerRequestError' || /Connection is closed|connect ETIMEDOUT|Stream isn't writeable|enableOfflineQueue/i.test(e.message ?? '');
}

/** A connection for a short command: connects now or throws exit 69; no retries later. */
export async function connectOnce(url: string): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let cause: unknown;
  client.on('error', (error) => (cause ??= error)); // the socket's error says more than "Connection is closed"
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw unreachable(url, cause ?? error);
  }
  return client;
}

/**
 * A connection for the worker: commands wait while Redis is away (no offline-queue
 * limit, as BullMQ requires) and it reconnects every second or so, for ever.
 */
export function connectForever(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(250 * times, 2000),
  });
}

/** Runs a short command's body, turning a lost connection into exit 69 with the URL. */
export async function withRedis<T>(url: string, body: (client: Redis) => Promise<T>): Promise<T> {
  const client = await connectOnce(url);
  try {
    return await body(client);
  } catch (error) {
    if (isConnectionError(error)) throw unreachable(url, error);
    throw error;
  } finally {
    client.disconnect();
  }
}
