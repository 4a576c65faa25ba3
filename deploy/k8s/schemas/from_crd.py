"""A JSON Schema for check-jsonschema from an operator's CustomResourceDefinition (README.md here):

    python deploy/k8s/schemas/from_crd.py CRD.yaml VERSION "SOURCE" > KIND-VERSION.json

The CRD's `openAPIV3Schema` is kept as it is, with two additions: `apiVersion` and `kind` must be
the CRD's, and every object with named properties refuses others (the API server's strict field
validation does; without it a misspelt field would pass) unless the CRD keeps unknown fields."""

import json
import sys

import yaml

COMBINERS = ("allOf", "anyOf", "oneOf")


def strict(schema: dict) -> dict:
    if "properties" in schema and "additionalProperties" not in schema:
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
    for child in schema.get("properties", {}).values():
        strict(child)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            strict(schema[key])
    for key in COMBINERS:
        for child in schema.get(key, []):
            strict(child)
    return schema


def json_schema(crd: dict, version: str, source: str) -> dict:
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = strict(served["schema"]["openAPIV3Schema"])
    schema["properties"]["apiVersion"] = {"type": "string", "enum": [f"{group}/{version}"]}
    schema["properties"]["kind"] = {"type": "string", "enum": [kind]}
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
    return {"$schema": "http://json-schema.org/draft-07/schema#", "$comment": source, **schema}


if __name__ == "__main__":
    path, version, source = sys.argv[1:4]
    with open(path) as file:
        crd = yaml.safe_load(file)
    json.dump(json_schema(crd, version, source), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
