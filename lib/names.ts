import type { Topology } from './topology';

/**
 * Physical names of a system's resources. They are fixed, not generated, so that a compute stack
 * of either topology finds the same storage, and so that retained tables can be found (and
 * imported into a new stack) by name after their stack is gone.
 */
export const names = {
  storageStack: (systemName: string): string => `${systemName}-storage`,
  computeStack: (systemName: string, topology: Topology): string => `${systemName}-${topology}`,
  catalogTable: (systemName: string): string => `${systemName}-catalog`,
  logTable: (systemName: string): string => `${systemName}-log`,
  /** Bucket names are global: the account and region make the name unique (at most 61 characters). */
  segmentBucket: (systemName: string, account: string, region: string): string => `${systemName}-segments-${account}-${region}`,
  adminKeySecret: (systemName: string): string => `${systemName}/admin-access-key`,
  nodeGroup: (systemName: string, topology: Topology): string => `${systemName}-${topology}-nodes`,
  nodeLogGroup: (systemName: string, topology: Topology): string => `/datalith/${systemName}/${topology}/nodes`,
  flowLogGroup: (systemName: string, topology: Topology): string => `/datalith/${systemName}/${topology}/vpc-flow-rejects`,
  metricsNamespace: (systemName: string): string => `Datalith/${systemName}`,
  dashboard: (systemName: string, topology: Topology): string => `datalith-${systemName}-${topology}`,
};
