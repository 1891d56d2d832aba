declare module 'cluster-key-slot' {
  /** Redis Cluster's slot of a key (CRC16 of its hash tag, or of the whole key), 0..16383. */
  export default function generate(key: string | Buffer): number;
}
