/**
 * The local server behind `nca play`: one page with a full-window <nca-player>, the
 * player build under /player/, and the model at /model.nca (read from disk on every
 * request, so re-exporting and reloading the page shows the new model).
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { NCA_MIME } from '../formats/index.ts';

export interface PlayServerOptions {
  /** Folder of the player build (dist/player). */
  playerDir: string;
  /** The model's bytes, fetched per request. */
  model: () => Promise<Uint8Array>;
  title: string;
  /** CSS pixels per cell side. */
  cellSize: number;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function playPage(title: string, cellSize: number): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · nca play</title>
<style>
  html, body { margin: 0; height: 100%; background: #fff; color: #555; font: 14px system-ui, sans-serif; }
  nca-player { display: block; width: 100vw; height: 100vh; }
  p { position: fixed; left: 12px; bottom: 8px; margin: 0; opacity: 0.7; pointer-events: none; }
</style>
<script src="/player/nca-player.iife.js"></script>
</head>
<body>
<nca-player src="/model.nca" scale="${1 / cellSize}" interactive></nca-player>
<p>${escapeHtml(title)}: drag to erase, it regrows.</p>
</body>
</html>
`;
}

/** Resolves a /player/... URL path inside the player folder, or null if it would leave it. */
function playerFile(playerDir: string, urlPath: string): string | null {
  const relative = decodeURIComponent(urlPath.slice('/player/'.length));
  const full = normalize(join(playerDir, relative));
  return full.startsWith(normalize(playerDir) + sep) ? full : null;
}

export function createPlayServer(options: PlayServerOptions): Server {
  return createServer(async (request, response) => {
    const send = (status: number, type: string, body: string | Uint8Array) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    try {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
      if (path === '/' || path === '/index.html') return send(200, 'text/html; charset=utf-8', playPage(options.title, options.cellSize));
      if (path === '/model.nca') return send(200, NCA_MIME, await options.model());
      if (path === '/favicon.ico') return send(204, 'image/x-icon', '');
      const file = path.startsWith('/player/') ? playerFile(options.playerDir, path) : null;
      if (file && TYPES[extname(file)]) return send(200, TYPES[extname(file)], await readFile(file));
      send(404, 'text/plain', 'not found\n');
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      send(missing ? 404 : 500, 'text/plain', missing ? 'not found\n' : `${(error as Error).message}\n`);
    }
  });
}
