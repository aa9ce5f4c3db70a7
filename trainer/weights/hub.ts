/**
 * Fetches a model repository's files (CLIP, VGG) from the Hugging Face Hub into a cache laid
 * out like the Hub's own (`models--org--name/{blobs,snapshots,refs}`), so that a
 * cache filled by `huggingface-cli download` is used as is, and ours by Python.
 *
 * - `HF_ENDPOINT` selects the server, `HF_HUB_CACHE` / `HF_HOME` the cache,
 *   `HF_TOKEN` authenticates, `HF_HUB_OFFLINE=1` forbids the network.
 * - A download goes to `blobs/<etag>.incomplete` and is resumed with an HTTP
 *   Range request, both after a dropped connection and in a later run.
 * - Every file is checked against the checksum the Hub sends: the sha256 of LFS
 *   files (X-Linked-Etag) or the git blob sha1 of small files (ETag).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, copyFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { byteProgress } from './progress.ts';

/** Commits pinned for the repositories the docs recommend; any other repository resolves `main` unless a revision is given. */
export const PINNED_REVISIONS: Record<string, string> = {
  'openai/clip-vit-base-patch32': '3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268',
  'openai/clip-vit-base-patch16': '57c216476eefef5ab752ec549e440a49ae4ae5f3',
};

/** What a caller fetches, and what to tell a user who has no network. */
export interface HubRequest {
  repo: string;
  revision?: string;
  files: readonly string[];
  /** Names the weights in messages: "CLIP weights". */
  what: string;
  /** Other ways to go on without a download, one line each (flags of the calling command). */
  alternatives: string[];
}

export interface HubOptions {
  endpoint?: string;
  cacheDir?: string;
  token?: string;
  offline?: boolean;
  /** Attempts per file before giving up (the partial file is kept for the next run). */
  attempts?: number;
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
  log?: (line: string) => void;
}

/** The network is needed and not there. `exitCode` is the CLI's "offline" code. */
export class HubOfflineError extends Error {
  readonly exitCode = 2;
}

export class HubError extends Error {}

export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface', 'hub');
}

interface Context extends HubRequest {
  revision: string;
  endpoint: string;
  folder: string;
  headers: Record<string, string>;
  attempts: number;
  progress?: HubOptions['progress'];
  log: (line: string) => void;
}

/** Returns a snapshot directory holding the request's files, downloading what the cache lacks. */
export async function ensureHubFiles(request: HubRequest, options: HubOptions = {}): Promise<string> {
  const { repo, files } = request;
  if (!/^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(repo) || repo.includes('..')) throw new HubError(`"${repo}" is not a Hub repository name (like organisation/name)`);
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const token = options.token ?? process.env.HF_TOKEN;
  const ctx: Context = {
    ...request,
    revision: request.revision ?? PINNED_REVISIONS[repo] ?? 'main',
    endpoint: (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, ''),
    folder: join(cacheDir, `models--${repo.replaceAll('/', '--')}`),
    headers: token ? { authorization: `Bearer ${token}` } : {},
    attempts: options.attempts ?? 3,
    progress: options.progress,
    log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
  const cached = cachedSnapshot(ctx.folder, ctx.revision);
  if (cached && files.every((f) => existsSync(join(cached, f)))) return cached;
  if (options.offline ?? isTruthy(process.env.HF_HUB_OFFLINE)) throw offlineError(ctx, cacheDir, 'HF_HUB_OFFLINE is set');

  let commit: string | null = null;
  for (const file of files) {
    // Once the first file names the commit, fetch the rest from that commit, so a branch moving mid-way cannot mix versions.
    const meta = await fetchMetadata(ctx, commit ?? ctx.revision, file, cacheDir);
    commit ??= meta.commit ?? (isCommit(ctx.revision) ? ctx.revision : null);
    if (!commit) throw new HubError(`${ctx.endpoint} did not say which commit ${ctx.revision} of ${repo} is (no X-Repo-Commit header)`);
    const snapshotFile = join(ctx.folder, 'snapshots', commit, file);
    if (existsSync(snapshotFile)) continue;
    const blob = join(ctx.folder, 'blobs', meta.etag);
    if (!existsSync(blob)) await downloadBlob(ctx, meta, file, blob);
    linkInto(blob, snapshotFile);
  }
  if (!isCommit(ctx.revision)) {
    mkdirSync(join(ctx.folder, 'refs'), { recursive: true });
    writeFileSync(join(ctx.folder, 'refs', ctx.revision), commit!);
  }
  return join(ctx.folder, 'snapshots', commit!);
}

function cachedSnapshot(folder: string, revision: string): string | null {
  if (isCommit(revision)) return join(folder, 'snapshots', revision);
  const ref = join(folder, 'refs', revision);
  return existsSync(ref) ? join(folder, 'snapshots', readFileSync(ref, 'utf8').trim()) : null;
}

interface Metadata {
  url: string;
  etag: string;
  commit: string | null;
  size: number | null;
}

/** A HEAD request without following the CDN redirect, whose headers carry the LFS checksum and size. */
async function fetchMetadata(ctx: Context, revision: string, file: string, cacheDir: string): Promise<Metadata> {
  let url = `${ctx.endpoint}/${ctx.repo}/resolve/${encodeURIComponent(revision)}/${file}`;
  for (let hops = 0; hops < 5; hops++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'HEAD',
        redirect: 'manual',
        headers: { ...ctx.headers, 'accept-encoding': 'identity' },
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw offlineError(ctx, cacheDir, describeFetchError(err));
    }
    const h = res.headers;
    const etag = clean(h.get('x-linked-etag') ?? h.get('etag'));
    if (res.status >= 300 && res.status < 400 && !etag) {
      // A renamed repository: follow the redirect to the new name.
      url = new URL(h.get('location') ?? '', url).toString();
      continue;
    }
    if (res.status === 401 || res.status === 403) throw new HubError(`${url}: access denied (${res.status}); gated or private repositories need HF_TOKEN`);
    if (res.status === 404) throw new HubError(`${url}: not found; check the repository name and revision`);
    if (res.status >= 400) throw new HubError(`${url}: HTTP ${res.status}`);
    if (!etag) throw new HubError(`${url}: the server sent no ETag, so the file cannot be verified`);
    const size = h.get('x-linked-size') ?? h.get('content-length');
    return { url, etag, commit: h.get('x-repo-commit'), size: size === null ? null : Number(size) };
  }
  throw new HubError(`${url}: too many redirects`);
}

