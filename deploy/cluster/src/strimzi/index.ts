export { STRIMZI_VERSION, type StrimziCrds, strimziCrds } from './crds.js';
