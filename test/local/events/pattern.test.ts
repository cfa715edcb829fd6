/**
 * The EventBridge documentation's own examples ("Content filtering in Amazon EventBridge event
 * patterns", "Comparison operators for use in event patterns"), one block per operator, each with
 * an event that matches and one that does not.
 */
import { describe, expect, it } from 'vitest';
import { InvalidEventPatternError, matchesPattern, parsePattern } from '#local/aws/events/pattern.ts';

const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

const cases: [string, object, object, boolean][] = [
  // Exact values, AND across fields, OR inside an array
  [
    'exact',
    { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] },
    ec2Event,
    true,
  ],
  ['exact: OR inside the array', { detail: { state: ['running', 'terminated'] } }, ec2Event, true],
  [
    'exact: AND across fields fails',
    { source: ['aws.ec2'], detail: { state: ['running'] } },
    ec2Event,
    false,
  ],
  ['exact: is case sensitive', { source: ['AWS.EC2'] }, ec2Event, false],
  ['exact: strings never equal numbers', { detail: { n: ['5'] } }, { detail: { n: 5 } }, false],
  ['exact: numbers', { detail: { n: [5] } }, { detail: { n: 5 } }, true],
  ['exact: booleans', { detail: { flag: [true] } }, { detail: { flag: true } }, true],
  // Arrays: event array values match when any element matches
  [
    'array: any element',
    {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0',
      ],
    },
    ec2Event,
    true,
  ],
  [
    'array: no element',
    { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] },
    ec2Event,
    false,
  ],
  [
    'array of objects is flattened',
    { detail: { items: { name: ['b'] } } },
    { detail: { items: [{ name: 'a' }, { name: 'b' }] } },
    true,
  ],
  // Null and empty values
  [
    'null matches a null value',
    { detail: { responseElements: [null] } },
    { detail: { responseElements: null } },
    true,
  ],
  ['null does not match a missing field', { detail: { responseElements: [null] } }, { detail: {} }, false],
  ['empty string', { detail: { eventVersion: [''] } }, { detail: { eventVersion: '' } }, true],
  ['empty string is not null', { detail: { eventVersion: [''] } }, { detail: { eventVersion: null } }, false],
  // Prefix
  ['prefix', { time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-02T18:43:48Z' }, true],
  ['prefix: no match', { time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-03T18:43:48Z' }, false],
  [
    'prefix ignore case',
    { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    { detail: { service: 'eventbridge' } },
    true,
  ],
  [
    'prefix ignore case: upper',
    { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    { detail: { service: 'EVENTBRIDGE' } },
    true,
  ],
  [
    'prefix ignore case: no match',
    { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    { detail: { service: 'lambda' } },
    false,
  ],
  // Suffix
  ['suffix', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.png' }, true],
  ['suffix: no match', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.PNG' }, false],
  [
    'suffix ignore case',
    { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    { detail: { FileName: 'image.PNG' } },
    true,
  ],
  [
    'suffix ignore case: no match',
    { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    { detail: { FileName: 'image.jpg' } },
    false,
  ],
  // Anything-but
  [
    'anything-but string',
    { detail: { state: [{ 'anything-but': 'initializing' }] } },
    { detail: { state: 'running' } },
    true,
  ],
  [
    'anything-but string: excluded',
    { detail: { state: [{ 'anything-but': 'initializing' }] } },
    { detail: { state: 'initializing' } },
    false,
  ],
  [
    'anything-but number',
    { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    { detail: { 'x-limit': 456 } },
    true,
  ],
  [
    'anything-but number: excluded',
    { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    { detail: { 'x-limit': 123 } },
    false,
  ],
  [
    'anything-but list',
    { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    { detail: { state: 'running' } },
    true,
  ],
  [
    'anything-but list: excluded',
    { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    { detail: { state: 'stopped' } },
    false,
  ],
  [
    'anything-but number list',
    { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    { detail: { 'x-limit': 200 } },
    false,
  ],
  [
    'anything-but prefix',
    { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    { detail: { state: 'running' } },
    true,
  ],
  [
    'anything-but prefix: excluded',
    { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    { detail: { state: 'initializing' } },
    false,
  ],
  [
    'anything-but suffix',
    { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } },
    { detail: { FileName: 'notes.md' } },
    true,
  ],
  [
    'anything-but suffix: excluded',
    { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } },
    { detail: { FileName: 'notes.txt' } },
    false,
  ],
  [
    'anything-but ignore case',
    { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } },
    { detail: { state: 'running' } },
    true,
  ],
  [
    'anything-but ignore case: excluded',
    { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } },
    { detail: { state: 'STOPPED' } },
    false,
  ],
  [
    'anything-but wildcard',
    { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
    { detail: { FilePath: '/usr/bin/x' } },
    true,
  ],
  [
    'anything-but wildcard: excluded',
    { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
    { detail: { FilePath: '/usr/lib/x' } },
    false,
  ],
  [
    'anything-but wildcard list',
    { detail: { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }] } },
    { detail: { FilePath: '/usr/bin/x' } },
    false,
  ],
  // Numeric
  [
    'numeric ranges',
    {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    },
    { detail: { 'c-count': 5, 'd-count': 7, 'x-limit': 301.8 } },
    true,
  ],
  [
    'numeric ranges: out of range',
    {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    },
    { detail: { 'c-count': 0, 'd-count': 7, 'x-limit': 301.8 } },
    false,
  ],
  ['numeric only matches numbers', { detail: { n: [{ numeric: ['>', 0] }] } }, { detail: { n: '5' } }, false],
  // IP address (cidr)
  [
    'cidr IPv4',
    { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
    { detail: { sourceIPAddress: '10.0.0.255' } },
    true,
  ],
  [
    'cidr IPv4: outside',
    { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
    { detail: { sourceIPAddress: '10.0.1.1' } },
    false,
  ],
  [
    'cidr IPv6',
    { detail: { sourceIPAddress: [{ cidr: '2001:db8::/64' }] } },
    { detail: { sourceIPAddress: '2001:db8::ff00:42:8329' } },
    true,
  ],
  [
    'cidr IPv6: outside',
    { detail: { sourceIPAddress: [{ cidr: '2001:db8::/64' }] } },
    { detail: { sourceIPAddress: '2001:db9::1' } },
    false,
  ],
  // Exists
  ['exists true', { detail: { state: [{ exists: true }] } }, ec2Event, true],
  ['exists true: missing', { detail: { 'c-count': [{ exists: true }] } }, ec2Event, false],
  ['exists false', { detail: { 'c-count': [{ exists: false }] } }, ec2Event, true],
  ['exists false: present', { detail: { state: [{ exists: false }] } }, ec2Event, false],
  ['exists only sees leaf nodes', { detail: [{ exists: true }] }, ec2Event, false],
  // Equals-ignore-case
  [
    'equals-ignore-case',
    { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
    ec2Event,
    true,
  ],
  [
    'equals-ignore-case: different',
    { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state change' }] },
    ec2Event,
    false,
  ],
  // Wildcard
  [
    'wildcard',
    { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
    { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/main' },
    true,
  ],
  [
    'wildcard: other region',
    { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
    { EventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/main' },
    false,
  ],
  [
    'wildcard crosses slashes',
    { FilePath: [{ wildcard: 'dir/*.png' }] },
    { FilePath: 'dir/sub/init.png' },
    true,
  ],
  ['wildcard escaped star is literal', { Name: [{ wildcard: 'a\\*b' }] }, { Name: 'axxb' }, false],
  ['wildcard escaped star matches a star', { Name: [{ wildcard: 'a\\*b' }] }, { Name: 'a*b' }, true],
  // $or
  [
    '$or at the top level',
    {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    },
    { source: 'aws.cloudwatch', metricName: 'DiskWrites', namespace: 'AWS/EC2' },
    true,
  ],
  [
    '$or at the top level: neither',
    {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    },
    { source: 'aws.cloudwatch', metricName: 'DiskWrites', namespace: 'AWS/RDS' },
    false,
  ],
  [
    '$or nested with numeric',
    {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    },
    { detail: { 'c-count': 50, 'd-count': 5 } },
    true,
  ],
  [
    '$or nested with numeric: none',
    {
      detail: {
        $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }],
      },
    },
    { detail: { 'c-count': 50, 'd-count': 50 } },
    false,
  ],
  // Nesting
  ['nested object must be an object', { detail: { state: ['x'] } }, { detail: 'flat' }, false],
];

describe('EventBridge pattern matching (documentation examples)', () => {
  it.each(cases)('%s', (_name, pattern, event, expected) => {
    expect(matchesPattern(parsePattern(JSON.stringify(pattern)), event)).toBe(expected);
  });
});

describe('InvalidEventPatternException', () => {
  it.each([
    ['not JSON', '{"source": '],
    ['a leaf that is not an array', '{"source": "aws.ec2"}'],
    ['an empty array', '{"source": []}'],
    ['an unknown operator', '{"source": [{"startsWith": "aws"}]}'],
    ['prefix with a number', '{"source": [{"prefix": 1}]}'],
    ['exists that is not a boolean', '{"source": [{"exists": "yes"}]}'],
    ['numeric with a bad operator', '{"n": [{"numeric": ["!=", 1]}]}'],
    ['numeric with bottom above top', '{"n": [{"numeric": [">", 10, "<", 5]}]}'],
    ['numeric out of range', '{"n": [{"numeric": [">", 6e9]}]}'],
    ['consecutive wildcards', '{"n": [{"wildcard": "a**b"}]}'],
    ['a malformed cidr', '{"ip": [{"cidr": "10.0.0.0"}]}'],
    ['$or with one alternative', '{"$or": [{"a": ["b"]}]}'],
    ['anything-but mixing types', '{"s": [{"anything-but": ["a", 1]}]}'],
    ['anything-but with an unknown operator', '{"s": [{"anything-but": {"contains": "a"}}]}'],
    ['two operators in one matcher', '{"s": [{"prefix": "a", "suffix": "b"}]}'],
  ])('refuses %s', (_name, text) => {
    expect(() => parsePattern(text)).toThrow(InvalidEventPatternError);
  });
});
