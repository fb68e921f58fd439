/** Workflow bundle entry (worker `workflowsPath`). */
export { doubtCaseWorkflow } from './doubt-case/index.js';
export { archiveCaseHistoryWorkflow } from './archive.js';
export { improvementReviewWorkflow } from './improvement-review.js';
export { repeatOffenderScanWorkflow } from './repeat-offender-scan.js';
export { supplierReportWorkflow } from './supplier-report.js';
export { breachAssessmentWorkflow } from './breach-assessment.js';
export { allocationRunWorkflow, dailyAllocationWorkflow } from './allocation-run.js';
export { retentionPurgeWorkflow } from './retention-purge.js';
export { registerPartitionsWorkflow } from './register-partitions.js';
