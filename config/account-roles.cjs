/**
 * CROSSLINK_ACCOUNT_ROLES for serverless.yml (`${file(config/account-roles.cjs):<field>}`): the
 * network accounts' roles the handlers assume, `{"<account id>": "<role ARN>"}`. One parse feeds
 * both the functions' environment (`json`) and the sts:AssumeRole grants (`arns`, only when
 * `configured` is "true"), so a grant names exactly the roles the code may assume. A malformed
 * value stops the packaging with the entry and the reason.
 *
 * CommonJS: the serverless framework loads variable files with require().
 */
'use strict';

const ACCOUNT = /^\d{12}$/;
const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

/** The validated map; throws naming the entry and the reason. */
function accountRoles(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`CROSSLINK_ACCOUNT_ROLES: not JSON (${e.message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error('CROSSLINK_ACCOUNT_ROLES: must be an object {"<account id>": "<role ARN>"}');
  for (const [account, arn] of Object.entries(value)) {
    const at = `CROSSLINK_ACCOUNT_ROLES["${account}"]`;
    if (!ACCOUNT.test(account)) throw new Error(`${at}: the key must be a 12-digit AWS account id`);
    const m = typeof arn === 'string' ? ROLE_ARN.exec(arn) : null;
    if (!m)
      throw new Error(
        `${at}: ${JSON.stringify(arn)} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`,
      );
    if (m[1] !== account) throw new Error(`${at}: ${arn} is a role of account ${m[1]}, not ${account}`);
  }
  return value;
}

/** What serverless.yml reads, from the environment of the packaging. */
function resolve(env = process.env) {
  const roles = accountRoles(env.CROSSLINK_ACCOUNT_ROLES || '{}');
  const arns = Object.values(roles);
  return { json: JSON.stringify(roles), arns, configured: String(arns.length > 0) };
}

module.exports = () => resolve();
module.exports.resolve = resolve;
module.exports.accountRoles = accountRoles;
