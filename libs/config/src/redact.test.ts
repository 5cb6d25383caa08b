import { describe, expect, it } from 'vitest';
import { REDACTED, redactedPlaceholders, redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it('masks secret keys at any depth and URL passwords, and keeps the rest', () => {
    const config = {
      storage: { database_url: 'postgres://siem:s3cr3t@db.example:5432/siem', schema: 'siem' },
      api: {
        keys: [{ id: 'ops', hash: 'scrypt$abc', scopes: ['admin'] }],
        tls: { key_pem: '-----BEGIN', cert_file: '/etc/cert.pem' },
      },
      kafka: {
        sasl: { username: 'gw', password: 'pw' },
        brokers: ['k:9092'],
        librdkafka: {
          'ssl.key.pem': 'PRIVATE',
          'ssl.key.password': 'kp',
          'sasl.oauthbearer.config': 'clientSecret=cs',
          'linger.ms': 5,
        },
      },
      cloud: { api_key: 'ak', private_key: 'pk', credentials: 'cr' },
      adapters: { t: { token: null, port: 5514 } },
    };
    const out = redactSecrets(config);
    expect(out.storage.database_url).toBe(`postgres://siem:${REDACTED}@db.example:5432/siem`);
    expect(out.storage.schema).toBe('siem');
    expect(out.api.keys[0]).toEqual({ id: 'ops', hash: REDACTED, scopes: ['admin'] });
    expect(out.api.tls).toEqual({ key_pem: REDACTED, cert_file: '/etc/cert.pem' });
    expect(out.kafka.sasl).toEqual({ username: 'gw', password: REDACTED });
    expect(out.kafka.librdkafka).toEqual({
      'ssl.key.pem': REDACTED,
      'ssl.key.password': REDACTED,
      'sasl.oauthbearer.config': REDACTED,
      'linger.ms': 5,
    });
    expect(out.cloud).toEqual({ api_key: REDACTED, private_key: REDACTED, credentials: REDACTED });
    // an unset secret stays unset: the operator sees that none is configured
    expect(out.adapters.t).toEqual({ token: null, port: 5514 });
    expect(JSON.stringify(out)).not.toMatch(/s3cr3t|scrypt\$abc|BEGIN|"pw"|PRIVATE|"kp"|cs"|"ak"|"pk"|"cr"/);
    // the input is not changed
    expect(config.kafka.sasl.password).toBe('pw');
  });

  it('masks URL secrets that URL parsing would miss: socket paths, query parameters, odd characters', () => {
    const r = (u: string) => redactSecrets({ u }).u;
    expect(r('postgres://siem:s3cr3t@/siem?host=/var/run/postgresql')).toBe(
      `postgres://siem:${REDACTED}@/siem?host=/var/run/postgresql`,
    );
    expect(r('postgres://siem@db/siem?sslmode=require&password=s3cr3t')).toBe(
      `postgres://siem@db/siem?sslmode=require&password=${REDACTED}`,
    );
    expect(r('postgres://siem:pa#ss/w@rd@db:5432/siem')).toBe(`postgres://siem:${REDACTED}@db:5432/siem`);
    expect(r('https://hooks.example/x?token=t0k&x=1#frag')).toBe(
      `https://hooks.example/x?token=${REDACTED}&x=1#frag`,
    );
  });

  it('leaves URLs without secrets, and strings that are not URLs, as they are', () => {
    expect(
      redactSecrets({
        u: 'http://host:8080/x?a=1',
        e: 'https://host:8080/x?email=a@b',
        s: 'a@b',
        n: 3,
        m: 'postgres://u@db/x',
      }),
    ).toEqual({
      u: 'http://host:8080/x?a=1',
      e: 'https://host:8080/x?email=a@b',
      s: 'a@b',
      n: 3,
      m: 'postgres://u@db/x',
    });
  });
});

describe('redactedPlaceholders', () => {
  it('finds the placeholder wherever redacted options were sent back', () => {
    expect(
      redactedPlaceholders({
        port: 1,
        tls: { key_pem: REDACTED },
        url: `postgres://u:${REDACTED}@db/x`,
        hook: `https://h/x?token=${REDACTED}`,
        list: ['a', REDACTED],
      }).map((p) => p.path),
    ).toEqual(['/tls/key_pem', '/url', '/hook', '/list/1']);
    expect(redactedPlaceholders({ port: 1, note: 'five *** stars' })).toEqual([]);
  });
});
