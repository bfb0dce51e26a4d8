import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { promisify } from 'node:util';
import { ProblemError } from '../http/problem.js';

/**
 * Addresses a webhook may never reach (SSRF): loopback, private, shared (CGNAT), link-local (which holds the
 * cloud metadata endpoint 169.254.169.254), unique-local IPv6 (fd00:ec2::254 on AWS), multicast, reserved.
 */
const forbidden = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) forbidden.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32], ['64:ff9b::', 96]] as const) {
  forbidden.addSubnet(net, bits, 'ipv6');
}

export function isForbiddenAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return forbidden.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return forbidden.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export interface UrlPolicy {
  allowPrivate: boolean;
  httpsOnly: boolean;
}

const lookupAll = promisify(dnsLookup);
const refuse = (message: string) =>
  new ProblemError('validation-failed', { detail: `The webhook URL is not allowed: ${message}`, errors: [{ pointer: '/body/url', message }] });

/** At creation and update: the scheme, and every address the host resolves to now. */
export async function checkWebhookUrl(raw: string, policy: UrlPolicy): Promise<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && !policy.httpsOnly)) throw refuse(policy.httpsOnly ? 'must use https' : 'must use http or https');
  if (url.username || url.password) throw refuse('must not carry credentials');
  if (policy.allowPrivate) return url.href;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: LookupAddress[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : ((await lookupAll(host, { all: true })) as LookupAddress[]);
  } catch {
    throw refuse(`the host ${host} does not resolve`);
  }
  const bad = addresses.find((a) => isForbiddenAddress(a.address));
  if (bad) throw refuse(`${host} resolves to ${bad.address}, a loopback, private, link-local or metadata address`);
  return url.href;
}

export class ForbiddenAddressError extends Error {
  override name = 'ForbiddenAddressError';
}

/**
 * A `lookup` for http.request that refuses forbidden addresses: the check happens on the very address the
 * connection uses, so a DNS answer that changed since the URL was accepted (rebinding) cannot slip through.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: object, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      const bad = allowPrivate ? undefined : list.find((a) => isForbiddenAddress(a.address));
      if (bad) return callback(new ForbiddenAddressError(`${hostname} resolves to ${bad.address}, a forbidden address`), '', 0);
      if ((options as { all?: boolean }).all) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
