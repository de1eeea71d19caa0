/** Kubernetes name and label rules (apimachinery's validation), in one place. */

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Most object names (a DNS-1123 subdomain). */
export const isDnsSubdomain = (v: string): boolean => v.length <= 253 && SUBDOMAIN.test(v);

/** Namespaces (a DNS-1123 label). */
export const isDnsLabel = (v: string): boolean => v.length <= 63 && LABEL.test(v);

/** A label key: an optional DNS-subdomain prefix and "/", then a name of up to 63 characters. */
export function isLabelKey(v: string): boolean {
  const slash = v.lastIndexOf('/');
  const [prefix, name] = slash < 0 ? [undefined, v] : [v.slice(0, slash), v.slice(slash + 1)];
  return (prefix === undefined || isDnsSubdomain(prefix)) && name.length <= 63 && LABEL_NAME.test(name);
}

/** A label value: empty, or up to 63 characters. */
export const isLabelValue = (v: string): boolean => v.length <= 63 && LABEL_VALUE.test(v);
