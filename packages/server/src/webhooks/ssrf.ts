import { lookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses a webhook may not reach unless private targets are allowed: a registry that calls
 * any URL an admin types would otherwise be a way into the network it runs in (cloud metadata
 * at 169.254.169.254, databases on 10/8, the server's own loopback).
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

export const ALLOW_PRIVATE_HINT = 'set BERTH_WEBHOOK_ALLOW_PRIVATE=1 or webhooks.allow_private: true in berth.yaml to allow private targets';

/** Why an address may not be called, or undefined when it may. */
export function refusedAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  let a = address;
  // An IPv4-mapped IPv6 address reaches the IPv4 host it embeds.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) a = mapped[1] as string;
  const v = isIP(a) === 4 ? 'ipv4' : 'ipv6';
  return blocked.check(a, v) ? `${address} is a loopback, private, link-local or otherwise non-public address` : undefined;
}

/**
 * A `lookup` for http.request that resolves every address of the host and refuses the
 * connection when any is non-public: checked at connect time on the addresses actually used,
 * so a DNS answer that changes between a check and the connect cannot slip through.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as unknown as { address: string; family: number }[];
      if (!allowPrivate) {
        for (const a of list) {
          const why = refusedAddress(a.address);
          if (why) return callback(new SsrfError(`refused ${hostname}: ${why}; ${ALLOW_PRIVATE_HINT}`), '', 0);
        }
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/** A target refused by the guard: the delivery fails at once, it is not retried. */
export class SsrfError extends Error {
  override readonly name = 'SsrfError';
}
