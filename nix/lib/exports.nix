# The clan's exports as dm-dns reads them: the projection to
# `{ <scope> = { hosts = [ ... ]; }; }` and per-machine lookups. Forces
# `endpoints.hosts` and nothing else: other export types (a dataMesher key not
# generated yet, say) may throw without breaking the zone.
{ strings }:
let
  inherit (builtins)
    attrNames
    filter
    isAttrs
    mapAttrs
    ;
in
rec {
  # The hosts of one scope's value: `endpoints.hosts` of raw exports, or
  # `hosts` of already projected ones (`dm-dns zone` reads both).
  hostsOf =
    value:
    let
      listOr = set: if isAttrs set && set ? hosts && set.hosts != null then set.hosts else [ ];
    in
    if isAttrs value then listOr value ++ (if value ? endpoints then listOr value.endpoints else [ ]) else [ ];

  projectExports = exports: mapAttrs (_scope: value: { hosts = hostsOf value; }) exports;

  # The projection as JSON: the zone build's only input, and what the shared
  # vars generator's validation hashes. Host names carry no store references.
  exportsJSON = exports: builtins.unsafeDiscardStringContext (builtins.toJSON (projectExports exports));

  # The projection as a store file. Its path depends on the exports alone (not
  # on a machine or system), so every machine of a clan shares one.
  writeExportsFile = exports: builtins.toFile "dm-dns-exports.json" (exportsJSON exports);

  # The machine field of a scope key `service:instance:role:machine`, or null.
  scopeMachine =
    scope:
    let
      fields = strings.splitColons scope;
    in
    if builtins.length fields == 4 then builtins.elemAt fields 3 else null;

  # Every machine's own exported hosts, `{ <machine> = [ host ... ]; }`,
  # computed once per clan so that each machine's lookup is cheap.
  hostsByMachine =
    exports:
    let
      withMachine = filter (scope: scopeMachine scope != null && scopeMachine scope != "") (
        attrNames exports
      );
    in
    mapAttrs (_machine: scopes: strings.concatMap (scope: hostsOf exports.${scope}) scopes) (
      builtins.groupBy scopeMachine withMachine
    );

  # The internal hosts that `machine` itself exports (its own endpoints).
  internalHostsOf =
    {
      domain,
      machine,
      byMachine,
    }:
    filter (strings.hasSuffix ".${domain}") (byMachine.${machine} or [ ]);
}
