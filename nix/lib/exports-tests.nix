# nix-unit shaped tests of exports.nix (run by nix/tests/run.sh).
let
  lib = import ./.;
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
    "peer:vpn:peer:alpha".peer = throw "other export types are never forced";
  };
in
{
  test_projection_forces_only_endpoint_hosts = {
    expr = lib.exportsJSON exports;
    expected = ''{"dm-dns:dm-dns:default:gamma":{"hosts":[]},"music:main:server:alpha":{"hosts":["music.clan"]},"peer:vpn:peer:alpha":{"hosts":[]},"web:::":{"hosts":[]},"wiki:main:server:beta":{"hosts":["wiki.clan","wiki.example.org"]}}'';
  };
  test_projected_exports_project_to_themselves = {
    expr = lib.projectExports (lib.projectExports exports);
    expected = lib.projectExports exports;
  };
  test_hosts_by_machine_leaves_out_service_wide_scopes = {
    expr = lib.hostsByMachine exports;
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
    expr = lib.internalHostsOf {
      domain = "clan";
      machine = "beta";
      byMachine = lib.hostsByMachine exports;
    };
    expected = [ "wiki.clan" ];
  };
  test_unknown_machine_has_no_hosts = {
    expr = lib.internalHostsOf {
      domain = "clan";
      machine = "nobody";
      byMachine = lib.hostsByMachine exports;
    };
    expected = [ ];
  };
  test_scope_machine = {
    expr = map lib.scopeMachine [
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
