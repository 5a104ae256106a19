# The flake's outputs, evaluated with a stand-in for nixpkgs (the vendored
# nixpkgs lib, a `callPackage` that yields the locally built dm-dns). `nix-build nix/tests/flake.nix
# --arg packageDir ... -A checks` builds the flake's golden checks as `nix
# flake check` would, `-A dm-dns-zone` what `nix build .#dm-dns-zone` builds;
# `-A expectations` evaluates the output structure.
{ packageDir, vendor }:
let
  system = builtins.currentSystem;
  local = import ./local-package.nix { inherit packageDir; };
  dm-dns = {
    outPath = "${local}";
    inherit system;
  };
  lib = import (vendor + "/nixpkgs-lib/lib");
  stubPkgs = hostSystem: {
    stdenv.hostPlatform = {
      system = hostSystem;
      isLinux = lib.hasSuffix "-linux" hostSystem;
    };
    callPackage = _path: _args: dm-dns;
    nixfmt = "nixfmt";
    mkShell = attrs: attrs;
    testers.runNixOSTest = test: test;
    writeShellApplication = a: a;
    dig = "dig";
  };
  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs [
      "x86_64-linux"
      "aarch64-linux"
      "x86_64-darwin"
      "aarch64-darwin"
    ] stubPkgs;
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
      "golden-declared"
      "golden-empty"
      "golden-example"
      "golden-nix-data"
      "golden-projected-example-com"
      "vm"
    ])
    (expect "packages" (builtins.attrNames self.packages.${system}) [ "default" "dm-dns" "dm-dns-zone" ])
    (expect "darwin deployers get the package" (builtins.attrNames self.packages) [
      "aarch64-darwin"
      "aarch64-linux"
      "x86_64-darwin"
      "x86_64-linux"
    ])
    (expect "no VM test on darwin" (self.checks.aarch64-darwin ? vm) false)
    (expect "the example zone is built by dm-dns" self.packages.${system}.dm-dns-zone.builder "${local}/bin/dm-dns")
    (expect "nixosModules" (builtins.attrNames self.nixosModules) [ "default" "dm-dns" ])
    (expect "the NixOS module dedups by key" self.nixosModules.default.key "dm-dns/nix/modules/nixos.nix")
    (expect "clan module" (builtins.isFunction self.clan.modules.dm-dns) true)
    (expect "lib" (self.lib.zone ? mkZone && self.lib.exports ? projectExports) true)
    (expect "vm test nodes" (builtins.attrNames checks.vm.nodes) [ "client" "push" "upstream" ])
    (expect "formatter" self.formatter.${system} "nixfmt")
  ];
}
