/**
 * Where VGG16 weights come from: the Hub cache (downloaded on first use, the
 * same downloader as CLIP's) or a local safetensors file given with --vgg-path.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureHubFiles, HubError, type HubOptions } from '../weights/hub.ts';

/** torchvision's ImageNet VGG16 weights, as timm republishes them in safetensors (528 MiB; the classifier is never read). */
export const DEFAULT_VGG_REPO = 'timm/vgg16.tv_in1k';
const VGG_FILE = 'model.safetensors';

export type VggSource = { repo: string; revision?: string } | { path: string };

/** The path of the checkpoint: a local file (or a directory holding model.safetensors), or the cached download. */
export async function vggCheckpoint(source: VggSource, options: HubOptions = {}): Promise<string> {
  if ('path' in source) {
    const file = existsSync(source.path) && statSync(source.path).isDirectory() ? join(source.path, VGG_FILE) : source.path;
    if (!existsSync(file)) throw new HubError(`${file} does not exist (--vgg-path takes a VGG16 .safetensors file, or a directory holding ${VGG_FILE})`);
    return file;
  }
  const request = {
    repo: source.repo,
    revision: source.revision,
    files: [VGG_FILE],
    what: 'VGG16 weights',
    alternatives: [
      `pass --vgg-path FILE, a VGG16 checkpoint in safetensors with torchvision's names (features.N.weight);`,
      'train with the default texture loss, which needs no weights: drop --texture-loss',
    ],
  };
  return join(await ensureHubFiles(request, options), VGG_FILE);
}
