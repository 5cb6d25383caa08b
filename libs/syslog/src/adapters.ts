import { checkAgainst, type TSchema } from '@siem/config';
import { type AdapterFactory, SiemError, type Source, type SourceContext } from '@siem/core';
import {
  type SyslogTcpOptions,
  type SyslogTlsOptions,
  type SyslogUdpOptions,
  syslogTcpOptionsSchema,
  syslogTlsOptionsSchema,
  syslogUdpOptionsSchema,
} from './options.js';
import { SyslogStreamSource } from './stream.js';
import { SyslogUdpSource } from './udp.js';

/**
 * Validates options against the adapter's schema (filling defaults, so a partial object from the
 * control API or a test is complete) and freezes nothing: the runtime owns the frozen config.
 */
function resolve<T>(type: string, schema: TSchema, options: unknown): T {
  const copy = structuredClone(options ?? {}) as object;
  const problems = checkAgainst(schema, copy);
  if (problems.length > 0) {
    throw new SiemError(
      'SIEM_ERR_CONFIG_INVALID',
      `${type} options: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      { details: problems },
    );
  }
  return copy as T;
}

export const syslogUdpAdapter: AdapterFactory<Partial<SyslogUdpOptions>> = {
  type: 'syslog_udp',
  schema: syslogUdpOptionsSchema,
  create(name: string, options: Partial<SyslogUdpOptions>, context: SourceContext): Source {
    return new SyslogUdpSource(name, resolve('syslog_udp', syslogUdpOptionsSchema, options), context);
  },
};

export const syslogTcpAdapter: AdapterFactory<Partial<SyslogTcpOptions>> = {
  type: 'syslog_tcp',
  schema: syslogTcpOptionsSchema,
  create(name: string, options: Partial<SyslogTcpOptions>, context: SourceContext): Source {
    return new SyslogStreamSource(name, resolve('syslog_tcp', syslogTcpOptionsSchema, options), context);
  },
};

export const syslogTlsAdapter: AdapterFactory<Partial<SyslogTlsOptions>> = {
  type: 'syslog_tls',
  schema: syslogTlsOptionsSchema,
  create(name: string, options: Partial<SyslogTlsOptions>, context: SourceContext): Source {
    return new SyslogStreamSource(
      name,
      resolve('syslog_tls', syslogTlsOptionsSchema, options),
      context,
      true,
    );
  },
};
