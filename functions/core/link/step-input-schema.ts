/**
 * The JSON Schema of what every orchestrated step accepts (./step-input.ts checks it, by the
 * validator compiled from it ahead of time, functions/core/validators.gen.ts).
 */
export const LINK_ID_SCHEMA = {
  type: 'string',
  pattern: '^lk-[0-7][0-9a-hjkmnp-tv-z]{25}$',
  'x-reason': 'is not a link id (lk- and a lowercase ULID)',
};

export const STEP_INPUT_SCHEMA = {
  type: 'object',
  required: ['linkId'],
  properties: {
    linkId: LINK_ID_SCHEMA,
    mode: { enum: ['initiate', 'accept'] },
    phase: { enum: ['approval', 'key', 'up', 'gone', 'decommissionApproval', 'drained'] },
    token: { type: 'string', minLength: 1 },
    request: { type: 'object' },
  },
};
