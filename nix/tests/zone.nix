# `nix-build nix/tests/zone.nix --arg packageDir ... --arg fixture ./checks/NAME`
# builds the fixture's zone with zone.mkZone; `-A golden` builds the golden
# check that the flake runs for it.
{
  packageDir,
  fixture,
  vendor,
}:
let
  dm = import ../lib { lib = import (vendor + "/nixpkgs-lib/lib"); };
  dm-dns = import ./local-package.nix { inherit packageDir; };
  system = builtins.currentSystem;
in
{
  zone = dm.zone.mkZone ({ inherit dm-dns system; } // dm.zone.readFixture fixture);
  golden = dm.zone.mkGoldenCheck { inherit dm-dns fixture system; };
}
