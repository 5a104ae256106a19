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
  # A search domain (no `~`) by default: single-label names are completed
  # with it; reverse zones are routing-only.
  test_resolved_delegate_searches_the_domain_and_routes_reverse_zones = {
    expr = dm.node.resolvedDelegate {
      domain = "clan";
      port = 5335;
      reverseZones = [
        "2.0.ip6.arpa"
        "20.1.168.192.in-addr.arpa"
      ];
    };
    expected = {
      DNS = "127.0.0.1:5335";
      Domains = "clan ~2.0.ip6.arpa ~20.1.168.192.in-addr.arpa";
    };
  };
  test_resolved_delegate_without_search_routes_only_the_domain = {
    expr = dm.node.resolvedDelegate {
      domain = "clan";
      port = 5335;
      searchDomain = false;
    };
    expected = {
      DNS = "127.0.0.1:5335";
      Domains = "~clan";
    };
  };
  test_server_allows_the_network_of_each_listen_address = {
    expr = map dm.node.allowedNetworkOf [
      "200:1111:2222::a"
      "301:2::1"
      "4ab:1::a"
      "fd00:12:3456::1@5353"
      "192.168.1.5"
    ];
    expected = [
      "200::/7"
      "200::/7"
      "400::/7"
      "fd00:0012:3456:0000::/64"
      "192.168.1.0/24"
    ];
  };
  test_reverse_names_match_dig_x = {
    expr = map dm.node.reverseName [
      "192.168.1.20"
      "200:1111:2222:3333::1"
      "fd00::21"
      "::1"
    ];
    expected = [
      "20.1.168.192.in-addr.arpa"
      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.3.3.3.2.2.2.2.1.1.1.1.0.0.2.0.ip6.arpa"
      "1.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa"
      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa"
    ];
  };
  test_reverse_zones_of_overlays_and_declared_addresses = {
    expr = dm.node.reverseZonesOf {
      networkServices = [
        "clan-core/yggdrasil"
        "zerotier"
        "mycelium"
      ];
      records = {
        "printer.clan".A = [ "192.168.1.20" ];
        "nas.clan" = {
          A = [ "192.168.1.20" ];
          AAAA = [ "fd00::21" ];
        };
        "clan".TXT = [ "v=spf1 -all" ];
      };
    };
    expected = [
      "2.0.ip6.arpa"
      "3.0.ip6.arpa"
      "4.0.ip6.arpa"
      "5.0.ip6.arpa"
      "20.1.168.192.in-addr.arpa"
      "1.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa"
    ];
  };
  test_reverse_zones_through_knot_and_unbound = {
    expr =
      let
        settings =
          knotPort:
          dm.node.unboundSettings {
            domain = "clan";
            port = 5335;
            zoneFile = "/var/lib/dm-dns/zone/clan.zone";
            inherit knotPort;
            reverseZones = [ "2.0.ip6.arpa" ];
          };
      in
      {
        knot = map (z: z.name) (settings 5336).stub-zone;
        auth = map (z: z.zonefile) (settings null).auth-zone;
        inherit (settings null) server;
        knotConfig = dm.node.knotConfig {
          domain = "clan";
          port = 5336;
          zoneFile = "/var/lib/dm-dns/zone/clan.zone";
          runDir = "/run/k";
          stateDir = "/var/lib/k";
          reverseZones = [ "2.0.ip6.arpa" ];
        };
      };
    expected = {
      knot = [
        "clan."
        "2.0.ip6.arpa."
      ];
      auth = [
        "/var/lib/dm-dns/zone/clan.zone"
        "/var/lib/dm-dns/zone/2.0.ip6.arpa.zone"
      ];
      server = {
        port = 5335;
        interface = [ "127.0.0.1" ];
        access-control = [ "127.0.0.0/8 allow" ];
        domain-insecure = [
          "clan."
          "2.0.ip6.arpa."
        ];
        local-zone = [
          ''"." refuse''
          ''"clan." transparent''
          ''"2.0.ip6.arpa." transparent''
        ];
      };
      knotConfig = ''
        server:
            rundir: "/run/k"
            listen: 127.0.0.1@5336
        log:
          - target: syslog
            any: info
        database:
            storage: "/var/lib/k"
        control:
            listen: "/run/k/knot.sock"
        template:
          - id: default
            storage: "/var/lib/k"
            zonefile-sync: -1
            zonefile-load: whole
            journal-content: none
        zone:
          - domain: clan.
            file: "/var/lib/dm-dns/zone/clan.zone"
          - domain: 2.0.ip6.arpa.
            file: "/var/lib/dm-dns/zone/2.0.ip6.arpa.zone"
      '';
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
