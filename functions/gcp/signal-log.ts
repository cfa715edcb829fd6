/**
 * Google's copy of the signal log, in Firestore beside the links, as the AWS side's is in DynamoDB
 * (functions/aws/signal-log.ts):
 *
 * | document                                   | fields                                             |
 * | ------------------------------------------ | -------------------------------------------------- |
 * | `drSignals/<service>/observations/<key>`   | `time` (ISO, ms, Z), `record` (the signal log line) |
 * | `drSignals/<service>/probes/<vantage>`     | `streaks`: a probe's, by signal (JSON)             |
 * | `drSignals/<service>/controls/<sequence, 10 digits>` | `record` (the control's line), `request`: its idempotency key |
 *
 * `<key>` is `<ISO time, ms>#<vantage>#<signal>`: one document per observation, created only when
 * absent, so the same observation recorded twice (a relay redelivery) is kept once. Reading since a
 * time is one query ordered by `time` (then by document name, which is the key): the order the
 * DynamoDB copy's sort key gives, the one `dr evaluate` needs.
 *
 * An operator's controls (pause, resume, approve: functions/core/dr/control-taking.ts) are numbered
 * in the order they were taken: the next one is created at the number after the last one read, only
 * if no document holds it (`create`, which fails on an existing document). Two controls checked
 * against the same log cannot both be recorded: the second finds its number taken, reads again and
 * is checked again. `records` merges them with the observations in time order: the log the decider
 * replays.
 */
import { FieldPath, type Firestore } from '@google-cloud/firestore';
import { type ControlLog, logRecords, type StoredControl } from '#core/dr/control-taking.ts';
import type { Observation, ProbeStreak } from '#core/dr/observations.ts';
import type { ControlRecord, DrRecord } from '#core/dr/signal-log.ts';
import type { ProbeStreakStore, SignalLogStore } from '#core/dr/vantage.ts';

/** Every key in one format (milliseconds, `Z`), so that keys sort as the times they hold. */
const sortable = (time: string) => new Date(time).toISOString();

/** gRPC ALREADY_EXISTS: a `create` of a document that exists. */
const ALREADY_EXISTS = 6;

export class FirestoreSignalLog implements SignalLogStore, ProbeStreakStore, ControlLog {
  readonly #db: Firestore;

  constructor(db: Firestore) {
    this.#db = db;
  }

  #service(service: string) {
    return this.#db.collection('drSignals').doc(service);
  }

  /** Records each observation once (16 writes at a time); returns how many were new. */
  async record(observations: readonly Observation[]): Promise<number> {
    let added = 0;
    for (let i = 0; i < observations.length; i += 16) {
      const written = await Promise.all(observations.slice(i, i + 16).map((o) => this.#create(o)));
      added += written.filter(Boolean).length;
    }
    return added;
  }

  async #create(o: Observation): Promise<boolean> {
    const time = sortable(o.time);
    try {
      await this.#service(o.service)
        .collection('observations')
        .doc(`${time}#${o.vantage}#${o.signal}`)
        .create({ time, record: JSON.stringify(o) });
      return true;
    } catch (e) {
      if ((e as { code?: number }).code === ALREADY_EXISTS) return false;
      throw e;
    }
  }

  /** The service's observations at or after `since` (ms since the epoch), in time order. */
  async since(service: string, since = 0): Promise<Observation[]> {
    const snap = await this.#service(service)
      .collection('observations')
      .where('time', '>=', new Date(since).toISOString())
      .orderBy('time')
      .get();
    return snap.docs.map((d) => JSON.parse(String(d.get('record'))) as Observation);
  }

  /** The service's operator controls, in the order they were recorded. */
  async controls(service: string): Promise<StoredControl[]> {
    const snap = await this.#service(service).collection('controls').orderBy(FieldPath.documentId()).get();
    return snap.docs.map((d) => {
      const request = d.get('request');
      return {
        sequence: Number(d.id),
        record: JSON.parse(String(d.get('record'))) as ControlRecord,
        ...(typeof request === 'string' && { request }),
      };
    });
  }

  /**
   * Records a control at `sequence` (one after the last read), only when no control holds that
   * number: false when another was recorded there first (read again, check again).
   */
  async recordControl(sequence: number, record: ControlRecord, request?: string): Promise<boolean> {
    try {
      await this.#service(record.service as string)
        .collection('controls')
        .doc(String(sequence).padStart(10, '0'))
        .create({ record: JSON.stringify(record), ...(request !== undefined && { request }) });
      return true;
    } catch (e) {
      if ((e as { code?: number }).code === ALREADY_EXISTS) return false;
      throw e;
    }
  }

  /**
   * The service's log as the decider replays it, at or after `since` (ms): observations and controls,
   * in time order. The controls, an operator's few, are read whole and the earlier ones left out.
   */
  records(service: string, since = 0): Promise<DrRecord[]> {
    return logRecords(this, service, since);
  }

  /** A vantage point's probe streaks from its last run (none before its first). */
  async streaks(service: string, vantage: string): Promise<Record<string, ProbeStreak>> {
    const doc = await this.#service(service).collection('probes').doc(vantage).get();
    return doc.exists ? (JSON.parse(String(doc.get('streaks'))) as Record<string, ProbeStreak>) : {};
  }

  async keepStreaks(service: string, vantage: string, streaks: Record<string, ProbeStreak>): Promise<void> {
    await this.#service(service)
      .collection('probes')
      .doc(vantage)
      .set({ streaks: JSON.stringify(streaks) });
  }
}
