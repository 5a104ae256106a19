# The zone of the built-in dm-dns service next to ours, in Nix, for the
# same synthetic clan that bench/zone_bench.py writes as JSON (`machines` x
# `endpoints`, keyed and named the same way). bench/pipeline_bench.py times
# each `mode` with nix-instantiate:
#
#   exports   only forcing the exports (what every mode pays to build them);
#   builtin   the built-in service's zone text: for every scope of every
#             export, clan-core's parseScope for the machine, a filter of the
#             hosts ending in .<domain>, and one interpolated `local-data`
#             string per host, all concatenated (its roles.default module does
#             this in each machine's evaluation; clanServices/dm-dns in
#             clan-core);
#   dm-dns    our zone derivation (zone.mkZone): the projection of the exports
#             to JSON in the store; nix-build of it also runs `dm-dns zone`.
#
# clan-core's own scope parser is used, from the pinned sources.
{
  machines ? 100000,
  endpoints ? 10,
  mode,
  packageDir ? null,
  vendor ? ../../shared/vendor,
}:
let
  lib = import (vendor + "/nixpkgs-lib/lib");
  clanExports = import (vendor + "/clan-core/lib/exports/exports.nix") { inherit lib; };
  domain = "clan";
  names = builtins.genList (m: "machine-${lib.fixedWidthNumber 6 m}") machines;
  exports = builtins.listToAttrs (
    lib.concatMap (n: [
      {
        name = "dm-dns:dm-dns:default:${n}";
        value.dataMesher = null;
      }
      {
        name = "webapps:main:server:${n}";
        value.endpoints.hosts = builtins.genList (s: "service${toString s}-${n}.${domain}") endpoints;
      }
    ]) names
  );
  builtinZone =
    let
      internal = host: lib.hasSuffix ".${domain}" host;
      lines = lib.concatLists (
        lib.mapAttrsToList (
          key: value:
          let
            machine = (clanExports.parseScope key).machineName;
          in
          map (
            host: ''local-data: "${lib.removeSuffix ".${domain}" host}.${domain}. CNAME ${machine}.${domain}."''
          ) (builtins.filter internal (value.endpoints.hosts or [ ]))
        ) (clanExports.selectExports (_: true) exports)
      );
    in
    lib.concatStringsSep "\n" ([ ''local-zone: "${domain}." transparent'' ] ++ lines);
  dm-dns = import ../nix/tests/local-package.nix { inherit packageDir; };
  dm = import ../nix/lib { inherit lib; };
in
{
  exports = builtins.deepSeq exports (builtins.length (builtins.attrNames exports));
  builtin = builtins.stringLength builtinZone;
  json = builtins.stringLength (dm.exports.exportsJSON exports);
  dm-dns = dm.zone.mkZone {
    inherit dm-dns domain exports;
    system = builtins.currentSystem;
  };
}
.${mode}
