/**
 * Prompt algebra: "red coral:1, deep sea:0.5" is two prompts with weights. A
 * part without ":weight" weighs 1; a negative weight makes a negative prompt
 * (the image is pushed away from it). Write "\," for a comma inside a prompt.
 */
import type { Prompt } from '../../formats/model.ts';

export class PromptError extends Error {}

export function parsePrompts(spec: string): Prompt[] {
  const parts = spec.split(/(?<!\\),/).map((p) => p.replace(/\\,/g, ',').trim());
  return parts.map((part) => {
    const m = /^(.*?):\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i.exec(part);
    const text = (m ? m[1] : part).trim();
    const weight = m ? Number(m[2]) : 1;
    if (!text) throw new PromptError(`empty prompt in "${spec}" (write prompts as "text:weight, text:weight")`);
    if (weight === 0 || !Number.isFinite(weight)) throw new PromptError(`prompt "${text}" has weight ${m?.[2]}; use a non-zero number`);
    return { text, weight };
  });
}

/** "--negative" prompts: their weights count as negative whatever their sign. */
export function parseNegativePrompts(spec: string): Prompt[] {
  return parsePrompts(spec).map((p) => ({ text: p.text, weight: -Math.abs(p.weight) }));
}

/** "path.png" or "path.png:0.5". */
export function parseImagePrompt(spec: string): { path: string; weight: number } {
  const m = /^(.*):([-+]?(?:\d+\.?\d*|\.\d+))$/.exec(spec);
  const weight = m ? Number(m[2]) : 1;
  if (weight === 0) throw new PromptError(`image prompt "${spec}" has weight 0; use a non-zero number`);
  return { path: m ? m[1] : spec, weight };
}
