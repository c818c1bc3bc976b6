/**
 * Pod IPs from a CIDR, the way CNI's host-local IPAM hands them out: the next
 * free address after the last one given, so a released address is not reused
 * at once (a client still talking to the old pod would reach the new one).
 * Pure: no I/O. The network and broadcast addresses are never handed out.
 */

/** The largest range an allocator manages; a /16 is what the loopback pod range uses, and it bounds the free-list scan. */
export const IP_RANGE_ADDRESSES_MAX = 1 << 16;

export function ipToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`${JSON.stringify(ip)} is not an IPv4 address`);
  let n = 0;
  for (const part of parts) {
    const octet = Number(part);
    if (!/^\d{1,3}$/.test(part) || octet > 255) throw new Error(`${JSON.stringify(ip)} is not an IPv4 address`);
    n = n * 256 + octet;
  }
  return n;
}

export function numberToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export interface Cidr {
  /** First address of the range (the network address). */
  base: number;
  prefixLength: number;
  size: number;
}

export function parseCidr(cidr: string): Cidr {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (match === null) throw new Error(`${JSON.stringify(cidr)} is not a CIDR like 127.10.0.0/16`);
  const prefixLength = Number(match[2]);
  if (prefixLength < 0 || prefixLength > 32) throw new Error(`prefix length of ${cidr} must be 0..32`);
  const size = 2 ** (32 - prefixLength);
  const address = ipToNumber(match[1]!);
  const base = address - (address % size);
  if (base !== address) throw new Error(`${cidr} has host bits set; did you mean ${numberToIp(base)}/${prefixLength}?`);
  return { base, prefixLength, size };
}

export class IpAllocator {
  readonly cidr: Cidr;
  private readonly taken = new Set<number>();
  /** Offset of the last address handed out. */
  private cursor = 0;
  private readonly firstOffset: number;
  private readonly lastOffset: number;

  constructor(cidr: string) {
    this.cidr = parseCidr(cidr);
    if (this.cidr.size > IP_RANGE_ADDRESSES_MAX) throw new Error(`${cidr} has ${this.cidr.size} addresses; at most ${IP_RANGE_ADDRESSES_MAX} (a /16) per allocator`);
    if (this.cidr.size < 4) throw new Error(`${cidr} is too small for pods: use a /30 or larger`);
    this.firstOffset = 1;
    this.lastOffset = this.cidr.size - 2;
  }

  get capacity(): number {
    return this.lastOffset - this.firstOffset + 1;
  }

  get used(): number {
    return this.taken.size;
  }

  /** The next free address, or undefined when the range is full. */
  allocate(): string | undefined {
    if (this.taken.size >= this.capacity) return undefined;
    let offset = this.cursor;
    for (let i = 0; i < this.capacity; i++) {
      offset = offset >= this.lastOffset ? this.firstOffset : offset + 1;
      if (!this.taken.has(offset)) {
        this.taken.add(offset);
        this.cursor = offset;
        return numberToIp(this.cidr.base + offset);
      }
    }
    throw new Error('allocator bookkeeping is broken: below capacity but no free address found');
  }

  /** Mark an address as used (an address recorded before a restart). */
  reserve(ip: string): void {
    const offset = this.offsetOf(ip);
    this.taken.add(offset);
  }

  release(ip: string): void {
    const offset = this.offsetOf(ip);
    if (!this.taken.delete(offset)) throw new Error(`${ip} was not allocated: a double release means two pods thought they owned it`);
  }

  contains(ip: string): boolean {
    const offset = ipToNumber(ip) - this.cidr.base;
    return offset >= this.firstOffset && offset <= this.lastOffset;
  }

  private offsetOf(ip: string): number {
    if (!this.contains(ip)) throw new Error(`${ip} is not a pod address of ${numberToIp(this.cidr.base)}/${this.cidr.prefixLength}`);
    return ipToNumber(ip) - this.cidr.base;
  }
}
