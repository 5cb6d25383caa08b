export {
  machineBusySeconds,
  type ProcStat,
  parseMachineCpu,
  parseProcStat,
  procStat,
  treeCpuSeconds,
} from './cpu.js';
export {
  coresBusy,
  cpuSecondsPerMillion,
  eventsPerSecond,
  type RunFigures,
  scalingEfficiency,
  shortfallReason,
} from './scaling.js';
export { resultsIn, STAGES, type StageRow, type StageSource, stageRows, stagesMarkdown } from './stages.js';
