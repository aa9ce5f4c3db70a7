// A local HTTP server with the Hugging Face Hub's URL layout, serving real files (never the network).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const COMMIT = 'c0ffee'.padEnd(40, '0');
export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

export interface HubBehaviour {
  /** Drop the connection after this many body bytes of the LFS file, on the first GET only. */
  cutAfter?: number;
  /** Announce this sha256 for the LFS file instead of the true one. */
  lieSha256?: string;
}

/**
 * A tiny Hub serving one repository: /{repo}/resolve/{revision}/{file}. model.safetensors behaves like an
 * LFS file (302 to a CDN path, X-Linked-Etag = sha256, Range support); the JSON
 * files like git files (200, ETag = git blob sha1). Every request is recorded.
 */
export async function startLocalHub(repo: string, files: Record<string, Buffer>, behaviour: HubBehaviour = {}) {
  const requests: { method: string; url: string; range?: string }[] = [];
  let cut = behaviour.cutAfter;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method!, url: req.url!, range: req.headers.range });
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url!);
    const cdn = /^\/cdn\/(.+)$/.exec(req.url!);
    if (m && m[1] === repo && (m[2] === 'main' || m[2] === COMMIT) && files[m[3]]) {
      const body = files[m[3]];
      res.setHeader('x-repo-commit', COMMIT);
      if (m[3] === 'model.safetensors') {
        res.setHeader('x-linked-etag', `"${behaviour.lieSha256 ?? sha256(body)}"`);
        res.setHeader('x-linked-size', String(body.length));
        res.writeHead(302, { location: `/cdn/${m[3]}` }).end();
        return;
      }
      res.setHeader('etag', `"${gitSha1(body)}"`);
      res.writeHead(200, { 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (cdn && files[cdn[1]]) {
      const body = files[cdn[1]];
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const from = range ? Number(range[1]) : 0;
      res.writeHead(range ? 206 : 200, { 'content-length': body.length - from });
      if (cut !== undefined) {
        res.write(body.subarray(from, from + cut), () => res.destroy());
        cut = undefined;
        return;
      }
      res.end(body.subarray(from));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { endpoint, requests, close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

