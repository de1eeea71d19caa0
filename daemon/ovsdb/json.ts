// Narrowers for JSON that arrives as `unknown`.
import { isObject } from '../cni-spec/json.ts';

export type JsonObject = { readonly [key: string]: unknown };

export const isJsonObject: (value: unknown) => value is JsonObject = isObject;
