import type { NormalizedEvent } from '@siem/core';
import { ip, nameStr, parseTime, port } from '../fields.js';
import { panosThreatSeverity, SEVERITY } from '../severity.js';

/**
 * Palo Alto Networks PAN-OS syslog in the default CSV format. Field order from the PAN-OS 9.1
 * "Syslog Field Descriptions" (Traffic Log Fields, Threat Log Fields); the names are PAN-OS's own
 * field names (`src`, `dport`, `threatid`…). Later releases only append fields, so older and newer
 * lines map the same way; extra trailing fields are kept by position.
 */

const COMMON_HEAD = [
  'future_use_1',
  'receive_time',
  'serial',
  'type',
  'subtype',
  'future_use_2',
  'time_generated',
  'src',
  'dst',
  'natsrc',
  'natdst',
  'rule',
  'srcuser',
  'dstuser',
  'app',
  'vsys',
  'from',
  'to',
  'inbound_if',
  'outbound_if',
  'logset',
  'future_use_3',
  'sessionid',
  'repeatcnt',
  'sport',
  'dport',
  'natsport',
  'natdport',
  'flags',
  'proto',
  'action',
];

export const PANOS_TRAFFIC_FIELDS: readonly string[] = [
  ...COMMON_HEAD,
  'bytes',
  'bytes_sent',
  'bytes_received',
  'packets',
  'start',
  'elapsed',
  'category',
  'future_use_4',
  'seqno',
  'actionflags',
  'srcloc',
  'dstloc',
  'future_use_5',
  'pkts_sent',
  'pkts_received',
  'session_end_reason',
  'dg_hier_level_1',
  'dg_hier_level_2',
  'dg_hier_level_3',
  'dg_hier_level_4',
  'vsys_name',
  'device_name',
  'action_source',
  'src_uuid',
  'dst_uuid',
  'tunnelid_imsi',
  'monitortag_imei',
  'parent_session_id',
  'parent_start_time',
  'tunnel',
  'assoc_id',
  'chunks',
  'chunks_sent',
  'chunks_received',
  'rule_uuid',
  'http2_connection',
  'link_change_count',
  'policy_id',
  'link_switches',
  'sdwan_cluster',
  'sdwan_device_type',
  'sdwan_cluster_type',
  'sdwan_site',
  'dynusergroup_name',
];

export const PANOS_THREAT_FIELDS: readonly string[] = [
  ...COMMON_HEAD,
  'misc',
  'threatid',
  'category',
  'severity',
  'direction',
  'seqno',
  'actionflags',
  'srcloc',
  'dstloc',
  'future_use_4',
  'contenttype',
  'pcap_id',
  'filedigest',
  'cloud',
  'url_idx',
  'user_agent',
  'filetype',
  'xff',
  'referer',
  'sender',
  'subject',
  'recipient',
  'reportid',
  'dg_hier_level_1',
  'dg_hier_level_2',
  'dg_hier_level_3',
  'dg_hier_level_4',
  'vsys_name',
  'device_name',
  'future_use_5',
  'src_uuid',
  'dst_uuid',
  'http_method',
  'tunnel_id_imsi',
  'monitortag_imei',
  'parent_session_id',
  'parent_start_time',
  'tunnel',
  'thr_category',
  'contentver',
  'future_use_6',
  'assoc_id',
  'ppid',
  'http_headers',
  'url_category_list',
  'rule_uuid',
  'http2_connection',
  'dynusergroup_name',
];

const TYPES = new Set([
  'TRAFFIC',
  'THREAT',
  'SYSTEM',
  'CONFIG',
  'HIPMATCH',
  'GLOBALPROTECT',
  'USERID',
  'AUTH',
  'DECRYPTION',
]);

