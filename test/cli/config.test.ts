import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlagsWithConfig } from '../../cli/config.ts';
import { CliError } from '../../cli/exit-codes.ts';

const dir = mkdtempSync(join(tmpdir(), 'nca-config-'));
const options = { size: { type: 'string' }, loop: { type: 'boolean' }, prompt: { type: 'string', multiple: true } } as const;

function configFile(content: unknown): string {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

test('a config file supplies flags and positionals; the command line wins', async () => {
  const path = configFile({ args: ['model.nca'], size: '256x144', loop: true, prompt: ['a', 'b'] });
  const a = await parseFlagsWithConfig(['--config', path], options);
  assert.deepEqual(a.positionals, ['model.nca']);
  assert.deepEqual(a.values, { size: '256x144', loop: true, prompt: ['a', 'b'] });
  const b = await parseFlagsWithConfig(['other.nca', '--config', path, '--size', '64x64'], options);
  assert.deepEqual(b.positionals, ['other.nca']);
  assert.equal(b.values.size, '64x64');
  assert.equal(b.values.loop, true);
  const numbers = await parseFlagsWithConfig(['--config', configFile({ size: 12 })], options);
  assert.equal(numbers.values.size, '12', 'numbers become the strings a flag would give');
});

test('bad config files are input errors (65), missing ones 66', async () => {
  const cases: [string, RegExp, number][] = [
    [configFile({ sise: '1x1' }), /unknown option "sise"/, 65],
    [configFile({ loop: 'yes' }), /"loop" must be true or false/, 65],
    [configFile({ size: { w: 1 } }), /"size" must be a string or a number/, 65],
    [configFile({ args: 'model.nca' }), /"args" must be a list of strings/, 65],
    [configFile('[1, 2]'), /expected a JSON object/, 65],
    [configFile('{"size": '), /not valid JSON/, 65],
    [join(dir, 'missing.json'), /no such file/, 66],
  ];
  for (const [path, message, exitCode] of cases) {
    await assert.rejects(parseFlagsWithConfig(['--config', path], options), (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.match(error.message, message);
      assert.equal(error.exitCode, exitCode);
      return true;
    });
  }
});
