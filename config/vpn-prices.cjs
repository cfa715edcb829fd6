/**
 * CROSSLINK_VPN_PRICES for serverless.yml (`${file(config/vpn-prices.cjs):json}`): config/pricing.yaml's
 * VPN hourly prices and currency, as the JSON the VPN run's functions read (functions/core/vpn/run-policy.ts
 * `readVpnPrices`, which checks them again at load). A missing or malformed `vpn` section stops the
 * packaging naming the field.
 *
 * CommonJS: the serverless framework loads variable files with require().
 */
'use strict';

const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { parse } = require('yaml');
const { readVpnPrices } = require('../functions/core/vpn/run-policy.ts');

/** The VPN prices of `file` as JSON; throws ValidationError naming each problem. */
function vpnPricesJson(file) {
  const doc = parse(readFileSync(file, 'utf8'));
  readVpnPrices(doc);
  return JSON.stringify({ currency: doc.currency, vpn: doc.vpn });
}

module.exports = () => ({ json: vpnPricesJson(join(__dirname, 'pricing.yaml')) });
module.exports.vpnPricesJson = vpnPricesJson;
