# Evaluation cost of the zone derivation for a synthetic clan (see
# bench/nix_eval_bench.py): `mode` is "one" (one machine), "service" (every
# machine through the clan service, sharing one projection) or "naive" (every
# machine projecting the exports itself, as the reference does).
{
  machines ? 1000,
  endpoints ? 10,
  mode,
}:
let
  lib = import ../nix/lib.nix;
  stub = import ../nix/tests/stub-clan.nix;
  names = builtins.genList (i: "machine-${toString i}") machines;
  exports = builtins.listToAttrs (
    map (m: {
      name = "web:main:server:${m}";
      value = {
        endpoints.hosts = builtins.genList (e: "service${toString e}-${m}.clan") endpoints;
        dataMesher = throw "not forced";
      };
    }) names
  );
  inherit (stub) fakePackage;
  service = import ../nix/modules/clan-service.nix {
    packageFor = _: fakePackage;
    nixosModule = { };
  } {
    clanLib.getPublicValue = args: args.default;
    directory = ./.;
    inherit exports;
  };
  # What a machine's evaluation forces: the zone derivation and the listen
  # restriction of its own endpoints' virtual hosts.
  viaService =
    m:
    let
      module =
        (service.roles.default.perInstance {
          mkExports = e: e;
          machine.name = m;
        }).nixosModule
          {
            inherit (stub) pkgs lib config;
          };
    in
    [
      module.clan.core.vars.generators.dm-dns.validation.zone
      (builtins.attrNames module.services.nginx.virtualHosts.content)
    ];
  # Each machine projecting the exports itself, as the reference does.
  naive =
    _m:
    builtins.unsafeDiscardStringContext
      (lib.mkZone {
        dm-dns = fakePackage;
        domain = "clan";
        inherit exports;
      }).drvPath;
in
{
  one = viaService (builtins.head names);
  service = map viaService names;
  naive = map naive names;
}
.${mode}
