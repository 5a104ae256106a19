# Evaluation cost of the zone derivation for a synthetic clan (see
# bench/nix_eval_bench.py): `mode` is "one" (one machine), "service" (every
# machine through the clan service, sharing one projection) or "naive" (every
# machine projecting the exports itself, as the built-in service does).
{
  machines ? 1000,
  endpoints ? 10,
  mode,
  vendor ? ../../shared/vendor,
}:
let
  nixpkgsLib = import (vendor + "/nixpkgs-lib/lib");
  dm = import ../nix/lib { lib = nixpkgsLib; };
  fakePackage = {
    outPath = "/nix/store/0000000000000000000000000000000a-dm-dns-0.1.0";
    system = "x86_64-linux";
  };
  pkgs.stdenv.hostPlatform.system = "x86_64-linux";
  config.clan.core = {
    settings.domain = "clan";
    networking.internalListenAddresses = [ "10.0.0.1" ];
  };
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
  service = import ../nix/clan-service {
    packageFor = _: fakePackage;
    nixosModule = { };
  } {
    lib = nixpkgsLib;
    clanLib.getPublicValue = args: args.default;
    directory = ./.;
    inherit exports;
  };
  # What a machine's evaluation forces: the zone derivation and the shared
  # generator's validation.
  viaService =
    m:
    let
      module =
        (service.roles.default.perInstance {
          instanceName = "dm-dns";
          mkExports = e: e;
          machine.name = m;
          settings.networks = null;
          roles.default.machines = { };
        }).nixosModule
          {
            inherit pkgs config;
            lib = nixpkgsLib;
          };
    in
    [
      (builtins.unsafeDiscardStringContext module.config.services.dm-dns.zone.drvPath)
      module.config.clan.core.vars.generators.dm-dns.validation
    ];
  # Each machine projecting the exports itself, as the built-in service does.
  naive =
    _m:
    builtins.unsafeDiscardStringContext
      (dm.zone.mkZone {
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
