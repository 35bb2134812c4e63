#!/usr/bin/env python3
"""Rebuild scaleway.json: the subset of the provider schema snapshot that
terraform/ uses, plus hand-written entries for hashicorp/random and for
Terraform's built-in terraform_data. Every entry carries a resource-level
"deprecated" flag (tfcheck rejects a deprecated resource or data source, not
only a deprecated argument).

    python3 crates/tfcheck/schema/extract.py /path/to/scaleway-provider/schema.json

Only needed when terraform/ starts using a new resource or data source type
(check 1 then reports it as unknown) or when the pinned provider changes.
"""
import json, pathlib, re, sys

root = pathlib.Path(__file__).resolve().parents[3]
full = json.load(open(sys.argv[1]))
used = {"resources": set(), "data_sources": set()}
for tf in (root / "terraform").rglob("*.tf"):
    text = tf.read_text()
    used["resources"] |= set(re.findall(r'^\s*resource\s+"(scaleway_[a-z0-9_]+)"', text, re.M))
    used["data_sources"] |= set(re.findall(r'^\s*data\s+"(scaleway_[a-z0-9_]+)"', text, re.M))

def arg(typ, required=False, deprecated=False, **kw):
    return dict(required=required, deprecated=deprecated, type=typ, **kw)

keepers = arg("map", element_type="string", force_new=True)
random = {
    "random_password": {
        "arguments": {
            "length": arg("int", required=True),
            "keepers": keepers,
            "special": arg("bool", default=True),
            "upper": arg("bool", default=True),
            "lower": arg("bool", default=True),
            "numeric": arg("bool", default=True),
            "number": arg("bool", deprecated=True),
            "min_upper": arg("int", default=0),
            "min_lower": arg("int", default=0),
            "min_numeric": arg("int", default=0),
            "min_special": arg("int", default=0),
            "override_special": arg("string"),
        },
        "blocks": {},
        "attributes": ["id", "result", "bcrypt_hash"],
        "source": "hand-written (hashicorp/random 3.x)",
    },
    "random_bytes": {
        "arguments": {"length": arg("int", required=True), "keepers": keepers},
        "blocks": {},
        "attributes": ["id", "base64", "hex"],
        "source": "hand-written (hashicorp/random >= 3.5)",
    },
    "random_id": {
        "arguments": {
            "byte_length": arg("int", required=True),
            "prefix": arg("string"),
            "keepers": keepers,
        },
        "blocks": {},
        "attributes": ["id", "b64_std", "b64_url", "hex", "dec"],
        "source": "hand-written (hashicorp/random 3.x)",
    },
}

# Built into Terraform (>= 1.4), not a provider's: replace_triggered_by targets.
builtin = {
    "terraform_data": {
        "arguments": {"input": arg("dynamic"), "triggers_replace": arg("dynamic")},
        "blocks": {},
        "attributes": ["id", "output"],
        "source": "hand-written (terraform built-in)",
    },
}

out = {
    "provider": full["provider"],
    "source_repository": full.get("source_repository"),
    "source_commit": full["source_commit"],
    "note": "Subset of the scaleway/scaleway schema snapshot used by terraform/, plus hashicorp/random entries. Regenerate with extract.py.",
    "resources": {k: full["resources"][k] for k in sorted(used["resources"]) if k in full["resources"]},
    "data_sources": {k: full["data_sources"][k] for k in sorted(used["data_sources"]) if k in full["data_sources"]},
}
out["resources"].update(random)
out["resources"].update(builtin)
for section in ("resources", "data_sources"):
    for entry in out[section].values():
        entry["deprecated"] = bool(entry.get("deprecated", False))
# Every deprecated type of the provider, used or not, so that adding one is
# reported as deprecated rather than as unknown.
out["deprecated_types"] = {
    section: sorted(k for k, v in full[section].items() if v.get("deprecated"))
    for section in ("resources", "data_sources")
}
path = pathlib.Path(__file__).with_name("scaleway.json")
# One line per type: small, and diffs stay readable.
lines = ["{"]
for key in ("provider", "source_repository", "source_commit", "note"):
    lines.append(f" {json.dumps(key)}: {json.dumps(out[key])},")
for section in ("resources", "data_sources"):
    lines.append(f' "{section}": {{')
    items = sorted(out[section].items())
    for i, (name, entry) in enumerate(items):
        comma = "," if i + 1 < len(items) else ""
        lines.append(f"  {json.dumps(name)}: {json.dumps(entry, sort_keys=True, separators=(',', ':'))}{comma}")
    lines.append(" },")
lines.append(f' "deprecated_types": {json.dumps(out["deprecated_types"], sort_keys=True)}')
lines.append("}")
path.write_text("\n".join(lines) + "\n")
print(f"wrote {path}: {len(out['resources'])} resources, {len(out['data_sources'])} data sources")
