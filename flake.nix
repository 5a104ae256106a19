{
  description = "dm-dns: distributed DNS for clan networks";

  inputs.nixpkgs.url = "https://nixos.org/channels/nixpkgs-unstable/nixexprs.tar.xz";

  outputs =
    { self, nixpkgs }:
    let
      # darwin too: a darwin deployer builds dm-dns for `clan vars generate`.
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      dmLib = import ./nix/lib { inherit (nixpkgs) lib; };
      fixtures = builtins.attrNames (
        nixpkgs.lib.filterAttrs (_: type: type == "directory") (builtins.readDir ./checks)
      );
    in
    {
      lib = dmLib;

      packages = forAllSystems (pkgs: {
        dm-dns = pkgs.callPackage ./nix/package.nix { };
        default = self.packages.${pkgs.stdenv.hostPlatform.system}.dm-dns;
        # The example clan's zone: `nix build .#dm-dns-zone`.
        dm-dns-zone = dmLib.zone.mkZone {
          dm-dns = self.packages.${pkgs.stdenv.hostPlatform.system}.dm-dns;
          domain = "clan";
          exports = builtins.fromJSON (builtins.readFile ./examples/clan-exports.json);
        };
      });

      nixosModules.dm-dns = import ./nix/modules/nixos.nix { };
      nixosModules.default = self.nixosModules.dm-dns;

      # What clan resolves for `module.input = "dm-dns"; module.name = "dm-dns";`.
      clan.modules.dm-dns = import ./nix/clan-service {
        packageFor = system: self.packages.${system}.dm-dns;
        nixosModule = self.nixosModules.dm-dns;
      };

      checks = forAllSystems (
        pkgs:
        let
          dm-dns = self.packages.${pkgs.stdenv.hostPlatform.system}.dm-dns;
          golden = nixpkgs.lib.listToAttrs (
            map (name: {
              name = "golden-${name}";
              value = dmLib.zone.mkGoldenCheck {
                inherit dm-dns;
                fixture = ./checks + "/${name}";
              };
            }) fixtures
          );
        in
        golden
        // {
          inherit dm-dns;
        }
        // nixpkgs.lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
          vm = import ./nix/tests/vm.nix {
            inherit pkgs dm-dns;
            nixosModule = self.nixosModules.dm-dns;
          };
        }
      );

      formatter = forAllSystems (pkgs: pkgs.nixfmt);

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            cargo
            rustc
            clippy
            rustfmt
            unbound
            knot-dns # knotd, knotc
            dnsutils
            bind # named-checkzone
            dnsperf
            jq
            shellcheck
            python3 # bench/
          ];
        };
      });
    };
}