/** Splits one CSV line; PAN-OS quotes fields that hold commas and doubles embedded quotes. */
export function splitCsv(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i <= n) {
    if (i < n && line.charCodeAt(i) === 34 /* " */) {
      let value = '';
      i++;
      let start = i;
      while (i < n) {
        if (line.charCodeAt(i) === 34) {
          if (i + 1 < n && line.charCodeAt(i + 1) === 34) {
            value += line.slice(start, i + 1);
            i += 2;
            start = i;
            continue;
          }
          break;
        }
        i++;
      }
      value += line.slice(start, i);
      i++; // closing quote
      while (i < n && line.charCodeAt(i) !== 44) i++; // anything up to the comma belongs to the field
      out.push(value);
      i++;
    } else {
      const comma = line.indexOf(',', i);
      const end = comma === -1 ? n : comma;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

/** The PAN-OS log type when `msg` is a PAN-OS CSV line, else null (cheap checks first). */
export function panosType(msg: string): string | null {
  const c1 = msg.indexOf(',');
  if (c1 < 0 || c1 > 40) return null;
  const c2 = msg.indexOf(',', c1 + 1);
  const c3 = msg.indexOf(',', c2 + 1);
  const c4 = msg.indexOf(',', c3 + 1);
  if (c2 < 0 || c3 < 0 || c4 < 0) return null;
  const type = msg.slice(c3 + 1, c4);
  if (!TYPES.has(type)) return null;
  // receive_time looks like 2018/09/05 12:45:15 (some exports put '*' between date and time)
  const recv = msg.slice(c1 + 1, c2);
  return /^\d{4}\/\d{2}\/\d{2}[ *T]\d{2}:\d{2}:\d{2}$/.test(recv) ? type : null;
}

const OCSF_NETWORK = 4001;
const OCSF_DETECTION = 2004;

function outcomeOf(action: string | null): 'success' | 'failure' | 'unknown' {
  if (action === null) return 'unknown';
  if (action === 'allow' || action === 'alert') return 'success';
  if (
    action.startsWith('deny') ||
    action.startsWith('drop') ||
    action.startsWith('reset') ||
    action.startsWith('block')
  )
    return 'failure';
  return 'unknown';
}

export function mapPanos(ev: NormalizedEvent, msg: string, type: string, headerHasTime: boolean): void {
  const values = splitCsv(msg);
  const names =
    type === 'TRAFFIC'
      ? PANOS_TRAFFIC_FIELDS
      : type === 'THREAT'
        ? PANOS_THREAT_FIELDS
        : COMMON_HEAD.slice(0, 7);
  const f: Record<string, string> = {};
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v.length === 0) continue;
    const name = names[i] ?? `field_${i + 1}`;
    if (name.startsWith('future_use')) continue;
    f[name] = v;
  }
  if (!headerHasTime) {
    const t = parseTime(f.time_generated);
    if (t !== null) {
      ev.time = t.iso;
      if (t.assumedUtc) ev.attrs.time_zone_assumed = 'UTC';
    }
  }
  if (ev.hostName === null && f.device_name !== undefined) ev.hostName = f.device_name;
  if (ev.appName === null) ev.appName = 'PAN-OS';
  ev.attrs.vendor = 'Palo Alto Networks';
  ev.attrs.panos = f;
  if (type !== 'TRAFFIC' && type !== 'THREAT') {
    ev.eventCode = f.subtype === undefined ? type : `${type}:${f.subtype}`;
    return;
  }
  ev.srcIp = ip(f.src);
  ev.dstIp = ip(f.dst);
  ev.srcPort = port(f.sport);
  ev.dstPort = port(f.dport);
  ev.userName = nameStr(f.srcuser);
  const action = f.action ?? null;
  ev.action = action;
  ev.outcome = outcomeOf(action);
  ev.category = 'network';
  const flow = `${f.src ?? '?'}:${f.sport ?? '?'} -> ${f.dst ?? '?'}:${f.dport ?? '?'}`;
  if (type === 'TRAFFIC') {
    ev.classUid = OCSF_NETWORK;
    ev.eventCode = `TRAFFIC:${f.subtype ?? ''}`;
    ev.severity = ev.outcome === 'failure' ? SEVERITY.notice : SEVERITY.info;
    ev.message = `${f.proto ?? ''} ${flow} ${action ?? ''} app=${f.app ?? '?'} rule=${f.rule ?? '?'}`.trim();
  } else {
    ev.classUid = OCSF_DETECTION;
    const threat = f.threatid ?? '';
    const idMatch = /\((\d+)\)\s*$/.exec(threat);
    ev.eventCode = idMatch !== null ? idMatch[1]! : `THREAT:${f.subtype ?? ''}`;
    ev.severity = panosThreatSeverity(f.severity ?? null) ?? ev.severity;
    const name = idMatch !== null ? threat.slice(0, idMatch.index).trim() : threat;
    ev.message = `${name || f.subtype || 'threat'} ${flow} ${action ?? ''}`.trim();
  }
}
