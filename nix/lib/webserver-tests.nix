# nix-unit shaped tests of webserver.nix (run by nix/tests/run.sh).
let
  lib = import ./.;
in
{
  test_listen_addresses_ipv6_bracketed_loopback_added = {
    expr = lib.internalListenAddresses [
      "10.0.0.1"
      "fd00::1"
    ];
    expected = [
      "10.0.0.1"
      "[fd00::1]"
      "127.0.0.1"
      "[::1]"
    ];
  };
  test_no_internal_addresses_no_restriction = {
    expr = lib.internalListenAddresses [ ];
    expected = [ ];
  };
}
