/**
 * Types for using `<nca-player>` from a framework's templates (React, Preact, Vue, Svelte,
 * Solid...): its attributes with the values each accepts, and its events. Type-only: it
 * ships in `nca-studio/player`'s declarations (README "React, Vue, Svelte"), no JavaScript.
 */
import type { Grid, Metadata } from '../formats/index.ts';
import type { AttributeValues } from './attributes.ts';
import type { BackendKind } from './backend.ts';
import type { NcaPlayer } from './element.ts';
import type { PlayerErrorCode } from './errors.ts';

/** A property's type as a template may write it: booleans stay booleans, numbers may be numeric strings. */
type AttributeInput<T> = T extends boolean ? boolean : T extends number | null ? number | `${number}` : T;

/** `<nca-player>`'s attributes as a template passes them, each optional (docs/player.md). */
export type NcaPlayerAttributes = { [K in keyof AttributeValues]?: AttributeInput<AttributeValues[K]> };

/** `<nca-player>`'s events and their `detail` (docs/player.md, "Events"). */
export interface NcaPlayerEventMap {
  load: CustomEvent<{ backend: BackendKind; grid: Grid; metadata: Metadata }>;
  error: CustomEvent<{ code: PlayerErrorCode; message: string }>;
  frame: CustomEvent<{ step: number }>;
}

type Listener<E> = ((this: NcaPlayer, event: E) => unknown) | { handleEvent(event: E): unknown };

// The element's addEventListener knows these events' `detail` (declaration merging with the class).
declare module './element.ts' {
  interface NcaPlayer {
    addEventListener<K extends keyof NcaPlayerEventMap>(type: K, listener: Listener<NcaPlayerEventMap[K]>, options?: boolean | AddEventListenerOptions): void;
    addEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: Listener<HTMLElementEventMap[K]>, options?: boolean | AddEventListenerOptions): void;
    addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
    removeEventListener<K extends keyof NcaPlayerEventMap>(type: K, listener: Listener<NcaPlayerEventMap[K]>, options?: boolean | EventListenerOptions): void;
    removeEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: Listener<HTMLElementEventMap[K]>, options?: boolean | EventListenerOptions): void;
    removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  }
}
