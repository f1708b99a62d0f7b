"""Parses Prometheus text format from stdin with prometheus_client's own parser; prints JSON
{family: {"type": t, "samples": [{"name", "labels", "value"}]}}."""
import json, sys
from prometheus_client.parser import text_string_to_metric_families

out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    out[fam.name] = {'type': fam.type, 'samples': [{'name': s.name, 'labels': s.labels, 'value': s.value} for s in fam.samples]}
print(json.dumps(out))
