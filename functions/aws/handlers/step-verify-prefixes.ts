/** Lambda `stepVerifyPrefixes`: the Direct Connect gateway's allowed prefixes cover the link's AWS routes (functions/aws/steps.ts `verifyPrefixes`). */

import { prefixes } from '../ports/prefixes.ts';
import { store } from '../ports/store.ts';
import { verifyPrefixes } from '../steps.ts';
import { step } from './step.ts';

export const handler = step('verifyPrefixes', verifyPrefixes, { store, prefixes });
