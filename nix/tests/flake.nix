# The flake's outputs, evaluated with a stand-in for nixpkgs whose
# `callPackage` yields the locally built dm-dns. `nix-build nix/tests/flake.nix
# --arg packageDir ... -A checks` builds the flake's golden checks as `nix
# flake check` would, `-A dm-dns-zone` what `nix build .#dm-dns-zone` builds;
# `-A expectations` evaluates the output structure.
{ packageDir }:
let
  system = builtins.currentSystem;
  local = import ./local-package.nix { inherit packageDir; };
  dm-dns = {
    outPath = "${local}";
    inherit system;
  };
  stubLib = (import ./stub-clan.nix).lib // {
    inherit (builtins) listToAttrs;
    filterAttrs =
      pred: set:
      builtins.listToAttrs (
        map (name: {
          inherit name;
          value = set.${name};
        }) (builtins.filter (name: pred name set.${name}) (builtins.attrNames set))
      );
  };
  stubPkgs = {
    stdenv.hostPlatform.system = system;
    callPackage = _path: _args: dm-dns;
    nixfmt = "nixfmt";
    mkShell = attrs: attrs;
    testers.runNixOSTest = test: test;
    writeShellApplication = a: a;
    dig = "dig";
  };
  nixpkgs = {
    lib = stubLib;
    legacyPackages = stubLib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (_: stubPkgs);
  };
  self = (import ../../flake.nix).outputs { inherit self nixpkgs; };
  checks = self.checks.${system};
  expect =
    name: actual: expected:
    if actual == expected then name else throw "FAILED ${name}: got ${builtins.toJSON actual}";
in
{
  checks = builtins.removeAttrs checks [ "dm-dns" "vm" ];
  dm-dns-zone = self.packages.${system}.dm-dns-zone;
  expectations = [
    (expect "checks" (builtins.attrNames checks) [
      "dm-dns"
      "golden-empty"
      "golden-example"
      "golden-nix-data"
      "golden-projected-example-com"
      "vm"
    ])
    (expect "packages" (builtins.attrNames self.packages.${system}) [ "default" "dm-dns" "dm-dns-zone" ])
    (expect "the example zone is built by dm-dns" self.packages.${system}.dm-dns-zone.builder "${local}/bin/dm-dns")
    (expect "nixosModules" (builtins.attrNames self.nixosModules) [ "default" "dm-dns" ])
    (expect "clan module" (builtins.isFunction self.clan.modules.dm-dns) true)
    (expect "lib" (self.lib ? mkZone && self.lib ? projectExports) true)
    (expect "vm test nodes" (builtins.attrNames checks.vm.nodes) [ "client" "push" ])
    (expect "formatter" self.formatter.${system} "nixfmt")
  ];
}
