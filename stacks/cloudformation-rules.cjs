/**
 * A serverless framework plugin (serverless.yml `plugins`): the template's `Rules` section from
 * `custom.cloudFormationRules`. osls's schema of `resources` has no `Rules` (its validation refuses
 * the key), so the rules are declared under `custom` and copied into the compiled template before it
 * is saved. CloudFormation evaluates them before it creates or updates anything, and a false
 * assertion refuses the whole stack operation with its AssertDescription (config/dr-plan.cjs gives
 * the DR executor's region rule). No rules (an empty object): no `Rules` section.
 *
 * CommonJS: the serverless framework loads plugins with require().
 */
'use strict';

class CloudFormationRules {
  constructor(serverless) {
    this.serverless = serverless;
    serverless.configSchemaHandler?.defineCustomProperties({
      type: 'object',
      properties: {
        cloudFormationRules: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            properties: {
              RuleCondition: { type: 'object' },
              Assertions: {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'object',
                  properties: { Assert: { type: 'object' }, AssertDescription: { type: 'string' } },
                  required: ['Assert'],
                  additionalProperties: false,
                },
              },
            },
            required: ['Assertions'],
            additionalProperties: false,
          },
        },
      },
    });
    this.hooks = {
      'before:aws:package:finalize:saveServiceState': () => this.addRules(),
    };
  }

  addRules() {
    const rules = this.serverless.service.custom?.cloudFormationRules ?? {};
    if (Object.keys(rules).length === 0) return;
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const clash = Object.keys(rules).filter((name) => template.Rules && name in template.Rules);
    if (clash.length > 0)
      throw new Error(`custom.cloudFormationRules: ${clash.join(', ')} already in the template's Rules`);
    template.Rules = { ...(template.Rules ?? {}), ...rules };
  }
}

module.exports = CloudFormationRules;
