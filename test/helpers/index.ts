export { databaseBefore, freshDatabase, useDatabaseBefore, type FreshDatabase } from './database.js';
export { readMail, listMail, type CapturedMail } from './mail.js';
export { testConfig } from './config.js';
