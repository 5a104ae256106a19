# nix-unit shaped tests of exports.nix (run by nix/tests/run.sh).
{ vendor }:
let
  dm = import ./. { lib = import (vendor + "/nixpkgs-lib/lib"); };
  exports = {
    "music:main:server:alpha" = {
      endpoints.hosts = [ "music.clan" ];
      dataMesher = throw "a missing key must not be forced";
    };
    "wiki:main:server:beta".endpoints.hosts = [
      "wiki.clan"
      "wiki.example.org"
    ];
    "dm-dns:dm-dns:default:gamma".endpoints = null;
    "web:::" = null;
    "peer:vpn:peer:alpha".peer = {
      hosts = [ { plain = "200::1"; } ];
      port = throw "other peer fields are never forced";
    };
  };
  # clan-core's shapes: a network instance's priority, plain values (one that
  # throws, as getPublicValue does for a var not generated yet), var
  # references.
  networks = {
    "ygg:net::".networking = {
      priority = 2000;
      module = throw "never forced";
    };
    "ygg:net:default:alpha".peer.hosts = [
      { plain = "200::1\n"; }
      { plain = throw "Public value alpha/ygg/address not found!"; }
      {
        var = {
          machine = "alpha";
          generator = "ygg";
          file = "address";
          flake = /clan;
        };
      }
      {
        var = {
          machine = "alpha";
          generator = "ygg";
          file = "missing";
          flake = /clan;
        };
      }
    ];
  };
  readVar = ref: if ref.file == "address" then "200::2\n" else null;
  # Values where strings belong: every one a skipped value or a named
  # host, never an evaluation error.
  odd = {
    "net:odd:peer:alpha".peer.hosts = [
      { plain = "a b"; }
      { plain = " 10.0.0.1\n"; }
      { plain = "1\n2"; }
      { plain = 7; }
      { plain = [ "10.0.0.1" ]; }
      { plain = { }; }
      { var = "address"; }
      [ ]
      12
    ];
    "net:odd::".networking.priority = "high";
    "net:one:peer:beta".peer.hosts = { plain = "10.0.0.2"; };
    "web:odd:server:alpha".endpoints.hosts = "music.clan";
    "web:list:server:beta".endpoints.hosts = [
      "wiki.clan"
      7
      [ "x" ]
      { }
    ];
    "web:throws:server:beta".endpoints.hosts = throw "broken";
  };
in
{
  test_odd_values_are_skipped_or_named_never_an_evaluation_error = {
    expr = dm.exports.projectExportsWith { readVar = _: null; } odd;
    expected = {
      "net:odd:peer:alpha" = {
        hosts = [ ];
        peers = [
          "a b"
          "10.0.0.1"
          "1\n2"
          { missing = "a plain value that is not a string but a int"; }
          { missing = "a plain value that is not a string but a list"; }
          { missing = "a plain value that is not a string but a set"; }
          { missing = "a var reference without machine, generator and file"; }
          { missing = "a peer.hosts entry of unknown shape"; }
          { missing = "a peer.hosts entry of unknown shape"; }
        ];
      };
      "net:odd::".hosts = [ ];
      "net:one:peer:beta" = {
        hosts = [ ];
        peers = [ "10.0.0.2" ];
      };
      "web:odd:server:alpha".hosts = [ "<not a host name: endpoints.hosts is a string, not a list>" ];
      "web:list:server:beta".hosts = [
        "wiki.clan"
        "<not a host name: int>"
        "<not a host name: list>"
        "<not a host name: set>"
      ];
      "web:throws:server:beta".hosts = [ "<not a host name: endpoints.hosts could not be evaluated>" ];
    };
  };
  test_projection_forces_only_endpoint_and_peer_hosts = {
    expr = dm.exports.exportsJSON exports;
    expected = ''{"dm-dns:dm-dns:default:gamma":{"hosts":[]},"music:main:server:alpha":{"hosts":["music.clan"]},"peer:vpn:peer:alpha":{"hosts":[],"peers":["200::1"]},"web:::":{"hosts":[]},"wiki:main:server:beta":{"hosts":["wiki.clan","wiki.example.org"]}}'';
  };
  test_projection_reads_vars_and_never_throws = {
    expr = dm.exports.projectExportsWith { inherit readVar; } networks;
    expected = {
      "ygg:net::" = {
        hosts = [ ];
        priority = 2000;
      };
      "ygg:net:default:alpha" = {
        hosts = [ ];
        peers = [
          "200::1"
          { missing = "a plain value that could not be evaluated (a var not generated yet?)"; }
          "200::2"
          { missing = "var alpha/ygg/missing: not generated yet"; }
        ];
      };
    };
  };
  test_projection_without_a_reader_leaves_vars_unread = {
    expr = builtins.elemAt (dm.exports.projectExports networks)."ygg:net:default:alpha".peers 2;
    expected.missing = "var alpha/ygg/address: not read (only the clan service's projection reads vars)";
  };
  test_projected_networks_project_to_themselves = {
    expr = dm.exports.projectExports (dm.exports.projectExportsWith { inherit readVar; } networks);
    expected = dm.exports.projectExportsWith { inherit readVar; } networks;
  };
  test_projected_exports_project_to_themselves = {
    expr = dm.exports.projectExports (dm.exports.projectExports exports);
    expected = dm.exports.projectExports exports;
  };
  test_hosts_by_machine_leaves_out_service_wide_scopes = {
    expr = dm.exports.hostsByMachine exports;
    expected = {
      alpha = [ "music.clan" ];
      beta = [
        "wiki.clan"
        "wiki.example.org"
      ];
      gamma = [ ];
    };
  };
  test_own_internal_hosts = {
    expr = dm.exports.internalHostsOf {
      domain = "clan";
      machine = "beta";
      byMachine = dm.exports.hostsByMachine exports;
    };
    expected = [ "wiki.clan" ];
  };
  test_unknown_machine_has_no_hosts = {
    expr = dm.exports.internalHostsOf {
      domain = "clan";
      machine = "nobody";
      byMachine = dm.exports.hostsByMachine exports;
    };
    expected = [ ];
  };
  test_scope_machine = {
    expr = map dm.exports.scopeMachine [
      "a:b:c:d"
      "web:::"
      "a:b"
    ];
    expected = [
      "d"
      ""
      null
    ];
  };
}
