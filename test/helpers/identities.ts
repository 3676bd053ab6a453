/** Callers and targets shared by the unit tests of the pipeline and the policies. */
import type { LkpIdentity } from '../../src/protocol.js';

export const INSTANCE_ID = 'i-0123456789abcdef0';
export const INSTANCE_ARN = `arn:aws:ec2:us-east-1:111122223333:instance/${INSTANCE_ID}`;

export const ALICE: LkpIdentity = {
  Arn: 'arn:aws:iam::111122223333:user/alice',
  Account: '111122223333',
  Id: 'AIDA',
  Type: 'User',
  Name: 'alice',
};

/** The role session EC2 gives the instance: the only caller that may get its host certificate. */
export const INSTANCE_SESSION: LkpIdentity = {
  Arn: `arn:aws:sts::111122223333:assumed-role/web/${INSTANCE_ID}`,
  Account: '111122223333',
  Id: `AROA:${INSTANCE_ID}`,
  Type: 'AssumedRole',
  RoleName: 'web',
  SessionName: INSTANCE_ID,
};
