/**
 * The `<nca-player>` entry point: importing it defines the element (docs/player.md).
 *   <script type="module" src="dist/player/nca-player.js"></script>
 *   <nca-player src="logo.nca"></nca-player>
 */
import { NcaPlayer } from './element.ts';

export { NcaPlayer } from './element.ts';
export { NcaEngine, type EngineHooks } from './engine.ts';
export { PlayerError, type PlayerErrorCode } from './errors.ts';
export { fetchModel, decodeModel } from './load.ts';
export type { BackendKind, BackendPreference } from './backend.ts';

if (typeof customElements !== 'undefined' && !customElements.get('nca-player')) {
  customElements.define('nca-player', NcaPlayer);
}

declare global {
  interface HTMLElementTagNameMap {
    'nca-player': NcaPlayer;
  }
}
