/**
 * Hosts a config may send requests to: parsing a `custom_host` (or an option's URL) the way the
 * transport will, and the addresses a client-chosen host may never be (SPEC §10): link-local and
 * cloud-metadata addresses, in every spelling the WHATWG URL parser accepts for them.
 */

/** Longest `custom_host` accepted. */
export const MAX_HOST_URL_LENGTH = 2048;

/**
 * Parses an absolute `http:` or `https:` URL as the transport will (WHATWG `URL`), or returns
 * undefined: the text must start with the scheme and `//`, hold only printable ASCII without
 * backslashes (the parser would silently drop tabs and newlines and read `\` as `/`), and have
 * a host. Never throws.
 */
export function parseHttpUrl(text: string): URL | undefined {
  if (text.length > MAX_HOST_URL_LENGTH || !/^https?:\/\/[\x21-\x7e]+$/i.test(text) || text.includes('\\')) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return undefined;
  return url;
}

/**
 * Host names of cloud metadata services (GCP, AWS, Alibaba, ...), compared without a trailing
 * dot. Names that resolve to such addresses through DNS are not caught here.
 */
export const METADATA_HOST_NAMES: ReadonlySet<string> = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** IPv4 addresses, as 32-bit numbers, of cloud metadata services outside 169.254.0.0/16. */
const METADATA_IPV4 = new Set([
  0x64_64_64_c8, // 100.100.100.200, Alibaba Cloud
]);

/** fd00:ec2::254, the AWS metadata service over IPv6 (Nitro). */
const AWS_IPV6 = [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254];

/** `a.b.c.d` (the parser's canonical form of every IPv4 spelling) as a number, else undefined. */
function ipv4(host: string): number | undefined {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!parts) return undefined;
  const bytes = parts.slice(1).map(Number);
  if (bytes.some((b) => b > 255)) return undefined;
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

/** The eight 16-bit groups of an IPv6 address in the parser's form (hex groups, one `::`). */
function ipv6(host: string): number[] | undefined {
  if (!host.startsWith('[') || !host.endsWith(']')) return undefined;
  const text = host.slice(1, -1);
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined): number[] | undefined => {
    if (half === undefined || half === '') return [];
    const out = half.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN));
    return out.some(Number.isNaN) ? undefined : out;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const fill = 8 - head.length - tail.length;
  return fill < 1 ? undefined : [...head, ...new Array<number>(fill).fill(0), ...tail];
}

function blockedIpv4(address: number): boolean {
  return address >>> 16 === 0xa9fe || METADATA_IPV4.has(address); // 169.254.0.0/16
}

/**
 * True for a link-local or cloud-metadata address: 169.254.0.0/16 (169.254.169.254 included),
 * 100.100.100.200, fe80::/10, fd00:ec2::254, the IPv4 ones also inside IPv6 (`::ffff:a.b.c.d`,
 * `::a.b.c.d`, `64:ff9b::a.b.c.d`), and the metadata host names. Integer, hex and octal IPv4
 * spellings (`http://2852039166/`) are canonicalised by the URL parser first.
 */
export function isMetadataOrLinkLocal(url: URL): boolean {
  const host = url.hostname.toLowerCase().replace(/\.+$/, '');
  if (METADATA_HOST_NAMES.has(host)) return true;
  const v4 = ipv4(host);
  if (v4 !== undefined) return blockedIpv4(v4);
  const v6 = ipv6(host);
  if (v6 === undefined) return false;
  if ((v6[0]! & 0xffc0) === 0xfe80) return true;
  if (v6.every((g, i) => g === AWS_IPV6[i])) return true;
  const zeros = (from: number, to: number): boolean => v6.slice(from, to).every((g) => g === 0);
  const embedded =
    (zeros(0, 5) && (v6[5] === 0xffff || v6[5] === 0)) || (v6[0] === 0x64 && v6[1] === 0xff9b && zeros(2, 6));
  return embedded && blockedIpv4(((v6[6]! << 16) | v6[7]!) >>> 0);
}

/**
 * The origin a host-choosing provider setting points at, when it is known: Azure's
 * `resource_name` is `https://{resource_name}.openai.azure.com`. Used to honour
 * `customHostAllowlist` for such settings.
 */
export function settingOrigin(provider: string, key: string, value: unknown): string | undefined {
  if (provider === 'azure-openai' && key === 'resource_name' && typeof value === 'string') {
    return parseHttpUrl(`https://${value}.openai.azure.com`)?.origin;
  }
  return undefined;
}
