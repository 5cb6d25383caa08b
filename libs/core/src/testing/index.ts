/**
 * Contract fakes for tests and benchmarks of any component (never for production code): an in-memory
 * intake with switchable answers, a counting intake, a capturing logger and the source context the
 * runtime would hand an adapter. They depend on @siem/core alone, so every lib can use them.
 */
export * from './intake.js';
