export interface ServiceStatus {
  /** A process of ours is alive (or something answers on our port). */
  running: boolean;
  /** The service answered a real request (metadata, `select 1`). */
  answers: boolean;
  pid: number | null;
  detail?: string;
}

/** One service of the local stack. `up`/`down` are idempotent and say whether they changed anything. */
export interface StackService {
  readonly name: string;
  readonly address: string;
  up(): Promise<boolean>;
  down(): Promise<boolean>;
  status(): Promise<ServiceStatus>;
}
