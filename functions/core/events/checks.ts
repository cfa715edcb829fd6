/**
 * One binding per event of the catalog: its name with the validator of its data (compiled ahead of
 * time, ../validators.gen.ts). Code that makes or reads a known event names its binding
 * (`emit(deps, checks.LinkApproved, data)`), so a bundle keeps the validators of the events its
 * code names and not the whole catalog's; ./schemas.ts checks an event named at run time.
 */
import type { Validator } from '../validation.ts';
import * as compiled from '../validators.gen.ts';
import type { EventName } from './catalog.ts';

/** An event's name and the validator of its v1 `data`. */
export interface EventCheck<N extends EventName = EventName> {
  name: N;
  validate: Validator;
}

const check = <N extends EventName>(name: N, validate: Validator): EventCheck<N> => ({ name, validate });

export const LinkRequested = /* @__PURE__ */ check('LinkRequested', compiled.LinkRequested);
export const LinkApprovalRequested = /* @__PURE__ */ check(
  'LinkApprovalRequested',
  compiled.LinkApprovalRequested,
);
export const LinkApproved = /* @__PURE__ */ check('LinkApproved', compiled.LinkApproved);
export const LinkRejected = /* @__PURE__ */ check('LinkRejected', compiled.LinkRejected);
export const LinkExpired = /* @__PURE__ */ check('LinkExpired', compiled.LinkExpired);
export const LinkKeyIssued = /* @__PURE__ */ check('LinkKeyIssued', compiled.LinkKeyIssued);
export const LinkSideStateChanged = /* @__PURE__ */ check(
  'LinkSideStateChanged',
  compiled.LinkSideStateChanged,
);
export const LinkStateChanged = /* @__PURE__ */ check('LinkStateChanged', compiled.LinkStateChanged);
export const LinkDecommissionRequested = /* @__PURE__ */ check(
  'LinkDecommissionRequested',
  compiled.LinkDecommissionRequested,
);
export const LinkFailed = /* @__PURE__ */ check('LinkFailed', compiled.LinkFailed);
export const VpnDrainRequested = /* @__PURE__ */ check('VpnDrainRequested', compiled.VpnDrainRequested);
export const VpnDrained = /* @__PURE__ */ check('VpnDrained', compiled.VpnDrained);
export const VpnUndrainRequested = /* @__PURE__ */ check('VpnUndrainRequested', compiled.VpnUndrainRequested);
export const VpnUndrained = /* @__PURE__ */ check('VpnUndrained', compiled.VpnUndrained);
export const VpnDeleteRequested = /* @__PURE__ */ check('VpnDeleteRequested', compiled.VpnDeleteRequested);
export const VpnHalfDeleted = /* @__PURE__ */ check('VpnHalfDeleted', compiled.VpnHalfDeleted);
export const VpnRunReported = /* @__PURE__ */ check('VpnRunReported', compiled.VpnRunReported);
export const VpnInventoryRequested = /* @__PURE__ */ check(
  'VpnInventoryRequested',
  compiled.VpnInventoryRequested,
);
export const VpnInventoryReported = /* @__PURE__ */ check(
  'VpnInventoryReported',
  compiled.VpnInventoryReported,
);
export const DrSignalObserved = /* @__PURE__ */ check('DrSignalObserved', compiled.DrSignalObserved);
export const DrDecisionMade = /* @__PURE__ */ check('DrDecisionMade', compiled.DrDecisionMade);
export const DrActionStarted = /* @__PURE__ */ check('DrActionStarted', compiled.DrActionStarted);
export const DrActionFinished = /* @__PURE__ */ check('DrActionFinished', compiled.DrActionFinished);
export const DrFailedOver = /* @__PURE__ */ check('DrFailedOver', compiled.DrFailedOver);
export const DrFailedBack = /* @__PURE__ */ check('DrFailedBack', compiled.DrFailedBack);
