import { MAX_USER_ID } from '@tessera/core';
import { guarded } from './errors.ts';
import type { TesseraRedis } from './redis.ts';

/** Ids a process takes from the sequence at once (the ingress; the command line takes one at a time). */
export const ID_BLOCK = 100;

/**
 * User ids without a shared hot counter: a process takes a block of ids from the sequence at once
 * (one INCRBY) and hands them out locally, so blocks of two processes never overlap. An id kept by
 * an import moves the sequence past it (raiseSeq-1.lua); a block taken before such an import may
 * still hold it, so the caller claims each id's index entry (user-batch.ts) and takes the next id when
 * the entry is another account's. Ids are not dense: a block a process did not use up is lost.
 */
export class IdBlocks {
  private next = 1;
  private last = 0;
  private refill: Promise<void> | undefined;
  private exhausted = false;

  constructor(
    private readonly redis: TesseraRedis,
    private readonly seq: string,
    private readonly block: number = ID_BLOCK,
  ) {}

  /** The next id of this process's block; null when no id is left under MAX_USER_ID. */
  async take(): Promise<number | null> {
    while (this.next > this.last) {
      if (this.exhausted) return null;
      this.refill ??= this.fill().finally(() => {
        this.refill = undefined;
      });
      await this.refill;
    }
    return this.next++;
  }

  private async fill(): Promise<void> {
    const hi = await guarded(() => this.redis.incrby(this.seq, this.block));
    const lo = hi - this.block + 1;
    if (lo > MAX_USER_ID) {
      this.exhausted = true;
      return;
    }
    this.next = lo;
    this.last = Math.min(hi, MAX_USER_ID);
  }

  /**
   * An id kept by an import: the sequence moves past it, and this process's block, if the id lies
   * ahead in it, is given up, so the ids this process hands out keep increasing.
   */
  async keep(id: number): Promise<void> {
    await guarded(() => this.redis.raiseSeq(this.seq, String(id)));
    if (id >= this.next) this.last = this.next - 1;
  }
}
