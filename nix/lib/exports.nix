# The clan's exports as dm-dns reads them: the projection to
# `{ <scope> = { hosts = [ ... ]; peers = [ ... ]; priority = N; }; }` and
# per-machine lookups. Forces `endpoints.hosts`, `peer.hosts` and
# `networking.priority` and nothing else: other export types (a dataMesher
# key not generated yet, say) may throw without breaking the zone, and a peer
# address that cannot be evaluated becomes `{ missing = "<why>"; }`, which
# `dm-dns zone` lists as skipped.
{ lib, text }:
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
  # A value that is not a list of strings is never an evaluation error: it
  # becomes a host that names what it is, which `dm-dns zone` refuses with
  # its scope key (host names are validated, never guessed).
  hostsOf =
    value:
    let
      describe = v: "<not a host name: ${builtins.typeOf v}>";
      listOr =
        set:
        if !(isAttrs set && set ? hosts) then
          [ ]
        else
          let
            forced = builtins.tryEval set.hosts;
            hosts = forced.value;
          in
          if !forced.success then
            [ "<not a host name: endpoints.hosts could not be evaluated>" ]
          else if hosts == null then
            [ ]
          # A list of strings, the usual case, is kept as it is: no new list
          # for a large clan's million hosts.
          else if builtins.isList hosts && builtins.all builtins.isString hosts then
            hosts
          else if builtins.isList hosts then
            map (h: if builtins.isString h then h else describe h) hosts
          else
            [ "<not a host name: endpoints.hosts is a ${builtins.typeOf hosts}, not a list>" ];
    in
    if isAttrs value then
      listOr value ++ (if value ? endpoints && isAttrs value.endpoints then listOr value.endpoints else [ ])
    else
      [ ];

  # The addresses of one scope's `peer.hosts` (raw) or `peers` (projected).
  # `readVar` reads a var reference `{ machine; generator; file; flake; }`
  # (null when it is not generated); without one, var references stay
  # unread. Texts of `missing` match what `dm-dns zone` says for raw exports.
  peersOf =
    readVar: value:
    let
      raw = builtins.tryEval (
        if isAttrs value && value ? peer && isAttrs value.peer && value.peer ? hosts then
          value.peer.hosts
        else
          [ ]
      );
      rawList = if builtins.isList raw.value then raw.value else [ raw.value ];
      projected = if isAttrs value && value ? peers then value.peers else [ ];
      evaluated =
        plain:
        let
          result = builtins.tryEval (builtins.deepSeq plain plain);
        in
        if !result.success then
          { missing = "a plain value that could not be evaluated (a var not generated yet?)"; }
        else if builtins.isString result.value then
          text.trim result.value
        else
          { missing = "a plain value that is not a string but a ${builtins.typeOf result.value}"; };
      entry =
        e:
        if builtins.isString e then
          e
        else if isAttrs e && e ? missing then
          e
        else if isAttrs e && e ? plain then
          evaluated e.plain
        else if isAttrs e && e ? var then
          let
            ref = e.var;
            wellFormed =
              isAttrs ref
              && builtins.all (f: ref ? ${f} && builtins.isString ref.${f}) [
                "machine"
                "generator"
                "file"
              ];
            id = "var ${ref.machine}/${ref.generator}/${ref.file}";
            read = builtins.tryEval (readVar ref);
          in
          if !wellFormed then
            { missing = "a var reference without machine, generator and file"; }
          else if readVar == null then
            { missing = "${id}: not read (only the clan service's projection reads vars)"; }
          else if !read.success || read.value == null then
            { missing = "${id}: not generated yet"; }
          else if !builtins.isString read.value then
            { missing = "${id}: not text"; }
          else
            text.trim read.value
        else
          { missing = "a peer.hosts entry of unknown shape"; };
    in
    map entry (if builtins.isList projected then projected else [ projected ])
    ++ (if raw.success then map entry rawList else [ { missing = "peer.hosts could not be evaluated"; } ]);

  # `networking.priority` (raw) or `priority` (projected), or null.
  priorityOf =
    value:
    let
      raw = builtins.tryEval (
        if isAttrs value && value ? networking && isAttrs value.networking then
          value.networking.priority or null
        else
          null
      );
    in
    # a priority that is not a number counts as none
    if isAttrs value && value ? priority then
      (if builtins.isInt value.priority then value.priority else null)
    else if raw.success && builtins.isInt raw.value then
      raw.value
    else
      null;

  projectScopeWith =
    readVar: value:
    let
      peers = peersOf readVar value;
      priority = priorityOf value;
    in
    # Most scopes are endpoints or other services' exports, without peers or
    # a priority: those skip the guarded reads (same result, a third of the
    # projection's time for a large clan).
    if isAttrs value && !(value ? peer || value ? peers || value ? networking || value ? priority) then
      { hosts = hostsOf value; }
    else
      {
        hosts = hostsOf value;
      }
      // (if peers == [ ] then { } else { inherit peers; })
      // (if priority == null then { } else { inherit priority; });

  # `{ readVar ? null }`: see `peersOf`.
  projectExportsWith = { readVar ? null }: mapAttrs (_scope: projectScopeWith readVar);
  projectExports = projectExportsWith { };

  # The projection as JSON: the zone build's only input, and what the shared
  # vars generator's validation hashes. Host names carry no store references.
  exportsJSONWith =
    args: exports:
    builtins.unsafeDiscardStringContext (builtins.toJSON (projectExportsWith args exports));
  exportsJSON = exportsJSONWith { };

  # The projection as a store file. Its path depends on the exports alone (not
  # on a machine or system), so every machine of a clan shares one.
  writeExportsFileWith =
    args: exports: builtins.toFile "dm-dns-exports.json" (exportsJSONWith args exports);
  writeExportsFile = writeExportsFileWith { };

  # The machine field of a scope key `service:instance:role:machine`, or null.
  scopeMachine =
    scope:
    let
      fields = lib.splitString ":" scope;
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
    mapAttrs (_machine: scopes: lib.concatMap (scope: hostsOf exports.${scope}) scopes) (
      builtins.groupBy scopeMachine withMachine
    );

  # The internal hosts that `machine` itself exports (its own endpoints).
  internalHostsOf =
    {
      domain,
      machine,
      byMachine,
    }:
    filter (lib.hasSuffix ".${domain}") (byMachine.${machine} or [ ]);

  # The ZeroTier addresses clan-core's zerotier service exports, per
  # network instance and machine: `{ <instance> = { <machine> = [ ip ]; }; }`
  # (scopes `clan-core/zerotier:<instance>::<machine>`, `peer.hosts` of
  # `{ plain = ip; }`: clanServices/zerotier/default.nix).
  zerotierAddresses =
    exports:
    let
      scopes = filter (scope: lib.hasPrefix "clan-core/zerotier:" scope && scopeMachine scope != "") (
        attrNames exports
      );
      instanceOf = scope: builtins.elemAt (lib.splitString ":" scope) 1;
      plain = scope: filter builtins.isString (map (h: h.plain or null) (exports.${scope}.peer.hosts or [ ]));
    in
    mapAttrs (
      _: inInstance:
      builtins.listToAttrs (
        map (scope: {
          name = scopeMachine scope;
          value = plain scope;
        }) inInstance
      )
    ) (builtins.groupBy instanceOf scopes);
}
