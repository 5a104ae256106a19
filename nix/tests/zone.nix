# `nix-build nix/tests/zone.nix --arg packageDir ... --arg fixture ./checks/NAME`
# builds the fixture's zone with lib.mkZone; `-A golden` builds the golden
# check that the flake runs for it.
{ packageDir, fixture }:
let
  lib = import ../lib.nix;
  dm-dns = import ./local-package.nix { inherit packageDir; };
  system = builtins.currentSystem;
  exports =
    if builtins.pathExists (fixture + "/exports.json") then
      builtins.fromJSON (builtins.readFile (fixture + "/exports.json"))
    else
      import (fixture + "/exports.nix");
  domain = builtins.head (builtins.match "([^\n]*)\n?" (builtins.readFile (fixture + "/domain")));
in
{
  zone = lib.mkZone { inherit dm-dns domain system exports; };
  golden = lib.mkGoldenCheck { inherit dm-dns fixture system; };
}
