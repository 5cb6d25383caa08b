import { type ObjectOptions, type TObject, type TProperties, Type } from '@sinclair/typebox';

export { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';

/**
 * A configuration section: an object that rejects unknown keys and defaults to `{}` so that the
 * defaults of its own keys are filled in even when the user wrote nothing for it.
 */
export function Section<T extends TProperties>(properties: T, options: ObjectOptions = {}): TObject<T> {
  return Type.Object(properties, { additionalProperties: false, default: {}, ...options });
}

export const Port = (description: string, dflt: number) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: dflt, description });

export const Host = (description: string, dflt: string) =>
  Type.String({ minLength: 1, default: dflt, description });
