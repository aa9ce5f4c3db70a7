import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pixelScore, scoreRegrowAt } from '../../cli/commands/train.ts';
import { evaluateLongRun } from '../../exporter/eval/long-run.ts';
import { encodePng, type RgbaImage } from '../../trainer/image/png.ts';
import type { PixelLossSpec } from '../../trainer/pixel/pixel-loss.ts';
import type { TrainConfig } from '../../trainer/train/config.ts';
import { blobTarget, fixedPointModel, growingModel, solidRed } from '../exporter/eval-models.ts';

const spec = (target: RgbaImage): PixelLossSpec => ({ kind: 'pixel', targetPng: Buffer.from(encodePng(target)).toString('base64'), box: { x: 0, y: 0, width: target.width, height: target.height } });
const config = (width: number, height: number, regrowPhase: number, scoreSteps = [20, 60, 100]) => ({ width, height, scoreSteps, regrowPhase }) as TrainConfig;

test('the score erases half at its middle step', () => {
  assert.equal(scoreRegrowAt([500, 2000, 6000]), 2000);
  assert.equal(scoreRegrowAt([6000, 500]), 500);
  assert.equal(scoreRegrowAt([300]), 300);
});

test('with a regrowth phase, a model that holds but cannot heal scores what a visitor sees after damage', async () => {
  const target = blobTarget();
  const model = fixedPointModel(target);
  const holding = await pixelScore(spec(target), config(16, 12, 0), 1)(model, -Infinity);
  const report = await evaluateLongRun(model, { target, grid: { width: 16, height: 12 }, steps: [20, 60, 100], regrow: false });
  assert.equal(holding, report.score, 'without a phase: the lowest PSNR, float and int8');
  assert.ok(holding > 60);
  const healing = await pixelScore(spec(target), config(16, 12, 0.15), 1)(model, -Infinity);
  const erased = await evaluateLongRun(model, { target, grid: { width: 16, height: 12 }, steps: [20, 60, 100], regrow: { at: 60 } });
  const ends = erased.runs.map((run) => run.regrow!.psnrEnd + 1);
  assert.equal(healing, Math.min(...ends), 'with a phase: the PSNR 2000 steps after the erase, plus 1 dB');
  assert.ok(healing < 25, `the erased half never comes back: ${healing}`);
});

test('with a regrowth phase, a model that heals and stays keeps its holding score', async () => {
  const target = solidRed(14, 9);
  const model = growingModel();
  const holding = await pixelScore(spec(target), config(14, 9, 0, [90, 120, 150]), 1)(model, -Infinity);
  const healing = await pixelScore(spec(target), config(14, 9, 0.15, [90, 120, 150]), 1)(model, -Infinity);
  assert.ok(holding > 40, `the grower fills the grid: ${holding}`);
  assert.equal(healing, holding);
});
