# Kyma 2.x resolution, as-is view: per namespace, serverless-registry-config, else serverless-registry-config-default.
def b64: if . == null then "" else @base64d end;
(reduce (.items[] | select(.kind == "Secret")) as $s ({}; .[$s.metadata.namespace + "/" + $s.metadata.name] = $s)) as $idx
| ([.items[] | select(.kind == "Namespace") | .metadata.name] + [.items[] | .metadata.namespace // empty]) | unique
| { namespaces: map(. as $ns
    | $idx[$ns + "/serverless-registry-config"] as $o
    | $idx[$ns + "/serverless-registry-config-default"] as $d
    | if $o then
        { namespace: $ns, source: (if $o.metadata.labels["serverless.kyma-project.io/managed-by"] == "user" then "user-managed" else "namespace" end),
          secret: { namespace: $ns, name: "serverless-registry-config" },
          pushAddress: ($o.data.registryAddress | b64), pullAddress: ($o.data.registryAddress | b64),
          registryAddress: ($o.data.registryAddress | b64), serverAddress: ($o.data.serverAddress | b64), username: ($o.data.username | b64) }
      elif $d then
        ($d.data.isInternal | b64) as $internal
        | { namespace: $ns, source: "default", secret: { namespace: $ns, name: "serverless-registry-config-default" },
            pushAddress: (if $internal == "true" then ($d.data.pushRegAddr | b64) else ($d.data.registryAddress | b64) end),
            pullAddress: (if $internal == "true" then ($d.data.pullRegAddr | b64) else ($d.data.registryAddress | b64) end),
            registryAddress: ($d.data.registryAddress | b64), serverAddress: ($d.data.serverAddress | b64), username: ($d.data.username | b64) }
      else { namespace: $ns, source: "none", reason: "docker registry configuration not found" } end) }
