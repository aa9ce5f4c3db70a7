/**
 * The element's attributes. Each reflects to a property of the same name: reading parses
 * the attribute (falling back to the default on a missing or bad value), writing sets it.
 */
type Parse<T> = (value: string | null) => T;

const text = (fallback: string): Parse<string> => (value) => value ?? fallback;

const number =
  <F extends number | null>(fallback: F, valid: (n: number) => boolean, round = false): Parse<number | F> =>
  (value) => {
    const n = value === null || value.trim() === '' ? NaN : Number(value);
    return Number.isFinite(n) && valid(n) ? (round ? Math.round(n) : n) : fallback;
  };

const choice =
  <T extends string>(options: readonly T[]): Parse<T> =>
  (value) =>
    options.includes(value as T) ? (value as T) : options[0];

const flag: Parse<boolean> = (value) => value !== null;

const positive = (n: number) => n > 0;

export const ATTRIBUTES = {
  src: text(''),
  poster: text(''),
  /** Grid size in cells; null fills the box at `scale`. */
  width: number(null, positive, true),
  height: number(null, positive, true),
  fit: choice(['cover', 'contain'] as const),
  /** Cells per CSS pixel when the grid fills the box. */
  scale: number(1, positive),
  /** Steps per second. */
  speed: number(60, (n) => n >= 0),
  paused: flag,
  seed: number(0, Number.isInteger),
  interactive: flag,
  /** Eraser radius in cells. */
  brush: number(8, positive),
  backend: choice(['auto', 'webgl2', 'webgpu'] as const),
  /** `auto`: cell size and steps per frame keep the GPU time per frame within `budget`; `fixed`: exactly `scale` and `speed`. */
  quality: choice(['auto', 'fixed'] as const),
  /** Auto quality's GPU milliseconds per frame. */
  budget: number(8, positive),
};

export type AttributeName = keyof typeof ATTRIBUTES;
export type AttributeValues = { [K in AttributeName]: ReturnType<(typeof ATTRIBUTES)[K]> };

/** Defines the reflecting accessors on the element's prototype. */
export function reflectAttributes(proto: HTMLElement): void {
  for (const [name, parse] of Object.entries(ATTRIBUTES) as [AttributeName, Parse<unknown>][]) {
    Object.defineProperty(proto, name, {
      configurable: true,
      get(this: HTMLElement) {
        return parse(this.getAttribute(name));
      },
      set(this: HTMLElement, value: unknown) {
        if (parse === flag) this.toggleAttribute(name, Boolean(value));
        else if (value === null || value === undefined) this.removeAttribute(name);
        else this.setAttribute(name, String(value));
      },
    });
  }
}
