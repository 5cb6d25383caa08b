export { type BuildImagesOptions, type BuiltImages, buildImages, importImages } from './build.js';
export { gatewayImageRef } from './gateway-image.js';
export { kafkaImageRef } from './kafka-image.js';
export { fullImageName, GATEWAY_IMAGE, KAFKA_IMAGE, KAFKA_IMAGE_TAG } from './recipe.js';
