/**
 * Diagnosis harness (not a test): why one policy beats another on a generated trace.
 * Records every node's CPU per sample as the planner sees it, and the moves, then
 * reports SLA episodes (runs of samples above 90 %): how many, how long, the node's
 * use the sample before, and how many samples until the policy first moved a VM off it.
 * Usage: node dist/test/balancer/diag.js KIND SEED [policy,...] [ours-config-json]  (tuning seeds only)
 */
import { oursPolicy, type Level2Config } from '../../src/balancer/level2.js';
import { isPolicyName, policyByName } from '../../src/balancer/policies.js';
import { simulate } from '../../src/balancer/simulator.js';
import { uniformHosts } from '../../src/balancer/trace.js';
import { generateTrace, type TraceKind } from '../../src/balancer/tracegen.js';
import type { Level2Policy, Move } from '../../src/balancer/types.js';

const [kind, seedS, pol, cfgJson] = process.argv.slice(2);
const seed = Number(seedS ?? 7);
if (seed >= 101 && seed <= 110) throw new Error('seeds 101-110 are the holdout');
const cfg = cfgJson ? (JSON.parse(cfgJson) as Partial<Level2Config>) : {};
const trace = generateTrace({ kind: (kind ?? 'onoff') as TraceKind, vms: 200, steps: 720, period: 60, seed });
const hosts = uniformHosts(16, 16, 64);
for (const name of (pol ?? 'sandpiper,ours').split(',').filter(isPolicyName)) {
  const inner: Level2Policy = name === 'ours' ? oursPolicy(cfg) : policyByName(name);
  const util: number[][] = [];
  const moves: Move[][] = [];
  const wrapped: Level2Policy = { ...inner, plan: (i) => {
    util.push(i.hosts.map((h) => h.cpuHistory[h.cpuHistory.length - 1] ?? 0));
    const m = inner.plan(i);
    moves.push(m);
    return m;
  } };
  const m = simulate(trace, hosts, wrapped);
  let episodes = 0;
  let len = 0;
  let pre = 0;
  let delaySum = 0;
  let never = 0;
  const preHist = new Array<number>(6).fill(0);
  const delays = new Array<number>(6).fill(0);
  const lens = new Array<number>(5).fill(0);
  const bands = new Array<number>(5).fill(0); // <0.6, 0.6-0.75, 0.75-0.8, 0.8-0.9, >0.9
  for (let h = 0; h < hosts.length; h++) {
    for (let k = 0; k < util.length; k++) {
      const u = util[k]![h]!;
      bands[u < 0.6 ? 0 : u < 0.75 ? 1 : u < 0.8 ? 2 : u <= 0.9 ? 3 : 4]!++;
      if (u <= 0.9 || (k > 0 && util[k - 1]![h]! > 0.9)) continue;
      episodes++;
      const p = k > 0 ? util[k - 1]![h]! : 0;
      pre += p;
      preHist[p < 0.6 ? 0 : p < 0.7 ? 1 : p < 0.75 ? 2 : p < 0.8 ? 3 : p < 0.85 ? 4 : 5]!++;
      let e = k;
      while (e < util.length && util[e]![h]! > 0.9) e++;
      len += e - k;
      lens[Math.min(4, e - k - 1)]!++;
      let d = -1;
      for (let j = k; j < e; j++) if (moves[j]!.some((mv) => mv.from === hosts[h]!.name)) { d = j - k; break; }
      if (d < 0) never++;
      else { delaySum += d; delays[Math.min(5, d)]!++; }
    }
  }
  const hs = hosts.length * util.length;
  console.log(`${name.padEnd(10)} sla ${m.sla_violation.toFixed(4)} migr ${m.migrations}  episodes ${episodes} mean len ${(len / episodes).toFixed(2)} lens(1..5+) ${lens.join('/')} ` +
    `pre ${(pre / episodes).toFixed(3)} preHist(<.6,.7,.75,.8,.85,>) ${preHist.join('/')}  moved-at-delay(0..5+) ${delays.join('/')} never ${never} ` +
    `mean delay ${(delaySum / Math.max(1, episodes - never)).toFixed(2)}  bands(<.6,.75,.8,.9,>.9) ${bands.map((b) => (b / hs).toFixed(3)).join('/')}`);
}
