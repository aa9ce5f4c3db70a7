/**
 * Where a CLIP model's files come from: the Hub cache (downloaded on first use)
 * or a local directory given with --clip-path.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureHubFiles, HubError, type HubOptions } from '../weights/hub.ts';

export const DEFAULT_CLIP_REPO = 'openai/clip-vit-base-patch32';

/** What a CLIP directory must hold, whether downloaded or given with --clip-path. */
export const CLIP_FILES = ['config.json', 'tokenizer.json', 'model.safetensors'] as const;

/** Returns a directory holding CLIP_FILES for the repository, downloading what the cache lacks. */
export function ensureClipFiles(options: HubOptions & { repo?: string; revision?: string } = {}): Promise<string> {
  const request = {
    repo: options.repo ?? DEFAULT_CLIP_REPO,
    revision: options.revision,
    files: CLIP_FILES,
    what: 'CLIP weights',
    alternatives: [
      `pass --clip-path DIR, a directory holding ${CLIP_FILES.join(', ')};`,
      'train against an image without CLIP: nca train --target image.png, or a texture: nca train --texture image.png',
    ],
  };
  return ensureHubFiles(request, options);
}

/** Checks a --clip-path directory up front, naming every missing file. */
export function checkClipDir(dir: string): string {
  const missing = CLIP_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) throw new HubError(`${dir} lacks ${missing.join(', ')} (a CLIP directory holds ${CLIP_FILES.join(', ')})`);
  return dir;
}
