# A clan machine's DNS set-up as nixpkgs' real modules render it, with its
# paths moved under `work` and real programs in place, for nix/tests/node.sh
# to run: unbound.conf, Knot's command and configuration, the node configuration and the script that checks it
# at build time, the exact scripts of the dm-dns units, the resolved files,
# and the push machine's dm-send-dns with the zone it signs.
#
#   rotated   the clan after its signing key was rotated (see ./clan)
#   server    alpha also in the server role: answering 127.0.1.0/24 on
#             127.0.1.1, other names forwarded to 127.0.3.53
{
  vendor,
  packageDir,
  unboundDir,
  knotDir,
  work,
  rotated ? false,
  server ? false,
}:
let
  local = import ./local-package.nix { inherit packageDir; };
  package = name: outPath: {
    type = "derivation";
    inherit name outPath;
    meta.mainProgram = name;
  };
  harness = import ./clan {
    inherit vendor rotated;
    realFiles = true;
    # music on alpha, and a wildcard endpoint; a printer the clan declares.
    endpoints.music.alpha = [
      "music.clan"
      "*.s3.clan"
    ];
    dmDnsSettings.records."printer.clan".A = [ "192.168.1.20" ];
    dmDnsServers = if server then { alpha.forward = [ "127.0.3.53" ]; } else { };
    packageFor = _: package "dm-dns" "${local}";
    machines.alpha = {
      networking.nameservers = [ "192.0.2.53" ];
      # beside the 127.0.0.2 entry NixOS gives alpha's own names
      networking.hosts = {
        "10.0.0.1" = [ "alpha.clan" ];
        "10.0.0.2" = [ "beta.clan" ];
      };
      clan.core.networking.internalListenAddresses = [ "127.0.1.1" ];
      services.dm-dns.server.listen = [ "127.0.1.1" ];
      services.dm-dns.settings.state_dir = "${work}/state";
      services.dm-dns.settings.mesh_file = "${work}/mesh/dns/cnames";
      services.unbound.stateDir = "${work}/unbound";
      services.unbound.localControlSocketPath = "${work}/unbound.ctl";
      services.unbound.package = package "unbound" unboundDir;
      services.dm-dns.knot = {
        package = package "knot" knotDir;
        runDir = "${work}/knot-run";
        stateDir = "${work}/knot-state";
      };
    };
  };
  node = harness.nodes.alpha;
  etc = name: builtins.readFile node.environment.etc.${name}.source;
  send = builtins.head (
    builtins.filter (p: p.name == "dm-send-dns") node.environment.systemPackages
  );
in
{
  unboundConf = etc "unbound/unbound.conf";
  # The build step of /etc/dm-dns/node.json: `dm-dns config` on the
  # generated file, then the copy to $out.
  nodeConfigBuild = node.environment.etc."dm-dns/node.json".source.script;
  # The units' commands (ExecStart), run as they are.
  prepare = node.systemd.services.dm-dns-prepare.serviceConfig.ExecStart;
  install = node.systemd.services.dm-dns-install.serviceConfig.ExecStart;
  knot = node.systemd.services.dm-dns-knot.serviceConfig.ExecStart;
  delegate = etc "systemd/dns-delegate.d/dm-dns.dns-delegate";
  resolvedConf = etc "systemd/resolved.conf";
  resolvConf = node.environment.etc."resolv.conf".source;
  resolvconfEnabled = node.networking.resolvconf.enable;
  zoneFile = node.services.dm-dns.settings.zone_file;
  # dm-send-dns as the push machine gets it: its text and environment.
  sendText = send.text;
  sendEnv = builtins.concatStringsSep "\n" (
    map (name: "export ${name}='${toString send.runtimeEnv.${name}}'") (
      builtins.attrNames send.runtimeEnv
    )
  );
  # The zone derivation dm-send-dns signs (nix-build it).
  zone = node.services.dm-dns.zone;
}
