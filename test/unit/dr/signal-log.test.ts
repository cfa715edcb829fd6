import { describe, expect, it } from 'vitest';
import { parseSignalLog, parseSignalLogLines } from '#core/dr/signal-log.ts';
import { issuesOf } from './helpers.ts';

describe('signal log', () => {
  it('reads signals and operator controls, skipping blank lines and keeping line numbers', () => {
    // Prepare
    const text = [
      '{"time":"2026-03-02T10:00:00Z","service":"payments-api","vantage":"aws-us-west-2","signal":"api-availability","status":"unknown","detail":"probe timed out","extra":"ignored by v1"}',
      '',
      '{"time":"2026-03-02T10:00:05Z","control":"pause","by":"admin@example.com"}',
      '{"time":"2026-03-02T10:00:05Z","control":"approve","service":"payments-api","decision":"failover","by":"bob"}',
    ].join('\n');

    // Act
    const lines = parseSignalLogLines(text);

    // Assess
    expect(lines.map((l) => l.line)).toEqual([1, 3, 4]);
    expect(lines[0]?.record).toMatchObject({ status: 'unknown', detail: 'probe timed out' });
    expect(lines[2]?.record).toMatchObject({ control: 'approve', decision: 'failover' });
  });

  it('names the line and field of every bad record', () => {
    // Prepare
    const text = [
      '{"time":"yesterday","service":"payments-api","vantage":"aws-us-west-2","signal":"api-availability","status":"healthy"}',
      '{"time":"2026-03-02T10:00:00Z","control":"approve","service":"payments-api","by":"bob"}',
      '{"time":"2026-03-02T10:00:00Z","control":"override","service":"payments-api","by":"alice"}',
      '{"time":"2026-03-02T10:00:00Z","service":"Payments API","vantage":"aws-us-west-2","signal":"api-availability"}',
      '[1,2]',
    ].join('\n');

    // Act
    const issues = issuesOf(() => parseSignalLog(text));

    // Assess
    expect(issues).toEqual([
      { path: 'line 1.time', reason: 'must be a valid date-time' },
      { path: 'line 2.decision', reason: 'is required' },
      { path: 'line 3.side', reason: 'is required' },
      { path: 'line 4.status', reason: 'is required' },
      { path: 'line 4.service', reason: 'must be a DR plan service id (lowercase letters, digits, dashes)' },
      { path: 'line 5', reason: 'must be a JSON object (a signal or an operator control)' },
    ]);
  });
});
