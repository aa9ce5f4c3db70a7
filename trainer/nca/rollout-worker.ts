/** A worker thread that holds one RolloutPart (rollout-part.ts) for batch-rollout.ts. */
import { workerData } from 'node:worker_threads';
import { serveCalls } from '../engine/module-worker.ts';
import { RolloutPart, type PartSpec } from './rollout-part.ts';

serveCalls(RolloutPart.create(workerData as PartSpec));
