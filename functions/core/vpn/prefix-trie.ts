/**
 * A binary trie over IPv4 and IPv6 prefixes. Lookups walk at most 32 or 128 levels, so checking a
 * prefix against every route of a network costs O(prefix length), not O(routes): the planner never
 * compares all pairs of prefixes.
 */
import { bitAt, type Cidr, type Family } from '../net/cidr.ts';

interface Node<V> {
  zero?: Node<V>;
  one?: Node<V>;
  entries?: { cidr: Cidr; value: V }[];
}

export interface TrieEntry<V> {
  readonly cidr: Cidr;
  readonly value: V;
}

export class PrefixTrie<V> {
  readonly #roots: Record<Family, Node<V>> = { 4: {}, 6: {} };
  #size = 0;

  get size(): number {
    return this.#size;
  }

  insert(cidr: Cidr, value: V): void {
    let node = this.#roots[cidr.family];
    for (let i = 0; i < cidr.length; i++) {
      const key = bitAt(cidr, i) === 1 ? 'one' : 'zero';
      let next = node[key];
      if (!next) {
        next = {};
        node[key] = next;
      }
      node = next;
    }
    if (!node.entries) node.entries = [];
    node.entries.push({ cidr, value });
    this.#size++;
  }

  /** Every entry whose prefix contains `cidr` (itself included), shortest prefix first. */
  covering(cidr: Cidr): TrieEntry<V>[] {
    const out: TrieEntry<V>[] = [];
    let node: Node<V> | undefined = this.#roots[cidr.family];
    for (let i = 0; node; i++) {
      if (node.entries) out.push(...node.entries);
      if (i === cidr.length) break;
      node = bitAt(cidr, i) === 1 ? node.one : node.zero;
    }
    return out;
  }

  /** The entries of the most specific prefix containing `cidr` that has an entry accepted by `keep`. */
  longestMatch(cidr: Cidr, keep: (value: V) => boolean = () => true): TrieEntry<V>[] {
    let best: TrieEntry<V>[] = [];
    let node: Node<V> | undefined = this.#roots[cidr.family];
    for (let i = 0; node; i++) {
      const kept = node.entries?.filter((e) => keep(e.value));
      if (kept && kept.length > 0) best = kept;
      if (i === cidr.length) break;
      node = bitAt(cidr, i) === 1 ? node.one : node.zero;
    }
    return best;
  }

  /**
   * Whether entries at `cidr` or more specific than it (accepted by `keep`) together cover every
   * address of `cidr`. An entry shorter than `cidr` does not count: that is the more-specific case.
   */
  coversAtOrBelow(cidr: Cidr, keep: (value: V) => boolean = () => true): boolean {
    let node: Node<V> | undefined = this.#roots[cidr.family];
    for (let i = 0; node && i < cidr.length; i++) node = bitAt(cidr, i) === 1 ? node.one : node.zero;
    return node !== undefined && PrefixTrie.#covered(node, keep);
  }

  /** Every entry at `cidr` or more specific than it. */
  atOrBelow(cidr: Cidr): TrieEntry<V>[] {
    let node: Node<V> | undefined = this.#roots[cidr.family];
    for (let i = 0; node && i < cidr.length; i++) node = bitAt(cidr, i) === 1 ? node.one : node.zero;
    const out: TrieEntry<V>[] = [];
    const stack = node ? [node] : [];
    for (let n = stack.pop(); n; n = stack.pop()) {
      if (n.entries) out.push(...n.entries);
      if (n.one) stack.push(n.one);
      if (n.zero) stack.push(n.zero);
    }
    return out;
  }

  /**
   * What longest-prefix routing picks for the addresses of `cidr`: one group per distinct most specific
   * matching prefix (its entries), the covering match above `cidr` included when some addresses fall
   * through to it, and an empty group when some addresses match nothing. Finer prefixes that together
   * span `cidr` leave no address to a wider or exact entry, so that entry is not listed.
   */
  matchesWithin(cidr: Cidr): TrieEntry<V>[][] {
    let node: Node<V> | undefined = this.#roots[cidr.family];
    let inherited: TrieEntry<V>[] = [];
    for (let i = 0; node && i < cidr.length; i++) {
      if (node.entries) inherited = node.entries;
      node = bitAt(cidr, i) === 1 ? node.one : node.zero;
    }
    const groups = new Set<TrieEntry<V>[]>();
    if (!node) groups.add(inherited);
    else PrefixTrie.#matches(node, inherited, cidr.length, cidr.family === 4 ? 32 : 128, groups);
    return [...groups];
  }

  /** Adds the match of every address under `node` (at depth `depth`) to `out`. */
  static #matches<V>(
    node: Node<V>,
    inherited: TrieEntry<V>[],
    depth: number,
    bits: number,
    out: Set<TrieEntry<V>[]>,
  ): void {
    const here = node.entries ?? inherited;
    if (depth === bits) {
      out.add(here);
      return;
    }
    // A missing half has no finer route: its addresses take this node's match.
    if (!node.zero || !node.one) out.add(here);
    if (node.zero) PrefixTrie.#matches(node.zero, here, depth + 1, bits, out);
    if (node.one) PrefixTrie.#matches(node.one, here, depth + 1, bits, out);
  }

  static #covered<V>(node: Node<V>, keep: (value: V) => boolean): boolean {
    if (node.entries?.some((e) => keep(e.value))) return true;
    return (
      node.zero !== undefined &&
      node.one !== undefined &&
      PrefixTrie.#covered(node.zero, keep) &&
      PrefixTrie.#covered(node.one, keep)
    );
  }
}
