# nix-unit shaped tests of webserver.nix (run by nix/tests/run.sh).
{ vendor }:
let
  dm = import ./. { lib = import (vendor + "/nixpkgs-lib/lib"); };
in
{
  test_listen_addresses_ipv6_bracketed_loopback_added = {
    expr = dm.webserver.internalListenAddresses [
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
    expr = dm.webserver.internalListenAddresses [ ];
    expected = [ ];
  };
}