async function downloadBlob(ctx: Context, meta: Metadata, file: string, blob: string): Promise<void> {
  const partial = `${blob}.incomplete`;
  mkdirSync(dirname(blob), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    let have = existsSync(partial) ? statSync(partial).size : 0;
    if (meta.size !== null && have > meta.size) {
      truncateSync(partial, 0);
      have = 0;
    }
    if (meta.size === null || have < meta.size) {
      try {
        await fetchInto(ctx, meta, file, partial, have);
      } catch (err) {
        if (err instanceof HubError) throw err;
        const got = existsSync(partial) ? statSync(partial).size : 0;
        const where = `${file}: connection lost at ${got}${meta.size === null ? '' : ` of ${meta.size}`} bytes (${describeFetchError(err)})`;
        if (attempt >= ctx.attempts) throw new HubError(`${where}; run the command again to resume the download`);
        ctx.log(`${where}; resuming (attempt ${attempt + 1} of ${ctx.attempts})`);
        continue;
      }
    }
    await verify(meta, file, partial);
    renameSync(partial, blob);
    return;
  }
}

async function fetchInto(ctx: Context, meta: Metadata, file: string, partial: string, have: number): Promise<void> {
  const res = await fetch(meta.url, { headers: { ...ctx.headers, ...(have > 0 ? { range: `bytes=${have}-` } : {}) } });
  if (res.status === 416) return; // Nothing left to fetch: the partial file is whole.
  if (!res.ok || !res.body) throw new HubError(`${meta.url}: HTTP ${res.status} while downloading`);
  // A server that ignores Range answers 200 with the whole file: start over.
  const resumeAt = res.status === 206 ? have : 0;
  const progress = byteProgress(file, meta.size, { stream: ctx.progress, start: resumeAt });
  const out = createWriteStream(partial, { flags: resumeAt > 0 ? 'a' : 'w' });
  let done = resumeAt;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      done += chunk.byteLength;
      progress.update(done);
    }
  } finally {
    await new Promise<void>((resolve) => out.end(() => resolve()));
  }
  progress.finish();
}

async function verify(meta: Metadata, file: string, path: string): Promise<void> {
  const size = statSync(path).size;
  const reject = (why: string): never => {
    unlinkSync(path);
    throw new HubError(`${file}: ${why}; the download was discarded, run the command again to fetch it anew`);
  };
  if (meta.size !== null && size !== meta.size) reject(`got ${size} bytes, the Hub announced ${meta.size}`);
  let hash;
  if (/^[0-9a-f]{64}$/.test(meta.etag)) hash = createHash('sha256');
  else if (/^[0-9a-f]{40}$/.test(meta.etag)) hash = createHash('sha1').update(`blob ${size}\0`);
  else return; // Not a checksum (a non-Hub server): the size check above is all there is.
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  if (digest !== meta.etag) reject(`checksum mismatch (got ${digest}, the Hub says ${meta.etag})`);
}

/** snapshots/<commit>/<file> → ../../blobs/<etag>, as the Hub cache does; a copy where symlinks are not allowed. */
function linkInto(blob: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  try {
    symlinkSync(relative(dirname(target), blob), target);
  } catch {
    copyFileSync(blob, target);
  }
}

function offlineError(ctx: Context, cacheDir: string, reason: string): HubOfflineError {
  return new HubOfflineError(
    [
      `cannot download ${ctx.what} ${ctx.repo}@${ctx.revision} from ${ctx.endpoint}: ${reason}.`,
      `The cache ${cacheDir} has no complete copy. Either:`,
      `  - pre-download on a machine with network access and copy the cache over (or point HF_HUB_CACHE at it):`,
      `      huggingface-cli download ${ctx.repo} ${ctx.files.join(' ')} --revision ${ctx.revision}`,
      ...ctx.alternatives.map((line) => `  - or ${line}`),
    ].join('\n'),
  );
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

function clean(etag: string | null): string {
  return (etag ?? '').replace(/^W\//, '').replace(/"/g, '');
}

function isCommit(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

function isTruthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());
}
