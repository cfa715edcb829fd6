/**
 * The Logging query subset of the local sinks: what matches an Admin Activity entry, and what is
 * refused by name.
 */
import { describe, expect, it } from 'vitest';
import { LogFilterError, matchesLogFilter, parseLogFilter } from '#local/gcp/log-filter.ts';

const entry = {
  logName: 'projects/p1/logs/cloudaudit.googleapis.com%2Factivity',
  severity: 'NOTICE',
  protoPayload: {
    '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
    serviceName: 'networkconnectivity.googleapis.com',
    methodName: 'google.cloud.networkconnectivity.v1beta.TransportManager.CreateTransport',
    resourceName: 'projects/p1/locations/us-east4/transports/lk-1',
    authenticationInfo: { principalEmail: 'crosslink@p1.iam.gserviceaccount.com' },
  },
  resource: { type: 'audited_resource', labels: { project_id: 'p1' } },
};
const matches = (f: string) => matchesLogFilter(parseLogFilter(f), entry);

describe('log filters', () => {
  it('matches =, !=, has (:), regex, presence, AND / OR / NOT, parentheses and log_id()', () => {
    expect(matches('protoPayload.methodName:"TransportManager"')).toBe(true);
    expect(matches('protoPayload.methodName:"transportmanager"')).toBe(true);
    expect(matches('protoPayload.serviceName="networkconnectivity.googleapis.com"')).toBe(true);
    expect(matches('protoPayload.serviceName="compute.googleapis.com"')).toBe(false);
    expect(matches('protoPayload.serviceName!="compute.googleapis.com"')).toBe(true);
    expect(matches('protoPayload.methodName=~"Transport\\\\.(Create|Delete)"')).toBe(false);
    expect(matches('protoPayload.methodName=~"(Create|Delete)Transport$"')).toBe(true);
    expect(matches('protoPayload.methodName!~"Delete"')).toBe(true);
    expect(matches('protoPayload.authenticationInfo.principalEmail:*')).toBe(true);
    expect(matches('protoPayload.status.code:*')).toBe(false);
    expect(matches('protoPayload."@type"="type.googleapis.com/google.cloud.audit.AuditLog"')).toBe(true);
    expect(matches('log_id("cloudaudit.googleapis.com/activity")')).toBe(true);
    expect(matches('log_id("cloudaudit.googleapis.com/data_access")')).toBe(false);
    expect(matches('severity=NOTICE resource.type=audited_resource')).toBe(true);
    expect(
      matches('severity=ERROR OR (resource.labels.project_id=p1 AND NOT protoPayload.methodName:Delete)'),
    ).toBe(true);
    expect(matches('-protoPayload.methodName:Create')).toBe(false);
    expect(matches('missing.field="x"')).toBe(false);
    expect(matches('missing.field!="x"')).toBe(true);
  });

  it('refuses comparisons, global search and functions it does not support, saying which', () => {
    expect(() => parseLogFilter('timestamp>="2026-01-01T00:00:00Z"')).toThrow(
      /do not support the >= operator/,
    );
    expect(() => parseLogFilter('"TransportManager"')).toThrow(LogFilterError);
    expect(() => parseLogFilter('TransportManager')).toThrow(/global text search/);
    expect(() => parseLogFilter('sample(insertId, 0.1)')).toThrow(/do not support the function sample\(\)/);
    expect(() => parseLogFilter('a="x" AND (b="y"')).toThrow(/missing \)/);
    expect(() => parseLogFilter('a=~"("')).toThrow(/invalid regular expression/);
  });
});
