export * from './cluster/index.js';
export * from './oci/index.js';
export * from './paths.js';
export * from './strimzi/index.js';
