/** IPv4 CIDR arithmetic for the cloud's address pools (pure). */

export interface Cidr {
  /** The network address as an unsigned 32-bit integer. */
  base: number;
  prefixLength: number;
  /** Addresses in the block. */
  size: number;
}

export function parseIpv4(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${JSON.stringify(address)}`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw new Error(`not an IPv4 address: ${JSON.stringify(address)}`);
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new Error(`not a 32-bit address: ${value}`);
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function parseCidr(cidr: string): Cidr {
  const [address, length] = cidr.split('/');
  const prefixLength = Number(length);
  if (address === undefined || !Number.isInteger(prefixLength) || prefixLength < 8 || prefixLength > 30) {
    throw new Error(`not an IPv4 CIDR with a prefix from /8 to /30: ${JSON.stringify(cidr)}`);
  }
  const size = 2 ** (32 - prefixLength);
  const base = parseIpv4(address) - (parseIpv4(address) % size);
  return { base, prefixLength, size };
}

/**
 * Hands out addresses of a block, skipping the network and broadcast
 * addresses, lowest free first after a moving cursor (so a freed address is
 * not handed out again at once: stale clients of the old holder fail loudly
 * instead of reaching the new one).
 */
export class AddressPool {
  private readonly cidr: Cidr;
  private readonly used = new Set<number>();
  private cursor = 1;

  constructor(cidr: string) {
    this.cidr = parseCidr(cidr);
  }

  get capacity(): number {
    return this.cidr.size - 2;
  }

  get inUse(): number {
    return this.used.size;
  }

  /** undefined when the block is full. */
  allocate(): string | undefined {
    if (this.used.size >= this.capacity) return undefined;
    for (let tried = 0; tried < this.cidr.size; tried++) {
      const offset = this.cursor;
      this.cursor = this.cursor + 1 >= this.cidr.size - 1 ? 1 : this.cursor + 1;
      if (!this.used.has(offset)) {
        this.used.add(offset);
        return formatIpv4(this.cidr.base + offset);
      }
    }
    throw new Error('AddressPool: invariant broken, capacity left but no free offset found');
  }

  /** Mark an address taken (one given by the caller); false if it is outside the block. */
  claim(address: string): boolean {
    const offset = parseIpv4(address) - this.cidr.base;
    if (offset <= 0 || offset >= this.cidr.size - 1) return false;
    this.used.add(offset);
    return true;
  }

  release(address: string): void {
    const offset = parseIpv4(address) - this.cidr.base;
    this.used.delete(offset);
  }
}
