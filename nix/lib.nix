# dm-dns Nix library: the logic behind the flake, the NixOS module and the
# clan service. Pure builtins only, so it evaluates (and is tested) with plain
# `nix-instantiate`, without nixpkgs.
let
  inherit (builtins)
    attrNames
    concatStringsSep
    filter
    isAttrs
    listToAttrs
    mapAttrs
    substring
    stringLength
    ;

  hasSuffix =
    suffix: s:
    let
      n = stringLength suffix;
      m = stringLength s;
    in
    m >= n && substring (m - n) n s == suffix;

  concatMap = f: list: builtins.concatLists (map f list);

  # The text without surrounding white space.
  trim = text: builtins.head (builtins.match "[[:space:]]*([^[:space:]]*)[[:space:]]*" text);

  # Unbound's boolean settings are the words yes/no.
  yesNo = b: if b then "yes" else "no";
in
rec {
  # --- Exports -------------------------------------------------------------

  # The hosts a scope's exports publish: `endpoints.hosts` of raw exports, or
  # `hosts` of already projected ones (as `dm-dns zone` reads both). Forces
  # the value and those lists and nothing else: other export types (a
  # dataMesher key that is not generated yet, say) may throw without breaking
  # the zone.
  hostsOf =
    value:
    let
      listOr = set: if isAttrs set && set ? hosts && set.hosts != null then set.hosts else [ ];
    in
    if isAttrs value then listOr value ++ (if value ? endpoints then listOr value.endpoints else [ ]) else [ ];

  # { "<scope>" = { endpoints.hosts = [ ... ]; ... }; } -> { "<scope>" = { hosts = [ ... ]; }; }
  projectExports = exports: mapAttrs (_scope: value: { hosts = hostsOf value; }) exports;

  # The projected exports as a store file, the zone build's only input. Its
  # path depends on the exports alone (not on a machine or system), so every
  # machine of a clan shares one. Host names carry no store references.
  writeExportsFile =
    exports:
    builtins.toFile "dm-dns-exports.json" (
      builtins.unsafeDiscardStringContext (builtins.toJSON (projectExports exports))
    );

  # --- The zone derivation -------------------------------------------------

  # The zone as a derivation whose builder is the dm-dns binary itself: no
  # shell, no coreutils. `$out` holds zone.conf, zone.db and manifest.json.
  # Pass `exports` or, to share the projection between machines, a ready
  # `exportsFile` from `writeExportsFile`.
  mkZone =
    {
      dm-dns,
      domain,
      exports ? null,
      exportsFile ? null,
      system ? dm-dns.system,
      name ? "dm-dns-zone",
    }:
    let
      input =
        if exportsFile != null then
          exportsFile
        else if exports != null then
          writeExportsFile exports
        else
          throw "dm-dns mkZone: pass `exports` (the clan's exports) or `exportsFile`";
    in
    derivation {
      inherit name system;
      builder = "${dm-dns}/bin/dm-dns";
      args = [
        "zone"
        "--exports"
        input
        "--domain"
        domain
        "--out"
        (builtins.placeholder "out")
      ];
    };

  # A golden fixture's input: `{ exports; domain; }` from `exports.json` or
  # `exports.nix` and the `domain` file.
  readFixture = fixture: {
    exports =
      if builtins.pathExists (fixture + "/exports.json") then
        builtins.fromJSON (builtins.readFile (fixture + "/exports.json"))
      else
        import (fixture + "/exports.nix");
    domain = trim (builtins.readFile (fixture + "/domain"));
  };

  # A check that builds the zone of a golden fixture and compares it with the
  # expected files through `dm-dns diff`; the build log shows the diff when
  # they differ. Again the dm-dns binary is the builder.
  mkGoldenCheck =
    {
      dm-dns,
      fixture,
      system ? dm-dns.system,
    }:
    let
      zone = mkZone ({ inherit dm-dns system; } // readFixture fixture);
      expected = builtins.path {
        path = fixture + "/expected";
        name = "dm-dns-expected";
      };
    in
    derivation {
      name = "dm-dns-golden-${baseNameOf (toString fixture)}";
      inherit system;
      builder = "${dm-dns}/bin/dm-dns";
      args = [
        "diff"
        expected
        zone
        "--report"
        (builtins.placeholder "out")
      ];
    };

  # --- Keys ----------------------------------------------------------------

  # data-mesher allowlists take base64 of the raw 32-byte key. An ED25519 SPKI
  # DER is a 12-byte prefix plus the key; 12 bytes are exactly 16 base64
  # characters, so the key's base64 is the rest of the PEM body. Anything not
  # PEM is taken to be that base64 already.
  publicKeyBase64 =
    key:
    let
      lines = filter (l: l != "" && substring 0 5 l != "-----") (
        filter builtins.isString (builtins.split "\n" key)
      );
      body = concatStringsSep "" lines;
    in
    if substring 0 26 key == "-----BEGIN PUBLIC KEY-----" then
      (
        if stringLength body == 60 && substring 0 16 body == "MCowBQYDK2VwAyEA" then
          substring 16 44 body
        else
          throw "dm-dns: the public key is not an ED25519 SPKI PEM key"
      )
    else
      trim key;

  # --- Settings for the NixOS module -----------------------------------------

  # Names below `domain` from a NixOS `networking.hosts` attrset.
  hostsUnderDomain =
    domain: hosts:
    let
      keep = names: filter (n: hasSuffix ".${domain}" n || hasSuffix ".${domain}." n) names;
      kept = mapAttrs (_addr: keep) hosts;
    in
    listToAttrs (
      map (addr: {
        name = addr;
        value = kept.${addr};
      }) (filter (addr: kept.${addr} != [ ]) (attrNames kept))
    );

  # unbound `server:`, `auth-zone:` and `forward-zone:` settings (the NixOS
  # unbound module's `settings` shape).
  unboundSettings =
    {
      domain,
      port ? 5353,
      zoneFile,
      forwardTo ? "127.0.0.53@53",
    }:
    {
      server = {
        inherit port;
        interface = [ "127.0.0.1" ];
        access-control = [ "127.0.0.0/8 allow" ];
        do-not-query-localhost = yesNo false;
        domain-insecure = [ "${domain}." ];
      };
      auth-zone = [
        {
          name = "${domain}.";
          zonefile = zoneFile;
          # Answer clients from the zone directly, CNAME and address together.
          for-downstream = yesNo true;
          for-upstream = yesNo true;
          fallback-enabled = yesNo false;
        }
      ];
      forward-zone = [
        {
          name = ".";
          forward-addr = forwardTo;
        }
      ];
    };

  # systemd-resolved: send only the clan domain to unbound.
  resolvedSettings =
    {
      domain,
      port ? 5353,
    }:
    {
      DNS = [ "127.0.0.1:${toString port}#${domain}" ];
      Domains = [ "~${domain}" ];
    };

  # The `dm-dns install` command line a node runs.
  installArgs =
    {
      meshFile,
      trustedKeys,
      domain,
      hostsFile,
      zoneFile,
      stateDir,
      unboundControl,
      reload ? true,
    }:
    [
      "install"
      "--mesh-file"
      meshFile
      "--domain"
      domain
      "--hosts"
      hostsFile
      "--zone-file"
      zoneFile
      "--state-dir"
      stateDir
    ]
    ++ concatMap (k: [
      "--trusted-key"
      k
    ]) trustedKeys
    ++ (
      if reload then
        [
          "--unbound-control"
          unboundControl
        ]
      else
        [ "--no-reload" ]
    );

  # Sandboxing for the install units: they run as their own user, may write
  # only the state directory, and reach unbound only through its control
  # socket (mode 0660, group unbound).
  installServiceConfig =
    {
      stateDir,
      user ? "dm-dns",
      supplementaryGroups ? [ ],
    }:
    {
      Type = "oneshot";
      User = user;
      Group = user;
      SupplementaryGroups = [ "unbound" ] ++ supplementaryGroups;
      ReadWritePaths = [ stateDir ];
      UMask = "0022";
      ProtectSystem = "strict";
      ProtectHome = true;
      PrivateTmp = true;
      PrivateDevices = true;
      PrivateNetwork = true;
      NoNewPrivileges = true;
      CapabilityBoundingSet = "";
      RestrictAddressFamilies = [ "AF_UNIX" ];
      RestrictNamespaces = true;
      RestrictSUIDSGID = true;
      LockPersonality = true;
      MemoryDenyWriteExecute = true;
      ProtectKernelTunables = true;
      ProtectKernelModules = true;
      ProtectControlGroups = true;
      ProtectClock = true;
      ProtectHostname = true;
      SystemCallArchitectures = "native";
      SystemCallFilter = [ "@system-service" ];
    };

  # --- vars generators (scripts run by `clan vars generate`) -----------------

  # The shared signing key, in data-mesher's formats.
  signingKeyScript = dmDnsExe: ''
    ${dmDnsExe} keygen \
      --private-key-path "$out/signing.key" \
      --public-key-path "$out/signing.pub"
  '';

  # The zone files, copied from the zone derivation's output.
  zoneScript = zone: ''
    for f in zone.conf zone.db manifest.json; do
      cp ${zone}/$f "$out/$f"
    done
  '';

  # `dm-send-dns`: sign the built zone and hand it to data-mesher.
  sendScript =
    {
      dmDnsExe,
      dataMesherExe,
      zone,
      keyPath,
      networkIdPath,
      meshName ? "dns/cnames",
    }:
    ''
      set -euo pipefail
      key=${keyPath}
      if [ ! -r "$key" ]; then
        echo "dm-send-dns: cannot read the signing key $key (run as root on a push machine)" >&2
        exit 1
      fi
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      ${dmDnsExe} sign --key "$key" --zone ${zone} --out "$tmp/cnames"
      ${dataMesherExe} file update "$tmp/cnames" \
        --network-id "$(cat ${networkIdPath})" \
        --url http://localhost:7331 \
        --key "$key" \
        --name ${meshName}
      echo "dm-send-dns: pushed ${zone} as ${meshName}"
    '';

  # --- Web servers -----------------------------------------------------------

  # Listen addresses for a virtual host serving an internal endpoint: the
  # clan-internal addresses plus loopback, IPv6 in brackets.
  internalListenAddresses =
    addresses:
    map (a: if builtins.match ".*:.*" a != null then "[${a}]" else a) (addresses ++ [ "127.0.0.1" "::1" ]);

  # The machine field of a scope key `service:instance:role:machine`.
  scopeMachine =
    scope:
    let
      fields = filter builtins.isString (builtins.split ":" scope);
    in
    if builtins.length fields == 4 then builtins.elemAt fields 3 else null;

  # Every machine's own exported hosts, `{ <machine> = [ host ... ]; }`.
  # Computed once for a clan; `internalHostsOf` then costs one lookup.
  hostsByMachine =
    exports:
    let
      withMachine = filter (scope: scopeMachine scope != null && scopeMachine scope != "") (
        attrNames exports
      );
    in
    mapAttrs (_machine: scopes: concatMap (scope: hostsOf exports.${scope}) scopes) (
      builtins.groupBy scopeMachine withMachine
    );

  # The internal hosts that `machine` itself exports (its own endpoints).
  internalHostsOf =
    {
      domain,
      machine,
      byMachine,
    }:
    filter (hasSuffix ".${domain}") (byMachine.${machine} or [ ]);

  inherit hasSuffix;
}
