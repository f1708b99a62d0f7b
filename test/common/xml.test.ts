// The one XML module: one parser configuration, one escape, one entity decoder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEntities, escapeXml, hasDtd, orderedXmlParser, xmlBuilder, xmlParser, xmlProblem } from '../../src/common/xml.js';

test('escape and decode are inverses, for text and attribute values', () => {
  const s = `a&b <c> "d" 'e' &amp;`;
  assert.equal(escapeXml(s), 'a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos; &amp;amp;');
  assert.equal(decodeEntities(escapeXml(s)), s);
  assert.equal(decodeEntities('&#39;&#x41;&lt;&bogus;'), "'A<&bogus;");
  assert.equal(decodeEntities('&#x110000;'), '&#x110000;');
});

test('the parser: entities not expanded, repeated tags as arrays, values as strings', () => {
  const p = xmlParser(['disk']);
  const doc = p.parse("<domain type='kvm'><vcpu>02</vcpu><devices><disk type='file'><source file='/a&amp;b'/></disk></devices></domain>") as Record<string, Record<string, unknown>>;
  const domain = doc['domain'] ?? {};
  assert.equal(domain['@_type'], 'kvm');
  assert.equal(domain['vcpu'], '02');
  const disks = (domain['devices'] as Record<string, unknown>)['disk'] as Array<Record<string, Record<string, string>>>;
  assert.equal(disks.length, 1);
  assert.equal(disks[0]?.['source']?.['@_file'], '/a&amp;b');
});

test('DTDs refused, broken XML located, an ordered tree written back as it was', () => {
  assert.ok(hasDtd('<!DOCTYPE x [<!ENTITY a "b">]><x/>'));
  assert.equal(hasDtd('<domain/>'), false);
  assert.equal(xmlProblem('<a>\n<b></a>')?.line, 2);
  assert.equal(xmlProblem('<a/>'), undefined);
  const xml = "<domain>\n  <!-- kept -->\n  <name>x &amp; y</name>\n</domain>";
  assert.equal(xmlBuilder().build(orderedXmlParser().parse(xml)), xml.replace(/'/g, '"'));
});
