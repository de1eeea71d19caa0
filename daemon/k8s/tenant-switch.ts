/**
 * The logical switches of NamespacedNetworks (namespaced.ts): `omn-tenant/<namespace>/<name>`.
 * Namespaces and NamespacedNetwork names are DNS-1123 labels (at most 63 characters, no "/"), so
 * the "/" separators make the name collision-free between namespaces, at most 138 characters
 * long, and never the name of a Network's switch: a Network is refused when its switch starts
 * with the prefix (definition.ts), and no Kubernetes object name contains "/".
 */
export const TENANT_SWITCH_PREFIX = 'omn-tenant/';

export const tenantSwitchName = (namespace: string, name: string): string => `${TENANT_SWITCH_PREFIX}${namespace}/${name}`;

export const isTenantSwitch = (switchName: string): boolean => switchName.startsWith(TENANT_SWITCH_PREFIX);
