# `nix-build nix/tests/zone.nix --arg packageDir ... --arg fixture ./checks/NAME`
# builds the fixture's zone with lib.mkZone; `-A golden` builds the golden
# check that the flake runs for it.
{ packageDir, fixture }:
let
  lib = import ../lib;
  dm-dns = import ./local-package.nix { inherit packageDir; };
  system = builtins.currentSystem;
in
{
  zone = lib.mkZone ({ inherit dm-dns system; } // lib.readFixture fixture);
  golden = lib.mkGoldenCheck { inherit dm-dns fixture system; };
}
