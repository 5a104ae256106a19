# A clan machine's DNS set-up as nixpkgs' real modules render it, with its
# paths moved under `work` and real programs in place, for nix/tests/node.sh
# to run: unbound.conf, the exact scripts of the dm-dns units, the resolved
# files.
{
  vendor,
  packageDir,
  unboundDir,
  work,
}:
let
  local = import ./local-package.nix { inherit packageDir; };
  package = name: outPath: {
    type = "derivation";
    inherit name outPath;
    meta.mainProgram = name;
  };
  harness = import ./clan {
    inherit vendor;
    realFiles = true;
    packageFor = _: package "dm-dns" "${local}";
    machines.alpha = {
      networking.nameservers = [ "192.0.2.53" ];
      networking.hosts = {
        "127.0.0.1" = [ "localhost" ];
        "10.0.0.1" = [ "alpha.clan" ];
        "10.0.0.2" = [ "beta.clan" ];
      };
      services.dm-dns.stateDir = "${work}/state";
      services.dm-dns.meshFile = "${work}/mesh/dns/cnames";
      services.unbound.stateDir = "${work}/unbound";
      services.unbound.localControlSocketPath = "${work}/unbound.ctl";
      services.unbound.package = package "unbound" unboundDir;
    };
  };
  node = harness.nodes.alpha;
  etc = name: builtins.readFile node.environment.etc.${name}.source;
in
{
  unboundConf = etc "unbound/unbound.conf";
  prepare = node.systemd.services.dm-dns-prepare.script;
  install = node.systemd.services.dm-dns-install.script;
  delegate = etc "systemd/dns-delegate.d/dm-dns.dns-delegate";
  resolvedConf = etc "systemd/resolved.conf";
  resolvConf = node.environment.etc."resolv.conf".source;
  resolvconfEnabled = node.networking.resolvconf.enable;
  zoneFile = "${node.services.dm-dns.stateDir}/zone/clan.zone";
  # `dm-dns status`'s defaults, as `export` lines for bash.
  statusEnvironment = builtins.concatStringsSep "\n" (
    builtins.attrValues (
      builtins.mapAttrs (name: value: "export ${name}='${value}'") (
        builtins.intersectAttrs {
          DM_DNS_STATE_DIR = null;
          DM_DNS_DOMAIN = null;
          DM_DNS_MESH_FILE = null;
          DM_DNS_ZONE_FILE = null;
          DM_DNS_UNBOUND_CONTROL = null;
        } node.environment.variables
      )
    )
  );
}
