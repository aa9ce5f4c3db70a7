/** The `.nca` contract: model types, the file codec, the counter RNG and the reference core. */
export * from './model.ts';
export * from './errors.ts';
export * from './random.ts';
export { decodeNca, encodeNca, NCA_MIME, type DecodedNca, type EncodeOptions, type NcaFileInfo } from './nca-file.ts';
export { aliveCells, createState, step, standardMask, toColours, toRgba, ReferenceNca, type Grid, type UpdateMask } from './reference-core.ts';
