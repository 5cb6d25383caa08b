import { describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it('masks secret keys at any depth and URL passwords, and keeps the rest', () => {
    const config = {
      storage: { database_url: 'postgres://siem:s3cr3t@db.example:5432/siem', schema: 'siem' },
      api: {
        keys: [{ id: 'ops', hash: 'scrypt$abc', scopes: ['admin'] }],
        tls: { key_pem: '-----BEGIN', cert_file: '/etc/cert.pem' },
      },
      kafka: { sasl: { username: 'gw', password: 'pw' }, brokers: ['k:9092'] },
      adapters: { t: { token: null, port: 5514 } },
    };
    const out = redactSecrets(config);
    expect(out.storage.database_url).toBe(`postgres://siem:${REDACTED}@db.example:5432/siem`);
    expect(out.storage.schema).toBe('siem');
    expect(out.api.keys[0]).toEqual({ id: 'ops', hash: REDACTED, scopes: ['admin'] });
    expect(out.api.tls).toEqual({ key_pem: REDACTED, cert_file: '/etc/cert.pem' });
    expect(out.kafka).toEqual({ sasl: { username: 'gw', password: REDACTED }, brokers: ['k:9092'] });
    // an unset secret stays unset: the operator sees that none is configured
    expect(out.adapters.t).toEqual({ token: null, port: 5514 });
    expect(JSON.stringify(out)).not.toMatch(/s3cr3t|scrypt\$abc|BEGIN|"pw"/);
    // the input is not changed
    expect(config.kafka.sasl.password).toBe('pw');
  });

  it('leaves URLs without a password, and strings that are not URLs, as they are', () => {
    expect(redactSecrets({ u: 'http://host:8080/x', s: 'a@b', n: 3 })).toEqual({
      u: 'http://host:8080/x',
      s: 'a@b',
      n: 3,
    });
  });
});
