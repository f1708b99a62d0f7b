/** Trace and hosts parsing: good input, and bad input rejected with the line named. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TraceError, parseHostsFile, parseTrace, traceToCsv, uniformHosts } from '../../src/balancer/trace.js';
import { generateTrace } from '../../src/balancer/tracegen.js';

test('a trace parses onto a time grid, missing samples carried forward', () => {
  const t = parseTrace('time,vm,cpu,mem\n0,a,1.5,1024\n0,b,0.5,512\n60,a,2,1024\n120,a,1,1000\n120,b,0.25,600\n', 'x.csv');
  assert.deepEqual(t.times, [0, 60, 120]);
  assert.equal(t.period, 60);
  const b = t.vms.find((v) => v.name === 'b');
  assert.deepEqual([...(b?.cpu ?? [])], [0.5, 0.5, 0.25]);
  assert.deepEqual([...(b?.mem ?? [])], [512, 512, 600]);
});

test('the optional net column is read', () => {
  const t = parseTrace('time,vm,cpu,mem,net\n0,a,1,100,35.5\n10,a,1,100,40\n');
  assert.deepEqual([...(t.vms[0]?.net ?? [])], [35.5, 40]);
});

test('malformed traces name the line', () => {
  const cases: Array<[string, RegExp]> = [
    ['time,vm,cpu\n0,a,1\n', /line 1: header/],
    ['time,vm,cpu,mem\n0,a,1,100\n60,a,x,100\n', /t line 3: cpu 'x' is not a number/],
    ['time,vm,cpu,mem\n0,a,1,100\n\n60,a,1\n', /t line 4: expected 4 fields, got 3/],
    ['time,vm,cpu,mem\n0,a,-1,100\n', /t line 2: cpu -1 is negative/],
    ['time,vm,cpu,mem\n0,,1,100\n', /t line 2: empty vm name/],
    ['time,vm,cpu,mem\n', /no samples/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseTrace(text, 't'), (e: unknown) => e instanceof TraceError && re.test(e.message), text);
});

test('hosts files: good and bad', () => {
  assert.deepEqual(parseHostsFile('name,cores,mem_gib\nn1,8,32\nn2,16,64\n'), [
    { name: 'n1', cores: 8, memMiB: 32768 },
    { name: 'n2', cores: 16, memMiB: 65536 },
  ]);
  assert.throws(() => parseHostsFile('name,cores\nn1,8\n', 'h'), /h line 1: header/);
  assert.throws(() => parseHostsFile('name,cores,mem_gib\nn1,8,32\nn1,8,32\n', 'h'), /h line 3: empty or repeated/);
  assert.throws(() => parseHostsFile('name,cores,mem_gib\nn1,0,32\n', 'h'), /h line 2: cores and mem_gib must be positive/);
  assert.equal(uniformHosts(3, 4, 8).length, 3);
});

test('the generator repeats with a seed, differs without, and round-trips through CSV', () => {
  const a = generateTrace({ kind: 'mix', vms: 20, steps: 50, seed: 3 });
  const b = generateTrace({ kind: 'mix', vms: 20, steps: 50, seed: 3 });
  const c = generateTrace({ kind: 'mix', vms: 20, steps: 50, seed: 4 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.vms.map((v) => [...v.cpu]), c.vms.map((v) => [...v.cpu]));
  const back = parseTrace(traceToCsv(a));
  assert.equal(back.vms.length, 20);
  assert.equal(back.times.length, 50);
  for (const v of a.vms) {
    const w = back.vms.find((x) => x.name === v.name);
    assert.ok(w);
    for (let k = 0; k < 50; k++) assert.ok(Math.abs((v.cpu[k] as number) - (w.cpu[k] as number)) < 1e-3);
  }
  for (const kind of ['diurnal', 'bursty', 'ramp', 'onoff'] as const) {
    const t = generateTrace({ kind, vms: 5, steps: 100, seed: 1 });
    assert.ok(t.vms.every((v) => [...v.cpu].every((x) => x >= 0 && x <= 4)), kind);
  }
});
