/**
 * The admission chain (k8s.io/apiserver's `admission/chain.go`): every
 * plugin's mutating phase in order, then every plugin's validating phase in
 * order. The REST handlers call it and know no plugin by name.
 */
import type { KubeObject } from '../types/index.js';
import type { AdmissionAttributes, AdmissionPlugin } from './types.js';

export class AdmissionChain {
  readonly plugins: readonly AdmissionPlugin[];

  constructor(plugins: readonly AdmissionPlugin[]) {
    const names = new Set<string>();
    for (const plugin of plugins) {
      if (names.has(plugin.name)) throw new Error(`admission chain: plugin ${plugin.name} is listed twice`);
      names.add(plugin.name);
    }
    this.plugins = Object.freeze([...plugins]);
  }

  /** Mutating then validating phase; the first refusal (an ApiError) ends admission. */
  async run(attributes: AdmissionAttributes): Promise<void> {
    await this.admit(attributes);
    await this.validate(attributes);
  }

  async admit(attributes: AdmissionAttributes): Promise<void> {
    for (const plugin of this.plugins) {
      if (plugin.admit !== undefined && plugin.handles(attributes.operation)) await plugin.admit(attributes);
    }
  }

  async validate(attributes: AdmissionAttributes): Promise<void> {
    for (const plugin of this.plugins) {
      if (plugin.validate !== undefined && plugin.handles(attributes.operation)) await plugin.validate(attributes);
    }
  }

  /** Whether some plugin must see a PATCH's patched object. */
  wantsObject(attributes: AdmissionAttributes): boolean {
    return this.plugins.some((p) => p.wantsObject !== undefined && p.handles(attributes.operation) && p.wantsObject(attributes));
  }

  /** Tells the plugins that reserve something in `validate` how the write went. */
  finished(attributes: AdmissionAttributes, written: KubeObject | undefined): void {
    for (const plugin of this.plugins) {
      if (plugin.finished !== undefined && plugin.handles(attributes.operation)) plugin.finished(attributes, written);
    }
  }
}
