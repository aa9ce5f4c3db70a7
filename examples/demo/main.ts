/** The demo page: a gallery of players, one full-page background player and its live controls. */
import '../../player/index.ts';
import type { NcaPlayer } from '../../player/index.ts';

const background = document.querySelector<NcaPlayer>('#background')!;
const status = document.querySelector('#status')!;
const input = (id: string) => document.querySelector<HTMLInputElement>(`#${id}`)!;

/** Range inputs drive the background player's attribute of the same name, and show their value. */
for (const name of ['speed', 'scale', 'brush']) {
  const range = input(name);
  const output = document.querySelector(`output[for=${name}]`)!;
  const apply = () => {
    background.setAttribute(name, range.value);
    output.textContent = range.value;
  };
  range.addEventListener('input', apply);
  apply();
}
input('seed').addEventListener('change', () => (background.seed = Number(input('seed').value)));
document.querySelector<HTMLSelectElement>('#backend')!.addEventListener('change', (event) => {
  background.backend = (event.target as HTMLSelectElement).value as NcaPlayer['backend'];
});
const play = document.querySelector<HTMLButtonElement>('#play')!;
play.addEventListener('click', () => (background.paused = !background.paused));
document.querySelector('#restart')!.addEventListener('click', () => background.restart());

/** Full window: the background alone (a screensaver); Esc, or a click that is not a drag, brings the panels back. */
const setBare = (bare: boolean) => document.body.classList.toggle('bare', bare);
document.querySelector('#bare')!.addEventListener('click', () => setBare(true));
addEventListener('keydown', (event) => event.key === 'Escape' && setBare(false));
background.addEventListener('dblclick', () => setBare(false));

/** Steps per second, from the frame events of the last second. */
let stepsPerSecond = 0;
let mark = { time: performance.now(), step: 0 };
background.addEventListener('frame', () => {
  const now = performance.now();
  if (now - mark.time >= 1000) {
    stepsPerSecond = ((background.stepCount - mark.step) * 1000) / (now - mark.time);
    mark = { time: now, step: background.stepCount };
  }
});
setInterval(() => {
  play.textContent = background.paused ? 'play' : 'pause';
  if (background.error) return void (status.textContent = `error: ${background.error.message}`);
  const { width, height } = background.grid;
  status.textContent = background.activeBackend
    ? `${background.activeBackend} · ${width}×${height} cells · step ${background.stepCount} · ${stepsPerSecond.toFixed(0)} steps/s`
    : 'loading…';
}, 250);
background.addEventListener('load', () => (mark = { time: performance.now(), step: 0 }));

/**
 * One small player per model, in the section of its kind; clicking one shows it in the
 * background. `#NAME` in the address picks a model, and `#NAME/bare` plays it full window.
 */
type Listing = { name: string; url: string; kind: 'texture' | 'shape' };
const models: Listing[] = await (await fetch('/models.json')).json();
const [wanted, mode] = decodeURIComponent(location.hash.slice(1)).split('/');
const figures = new Map<string, HTMLElement>();
for (const { name, url, kind } of models) {
  const figure = document.createElement('figure');
  const player = document.createElement('nca-player');
  player.src = url;
  player.width = 96;
  player.height = 96;
  player.interactive = true;
  const caption = document.createElement('figcaption');
  caption.textContent = name;
  player.addEventListener('load', (event) => {
    const title = (event as CustomEvent).detail.metadata?.title;
    if (title) caption.textContent = title;
  });
  figure.append(player, caption);
  figure.addEventListener('click', () => {
    background.src = url;
    document.querySelector('figure.active')?.classList.remove('active');
    figure.classList.add('active');
  });
  document.querySelector(kind === 'texture' ? '#textures' : '#shapes')!.append(figure);
  figures.set(name.replace(/\.nca$/, ''), figure);
}
for (const gallery of document.querySelectorAll('.gallery')) (gallery.parentElement as HTMLElement).hidden = gallery.childElementCount === 0;
// A texture fills the window best, so the page opens on the first one.
const first = models.find((m) => m.kind === 'texture') ?? models[0];
(figures.get(wanted) ?? (first && figures.get(first.name.replace(/\.nca$/, ''))))?.click();
setBare(mode === 'bare');
