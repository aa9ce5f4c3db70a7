/**
 * `npm run demo`: serves examples/demo with Vite at http://127.0.0.1:5173/.
 * Models: examples/models/*.nca when there are any (the project's trained examples), else
 * the hand-built ones of ./models.ts, encoded on the fly. The page lists them at /models.json,
 * each with its kind: a `texture` (noise seed: fills any grid, a page background) or a `shape`
 * (grows from one cell).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { decodeNca, NCA_MIME } from '../../formats/index.ts';
import { demoModels } from './models.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const trainedDir = join(root, 'examples/models');

function findModels(): Map<string, () => Uint8Array> {
  let trained: string[] = [];
  try {
    trained = readdirSync(trainedDir).filter((name) => name.endsWith('.nca')).sort();
  } catch {
    // no trained examples yet
  }
  if (trained.length > 0) return new Map(trained.map((name) => [name, () => readFileSync(join(trainedDir, name))]));
  return new Map(demoModels().map(({ name, bytes }) => [name, () => bytes]));
}

function modelKind(bytes: Uint8Array): 'texture' | 'shape' {
  return decodeNca(bytes).model.seed.kind === 'noise' ? 'texture' : 'shape';
}

/** Starts the demo server; `port` 0 picks a free one. */
export async function startDemoServer(port: number): Promise<ViteDevServer> {
  const models = findModels();
  const modelsPlugin: Plugin = {
    name: 'nca-demo-models',
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
        if (path === '/models.json') {
          response.setHeader('content-type', 'application/json');
          const list = [...models].map(([name, bytes]) => ({ name, url: `/models/${name}`, kind: modelKind(bytes()) }));
          return void response.end(JSON.stringify(list));
        }
        const model = path.startsWith('/models/') ? models.get(path.slice('/models/'.length)) : undefined;
        if (!model) return next();
        response.setHeader('content-type', NCA_MIME);
        response.end(model());
      });
    },
  };
  const server = await createServer({
    root: join(root, 'examples/demo'),
    configFile: false,
    logLevel: 'warn',
    plugins: [modelsPlugin],
    server: { host: '127.0.0.1', port, strictPort: port !== 0, fs: { allow: [root] } },
  });
  await server.listen();
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await startDemoServer(Number(process.env.PORT ?? 5173));
  console.log(`nca-player demo with ${findModels().size} models:`);
  server.printUrls();
}
