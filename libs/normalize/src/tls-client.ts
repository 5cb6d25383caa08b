import type { NormalizedEvent, TlsIdentity } from '@siem/core';

/** SANs kept per event: a certificate may list thousands, a row keeps a bounded number (and says so). */
export const MAX_TLS_SANS = 32;

/**
 * The verified client certificate of the connection an event came on, as ECS `tls.client.*` fields
 * under `attrs.tls.client`: `x509.subject.common_name`, `x509.alternative_names`, `hash.sha256` (hex,
 * upper case, no colons, as ECS writes it). Without it nobody could tell which sender a TLS event came
 * from once stored: the peer address is a load balancer's as often as not.
 */
export function tlsClientFields(tls: TlsIdentity): Record<string, unknown> {
  const sans = tls.sans.slice(0, MAX_TLS_SANS);
  return {
    client: {
      x509: {
        subject: { common_name: tls.subjectCn },
        alternative_names: sans,
        ...(tls.sans.length > sans.length ? { alternative_names_total: tls.sans.length } : {}),
      },
      hash: { sha256: tls.fingerprint256.replaceAll(':', '').toUpperCase() },
    },
  };
}

/** Stamps every row of one raw event with its connection's client identity (one object, shared). */
export function stampTlsClient(rows: NormalizedEvent[], tls: TlsIdentity | null): void {
  if (tls === null) return;
  const fields = tlsClientFields(tls);
  for (const row of rows) row.attrs.tls = fields;
}
