namespace RegistryPolicy.Suites;

/// <summary>The JSON Schema of <c>RegistryPolicyTest</c> documents (kept equal to docs/registrypolicytest.schema.json by a test).</summary>
internal static class TestDocumentSchema
{
    public const string Text = """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "$id": "https://registrypolicy.dev/schemas/registrypolicytest.schema.json",
          "title": "RegistryPolicyTest",
          "description": "A test suite for a registry policy: inputs, optional changes, and the outcomes expected. Run it with 'registry-policy test'.",
          "type": "object",
          "additionalProperties": false,
          "required": ["apiVersion", "kind", "metadata", "spec"],
          "properties": {
            "apiVersion": {"type": "string", "enum": ["registrypolicy.dev/v1alpha1"]},
            "kind": {"type": "string", "enum": ["RegistryPolicyTest"]},
            "metadata": {
              "type": "object",
              "additionalProperties": false,
              "required": ["name"],
              "properties": {"name": {"type": "string"}, "description": {"type": "string"}}
            },
            "spec": {
              "type": "object",
              "additionalProperties": false,
              "required": ["policy", "tests"],
              "properties": {
                "policy": {
                  "description": "The policy tested: exactly one of a built-in preset or a policy file (relative to this document).",
                  "type": "object",
                  "additionalProperties": false,
                  "minProperties": 1,
                  "maxProperties": 1,
                  "properties": {"preset": {"type": "string"}, "file": {"type": "string"}}
                },
                "inputs": {"$ref": "#/$defs/inputs"},
                "tests": {"type": "array", "items": {"$ref": "#/$defs/test"}}
              }
            }
          },
          "$defs": {
            "inputs": {
              "description": "Objects of the snapshot: files (kubectl get -o yaml|json output, relative to this document) and inline manifests. spec.inputs are shared by every test; a test's own inputs are added after them.",
              "type": "object",
              "additionalProperties": false,
              "properties": {
                "files": {"type": "array", "items": {"type": "string"}},
                "objects": {"type": "array", "items": {"type": "object"}}
              }
            },
            "value": {"type": ["string", "number", "boolean", "null"]},
            "test": {
              "type": "object",
              "description": "One test: 'expect' must name at least one thing to compare.",
              "additionalProperties": false,
              "required": ["name", "expect"],
              "properties": {
                "name": {"type": "string"},
                "inputs": {"$ref": "#/$defs/inputs"},
                "changes": {
                  "description": "Hypothetical changes applied to the inputs, as the items of a change document.",
                  "type": "array",
                  "items": {"type": "object"}
                },
                "view": {"type": "string", "enum": ["converged", "as-is"]},
                "expect": {"$ref": "#/$defs/expect"}
              }
            },
            "expect": {
              "type": "object",
              "minProperties": 1,
              "additionalProperties": false,
              "properties": {
                "namespaces": {
                  "description": "Per namespace, the resolution fields expected; a field not written is not compared; null means absent.",
                  "type": "object",
                  "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                      "source": {"type": "string", "enum": ["none", "default", "namespace", "cluster-wide", "user-managed"]},
                      "secret": {"$ref": "#/$defs/value"},
                      "pushAddress": {"$ref": "#/$defs/value"},
                      "pullAddress": {"$ref": "#/$defs/value"},
                      "registryAddress": {"$ref": "#/$defs/value"},
                      "serverAddress": {"$ref": "#/$defs/value"},
                      "username": {"$ref": "#/$defs/value"},
                      "credentialFingerprint": {"$ref": "#/$defs/value"}
                    }
                  }
                },
                "plan": {
                  "description": "The whole set of propagation actions expected ([] for none).",
                  "type": "array",
                  "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["op", "secret"],
                    "properties": {"op": {"type": "string", "enum": ["create", "update", "delete"]}, "secret": {"type": "string"}}
                  }
                },
                "links": {
                  "description": "The whole set of ServiceAccount links expected ([] for none).",
                  "type": "array",
                  "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["serviceAccount", "secrets"],
                    "properties": {"serviceAccount": {"type": "string"}, "secrets": {"type": "array", "items": {"type": "string"}}}
                  }
                },
                "admission": {
                  "type": "array",
                  "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "object", "expect"],
                    "properties": {
                      "name": {"type": "string"},
                      "object": {"type": "object"},
                      "operation": {"type": "string", "enum": ["CREATE", "UPDATE"]},
                      "namespaceLabels": {"type": "object", "additionalProperties": {"type": "string"}},
                      "expect": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                          "allowed": {"type": "boolean"},
                          "selected": {"type": "boolean"},
                          "statusCode": {"type": "integer"},
                          "patch": {"description": "The whole set of patch operations, each 'op path'.", "type": "array", "items": {"type": "string"}}
                        }
                      }
                    }
                  }
                },
                "pulls": {
                  "type": "array",
                  "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["workload", "container"],
                    "properties": {
                      "workload": {"description": "'Kind namespace/name'.", "type": "string"},
                      "container": {"type": "string"},
                      "pullPolicy": {"$ref": "#/$defs/value"},
                      "pullSecrets": {"type": "array", "items": {"type": "string"}},
                      "credentialKey": {"$ref": "#/$defs/value"},
                      "credentialSecret": {"$ref": "#/$defs/value"},
                      "credentialFingerprint": {"$ref": "#/$defs/value"},
                      "findings": {"description": "The whole set of finding codes of the container.", "type": "array", "items": {"type": "string"}}
                    }
                  }
                },
                "swap": {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["images"],
                  "properties": {
                    "map": {"description": "The imageswap map text.", "type": "string"},
                    "mapFile": {"type": "string"},
                    "mirrorRegistries": {"description": "Palette's MIRROR_REGISTRIES list.", "type": "string"},
                    "dialect": {"type": "string", "enum": ["imageswap", "reference"]},
                    "images": {"type": "object", "additionalProperties": {"type": "string"}}
                  }
                },
                "diagnostics": {"description": "Codes expected among the diagnostics.", "type": "array", "items": {"type": "string"}}
              }
            }
          }
        }
        """;
}
