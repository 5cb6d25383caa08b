export {
  normalizeImageName,
  type OciImageConfig,
  type OciImageSpec,
  type OciImageTarball,
  type OciLayer,
  referenceTag,
  writeOciImageTarball,
} from './image-tarball.js';
export { type TarEntry, TarWriter } from './tar-writer.js';
