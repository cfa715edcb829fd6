/** The approval metrics port (EMF through Powertools Metrics): wired only where `logMetrics` flushes it. */
import { approvalMetrics } from '../approval-metrics.ts';
import type { PortFactory } from '../runtime.ts';

export const metrics: PortFactory<'metrics'> = () => approvalMetrics();
