# dm-dns Nix library: the logic behind the flake, the NixOS module and the
# clan service, one file per topic. Builtins only, so it evaluates (and is
# tested, see nix/tests/run.sh) with plain `nix-instantiate`, without nixpkgs.
let
  strings = import ./strings.nix;
  projection = import ./exports.nix { inherit strings; };
  zone = import ./zone.nix { inherit strings projection; };
  keys = import ./keys.nix { inherit strings; };
  node = import ./node.nix { inherit strings; };
  webserver = import ./webserver.nix;
in
projection // zone // keys // node // webserver // { inherit (strings) hasSuffix; }
