/**
 * Weight quantisation, done by the codec itself: encoding then decoding gives exactly
 * the weights a player will run (int8 per output channel, float16, or float32).
 */
import { decodeNca, encodeNca, type NcaModel, type WeightDtype } from '../formats/index.ts';

export const WEIGHT_DTYPES: readonly WeightDtype[] = ['int8', 'float16', 'float32'];

export function quantize(model: NcaModel, dtype: WeightDtype): NcaModel {
  return decodeNca(encodeNca(model, { weightDtype: dtype })).model;
}
