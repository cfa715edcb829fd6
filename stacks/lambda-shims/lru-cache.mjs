/**
 * `mnemonist/lru-cache` in the Lambda bundles (stacks/esbuild-plugins.cjs): the least-recently-used
 * cache of discovered endpoints (`@aws-sdk/endpoint-cache`, the DynamoDB client's endpoint
 * discovery) on a Map, which keeps insertion order: the methods EndpointCache calls (get, peek,
 * has, set, clear), each as mnemonist's LRUCache answers it (test/unit/lambda-shims.test.ts checks
 * both against the same operations). mnemonist's typed-array cache with its helpers is about 6 KB
 * of each bundle that holds the DynamoDB client.
 */
export default class LRUCache {
  constructor(capacity) {
    if (typeof capacity !== 'number' || capacity <= 0)
      throw new Error('LRUCache: capacity should be positive number.');
    this.capacity = capacity;
    this.items = new Map();
  }

  get size() {
    return this.items.size;
  }

  /** The value, now the most recently used. */
  get(key) {
    if (!this.items.has(key)) return undefined;
    const value = this.items.get(key);
    this.items.delete(key);
    this.items.set(key, value);
    return value;
  }

  /** The value, its recency unchanged. */
  peek(key) {
    return this.items.get(key);
  }

  has(key) {
    return this.items.has(key);
  }

  /** Sets the value as the most recently used, evicting the least recently used when full. */
  set(key, value) {
    this.items.delete(key);
    this.items.set(key, value);
    if (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value);
    return this;
  }

  clear() {
    this.items.clear();
  }
}
