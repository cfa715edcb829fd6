/**
 * JSON Schema (2020-12) of the Workflows syntax this engine supports. Anything outside it (e.g.
 * connectors' `call: googleapis...` are allowed by shape but refused by the semantic checks; keys
 * such as `parallel.exception_policy: unknown` are refused here) is reported by the linter.
 */
const expression = { type: 'string', pattern: '^\\s*\\$\\{[\\s\\S]*\\}\\s*$' } as const;
const identifier = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } as const;

export const WORKFLOW_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://crosslink.dev/schemas/workflows.schema.json',
  title: 'Google Cloud Workflows definition (the subset the crosslink local engine runs)',
  type: ['array', 'object'],
  if: { type: 'array' },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, not a thenable
  then: { $ref: '#/$defs/steps' },
  else: {
    type: 'object',
    required: ['main'],
    additionalProperties: { $ref: '#/$defs/subworkflow' },
  },
  $defs: {
    subworkflow: {
      type: 'object',
      required: ['steps'],
      additionalProperties: false,
      properties: {
        params: {
          type: 'array',
          items: {
            anyOf: [identifier, { type: 'object', minProperties: 1, maxProperties: 1 }],
          },
        },
        steps: { $ref: '#/$defs/steps' },
      },
    },
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        minProperties: 1,
        maxProperties: 1,
        additionalProperties: { $ref: '#/$defs/step' },
      },
    },
    next: { type: 'string', minLength: 1 },
    step: {
      type: 'object',
      minProperties: 1,
      additionalProperties: false,
      properties: {
        assign: { $ref: '#/$defs/assign' },
        call: { type: 'string', minLength: 1 },
        args: { type: 'object' },
        result: identifier,
        next: { $ref: '#/$defs/next' },
        switch: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['condition'],
            additionalProperties: false,
            properties: {
              condition: { type: ['string', 'boolean'] },
              next: { $ref: '#/$defs/next' },
              steps: { $ref: '#/$defs/steps' },
              assign: { $ref: '#/$defs/assign' },
              raise: true,
              return: true,
              call: { type: 'string' },
              args: { type: 'object' },
              result: identifier,
            },
          },
        },
        for: { $ref: '#/$defs/for' },
        parallel: {
          type: 'object',
          additionalProperties: false,
          properties: {
            shared: { type: 'array', items: identifier },
            exception_policy: { enum: ['continueAll'] },
            concurrency_limit: { anyOf: [{ type: 'integer', minimum: 1 }, expression] },
            branches: {
              type: 'array',
              minItems: 2,
              items: {
                type: 'object',
                minProperties: 1,
                maxProperties: 1,
                additionalProperties: {
                  type: 'object',
                  required: ['steps'],
                  additionalProperties: false,
                  properties: { steps: { $ref: '#/$defs/steps' } },
                },
              },
            },
            for: { $ref: '#/$defs/for' },
          },
        },
        try: { $ref: '#/$defs/step' },
        retry: {
          anyOf: [
            expression,
            {
              type: 'object',
              required: ['predicate'],
              additionalProperties: false,
              properties: {
                predicate: expression,
                max_retries: { anyOf: [{ type: 'integer', minimum: 0 }, expression] },
                backoff: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    initial_delay: { anyOf: [{ type: 'number', minimum: 0 }, expression] },
                    max_delay: { anyOf: [{ type: 'number', minimum: 0 }, expression] },
                    multiplier: { anyOf: [{ type: 'number', minimum: 0 }, expression] },
                  },
                },
              },
            },
          ],
        },
        except: {
          type: 'object',
          required: ['steps'],
          additionalProperties: false,
          properties: { as: identifier, steps: { $ref: '#/$defs/steps' } },
        },
        raise: true,
        return: true,
        steps: { $ref: '#/$defs/steps' },
      },
    },
    assign: {
      type: 'array',
      minItems: 1,
      items: { type: 'object', minProperties: 1, maxProperties: 1 },
    },
    for: {
      type: 'object',
      required: ['steps'],
      additionalProperties: false,
      properties: {
        value: identifier,
        index: identifier,
        in: { anyOf: [{ type: 'array' }, expression] },
        range: { anyOf: [{ type: 'array', minItems: 2, maxItems: 2 }, expression] },
        steps: { $ref: '#/$defs/steps' },
      },
    },
  },
} as const;
