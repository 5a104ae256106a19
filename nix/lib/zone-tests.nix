# nix-unit shaped tests of zone.nix (run by nix/tests/run.sh).
{ vendor, fakePackage }:
let
  dm = import ./. { lib = import (vendor + "/nixpkgs-lib/lib"); };
  exports = {
    "music:main:server:alpha".endpoints.hosts = [ "music.clan" ];
    "web:::" = null;
  };
  sameExportsOtherOrder = {
    "web:::" = null;
    "music:main:server:alpha" = {
      dataMesher = throw "never forced";
      endpoints.hosts = [ "music.clan" ];
    };
  };
  zoneOf =
    e: d:
    dm.zone.mkZone {
      dm-dns = fakePackage;
      domain = d;
      exports = e;
    };
  validationOf =
    e: d:
    dm.zone.zoneValidation {
      domain = d;
      exportsJSON = dm.exports.exportsJSON e;
    };
in
{
  test_same_exports_same_derivation = {
    expr = (zoneOf exports "clan").drvPath;
    expected = (zoneOf sameExportsOtherOrder "clan").drvPath;
  };
  test_another_domain_another_derivation = {
    expr = (zoneOf exports "clan").drvPath == (zoneOf exports "example.com").drvPath;
    expected = false;
  };
  test_shared_exports_file_same_derivation = {
    expr =
      (dm.zone.mkZone {
        dm-dns = fakePackage;
        domain = "clan";
        exportsFile = dm.exports.writeExportsFile sameExportsOtherOrder;
      }).drvPath;
    expected = (zoneOf exports "clan").drvPath;
  };
  test_networks_reach_the_build_and_the_validation = {
    expr = {
      lastArgs =
        let
          args =
            (dm.zone.mkZone {
              dm-dns = fakePackage;
              domain = "clan";
              inherit exports;
              networks = [
                "yggdrasil"
                "mycelium"
              ];
            }).args;
          n = builtins.length args;
        in
        [
          (builtins.elemAt args (n - 2))
          (builtins.elemAt args (n - 1))
        ];
      validation =
        (dm.zone.zoneValidation {
          domain = "clan";
          exportsJSON = "{}";
          networks = [ "yggdrasil" ];
        }).networks;
      byPriority = (zoneOf exports "clan").args == (zoneOf exports "clan").args ++ dm.zone.networksArgs null;
    };
    expected = {
      lastArgs = [
        "--networks"
        "yggdrasil,mycelium"
      ];
      validation = "yggdrasil";
      byPriority = true;
    };
  };
  test_builder_is_dm_dns_itself = {
    expr = (zoneOf exports "clan").builder;
    expected = "${fakePackage}/bin/dm-dns";
  };
  test_build_runs_dm_dns_zone = {
    expr = builtins.head (zoneOf exports "clan").args;
    expected = "zone";
  };
  test_mkZone_without_exports_is_an_error = {
    expr = (dm.zone.mkZone {
      dm-dns = fakePackage;
      domain = "clan";
    }).drvPath;
    expectedError.type = "ThrownError";
  };
  test_validation_holds_no_store_path_or_system = {
    expr = validationOf exports "clan";
    expected = {
      domain = "clan";
      format = 5;
      exports = builtins.hashString "sha256" ''{"music:main:server:alpha":{"hosts":["music.clan"]},"web:::":{"hosts":[]}}'';
    };
  };
  test_validation_follows_the_exports_not_their_order = {
    expr = validationOf sameExportsOtherOrder "clan";
    expected = validationOf exports "clan";
  };
  test_validation_follows_the_domain = {
    expr = validationOf exports "clan" == validationOf exports "example.com";
    expected = false;
  };
  test_zone_format_is_the_manifest_format = {
    expr = dm.zone.zoneFormat;
    expected = (builtins.fromJSON (builtins.readFile ../../checks/example/expected/manifest.json)).format;
  };
}
