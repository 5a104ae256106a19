# nix-unit shaped tests of node.nix (run by nix/tests/run.sh).
{ vendor }:
let
  dm = import ./. { lib = import (vendor + "/nixpkgs-lib/lib"); };
  settings = dm.node.unboundSettings {
    domain = "clan";
    port = 5335;
    zoneFile = "/var/lib/dm-dns/zone/clan.zone";
  };
in
{
  test_auth_zone_answers_cname_and_address = {
    expr = builtins.head settings.auth-zone;
    expected = {
      name = "clan.";
      zonefile = "/var/lib/dm-dns/zone/clan.zone";
      for-downstream = "yes";
      for-upstream = "yes";
      fallback-enabled = "no";
    };
  };
  test_unbound_answers_only_the_clan_zone = {
    expr = settings.server.local-zone;
    expected = [
      ''"." refuse''
      ''"clan." transparent''
    ];
  };
  test_unbound_forwards_nothing = {
    expr = settings ? forward-zone;
    expected = false;
  };
  test_without_only_zone_no_local_zones = {
    expr =
      (dm.node.unboundSettings {
        domain = "clan";
        port = 5335;
        zoneFile = "/z";
        onlyZone = false;
      }).server ? local-zone;
    expected = false;
  };
  test_knot_stub_zone_replaces_the_auth_zone = {
    expr =
      let
        knot = dm.node.unboundSettings {
          domain = "clan";
          port = 5335;
          zoneFile = "/z";
          knotPort = 5336;
        };
      in
      {
        inherit (knot) stub-zone;
        auth = knot ? auth-zone;
        localhost = knot.server.do-not-query-localhost;
      };
    expected = {
      stub-zone = [
        {
          name = "clan.";
          stub-addr = [ "127.0.0.1@5336" ];
          stub-no-cache = "yes";
        }
      ];
      auth = false;
      localhost = "no";
    };
  };
  test_knot_never_writes_the_zone_file = {
    expr =
      let
        text = dm.node.knotConfig {
          domain = "clan";
          port = 5336;
          zoneFile = "/var/lib/dm-dns/zone/clan.zone";
          runDir = "/run/dm-dns-knot";
          stateDir = "/var/lib/dm-dns-knot";
        };
        has = line: builtins.match ".*\n *${line}\n.*" text != null;
      in
      # The lines missing from the configuration.
      builtins.filter (line: !has line) [
        "listen: 127.0.0.1@5336"
        "listen: \"/run/dm-dns-knot/knot.sock\""
        "zonefile-sync: -1"
        "journal-content: none"
        "- domain: clan."
        "file: \"/var/lib/dm-dns/zone/clan.zone\""
      ];
    expected = [ ];
  };
  test_resolved_delegate_routes_only_the_domain = {
    expr = dm.node.resolvedDelegate {
      domain = "clan";
      port = 5335;
    };
    expected = {
      DNS = "127.0.0.1:5335";
      Domains = "~clan";
    };
  };
  test_install_unit_writes_only_its_state = {
    expr =
      (dm.node.installServiceConfig {
        stateDir = "/var/lib/dm-dns";
        controlGroup = "unbound";
      }).ReadWritePaths;
    expected = [ "/var/lib/dm-dns" ];
  };
  test_install_unit_joins_the_control_socket_group = {
    expr =
      (dm.node.installServiceConfig {
        stateDir = "/s";
        controlGroup = "dns";
        supplementaryGroups = [ "data-mesher" ];
      }).SupplementaryGroups;
    expected = [
      "dns"
      "data-mesher"
    ];
  };
  test_install_unit_never_hangs_for_ever = {
    expr =
      (dm.node.installServiceConfig {
        stateDir = "/s";
        controlGroup = "unbound";
      }).TimeoutStartSec;
    expected = "5min";
  };
  test_install_unit_has_no_network = {
    expr =
      (dm.node.installServiceConfig {
        stateDir = "/s";
        controlGroup = "unbound";
      }).RestrictAddressFamilies;
    expected = [ "AF_UNIX" ];
  };
  test_hosts_below_the_domain = {
    expr = dm.node.hostsUnderDomain "clan" {
      "127.0.0.1" = [ "localhost" ];
      "10.0.0.1" = [
        "alpha.clan"
        "alpha"
      ];
      "fd00::1" = [ "alpha.clan" ];
      "10.0.0.9" = [ "other.example.org" ];
    };
    expected = {
      "10.0.0.1" = [ "alpha.clan" ];
      "fd00::1" = [ "alpha.clan" ];
    };
  };
  test_hosts_never_take_loopback_addresses = {
    expr = dm.node.hostsUnderDomain "clan" {
      "127.0.0.2" = [
        "alpha.clan"
        "alpha"
      ];
      "127.0.1.1" = [ "alpha.clan" ];
      "::1" = [ "alpha.clan" ];
      "10.0.0.2" = [ "beta.clan" ];
    };
    expected = {
      "10.0.0.2" = [ "beta.clan" ];
    };
  };
  test_loopback_spellings = {
    expr = map dm.node.isLoopback [
      "127.0.0.1"
      "127.255.0.9"
      "::1"
      "0:0:0:0:0:0:0:1"
      "0000:0000:0000:0000:0000:0000:0000:0001"
      "10.127.0.1"
      "fd00::1"
      "::"
    ];
    expected = [
      true
      true
      true
      true
      true
      false
      false
      false
    ];
  };
}
