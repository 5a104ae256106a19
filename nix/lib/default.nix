# dm-dns Nix library: the logic behind the flake, the NixOS module and the
# clan service, one attribute set per topic:
#   exports    the projection of the clan's exports (what the zone depends on)
#   zone       the zone derivation, golden checks, the vars generator's inputs
#   keys       keys in data-mesher's forms
#   node       what a node runs: unbound settings, the resolver route, the
#              install units' sandbox, the node's own address records
#   webserver  listen addresses of a machine's internal virtual hosts
# Pure: it needs nixpkgs' `lib` alone, so it evaluates (and is tested, see
# nix/tests/run.sh) with plain `nix-instantiate` and no package set.
{ lib }:
let
  text = import ./text.nix { inherit lib; };
  exports = import ./exports.nix { inherit lib text; };
in
{
  inherit exports;
  zone = import ./zone.nix {
    inherit text;
    projection = exports;
  };
  keys = import ./keys.nix { inherit text; };
  node = import ./node.nix { inherit lib; };
  webserver = import ./webserver.nix;
}
