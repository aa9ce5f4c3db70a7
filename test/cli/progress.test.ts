import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, Progress } from '../../cli/progress.ts';

/** A stand-in for process.stderr that records what is written. */
function stream(isTTY: boolean, columns = 60) {
  const writes: string[] = [];
  return { writes, isTTY, columns, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WriteStream & { writes: string[] };
}

test('formatDuration', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(75), '1:15');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(Infinity), '--:--');
});

test('progress line shows the bar, counts, rate and an ETA, then the total time', async () => {
  const out = stream(true);
  const p = new Progress({ label: 'rendering', total: 10, unit: 'frames', stream: out });
  await new Promise((r) => setTimeout(r, 120));
  p.tick(5);
  assert.match(p.line(), /^rendering \[#+\.+\] 5\/10 frames {2}\d+(\.\d)? frames\/s {2}ETA \d+:\d\d$/);
  p.tick(5);
  p.finish();
  assert.match(out.writes.at(-1)!, /^\r.*10\/10 frames.* in \d+:\d\d\x1b\[K\n$/);
  assert.ok(out.writes.every((w) => w.replace(/\x1b\[K|\r|\n/g, '').length < 60), 'fits the terminal width');
});

test('a resumed job shows what was done before, but its rate and ETA count only the work since', async () => {
  const p = new Progress({ label: 'training', total: 1000, unit: 'it', stream: stream(true), start: 900 });
  await new Promise((r) => setTimeout(r, 200));
  p.tick(10);
  const [, done, rate, minutes, seconds] = /(\d+)\/1000 it {2}([\d.]+) it\/s {2}ETA (\d+):(\d\d)/.exec(p.line(120))!;
  assert.equal(done, '910');
  // 10 items in >= 0.2 s: at most 50/s (counting the 900 would give >= 4500/s), so the 90 left take >= 1.8 s
  assert.ok(Number(rate) <= 50, `rate ${rate}`);
  assert.ok(Number(minutes) * 60 + Number(seconds) >= 2, `ETA ${minutes}:${seconds}`);
});

test('progress in a log prints plain lines; disabled prints nothing', () => {
  const log = stream(false);
  const p = new Progress({ label: 'x', total: 3, stream: log });
  p.tick(3);
  p.finish();
  assert.equal(log.writes.length, 1);
  p.finish();
  assert.equal(log.writes.length, 1, 'the final line is not repeated');
  assert.ok(!log.writes[0].includes('\r') && log.writes[0].endsWith('\n'));
  const quiet = stream(true);
  const q = new Progress({ label: 'x', total: 3, stream: quiet, enabled: false });
  q.tick(3);
  q.finish();
  assert.equal(quiet.writes.length, 0);
});
