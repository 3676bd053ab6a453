/** Network access leases (docs/access-policy.md, "Network access leases"). */
export { ec2LeaseManager, type LeaseManager, type LeaseRequest, type LeaseResult } from './leases.js';
export type { IngressGrant } from '../authorize/grant.js';
