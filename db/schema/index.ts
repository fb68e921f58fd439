export * from './parties.js';
export * from './auth.js';
export * from './audit.js';
export * from './connections.js';
export * from './mandates.js';
export * from './p4.js';
export * from './cases.js';
export * from './allocation.js';
