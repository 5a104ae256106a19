# NixOS module `services.dm-dns`: unbound answers the clan domain from an
# auth-zone that `dm-dns install` keeps up to date from the signed mesh file.
# Wiring only; the settings come from ../lib.nix.
{ dmDnsPackage ? null }:
{
  config,
  lib,
  pkgs,
  ...
}:
let
  dmLib = import ../lib.nix;
  cfg = config.services.dm-dns;
  inherit (lib) mkOption mkEnableOption mkIf types;

  zoneDir = "${cfg.stateDir}/zone";
  zoneFile = "${zoneDir}/${cfg.domain}.zone";
  hostsFile = pkgs.writeText "dm-dns-hosts.json" (builtins.toJSON cfg.hosts);
  controlSocket = config.services.unbound.localControlSocketPath;
  installCommand =
    reload:
    lib.escapeShellArgs (
      [ (lib.getExe cfg.package) ]
      ++ dmLib.installArgs {
        inherit (cfg) meshFile trustedKeys domain;
        inherit hostsFile zoneFile reload;
        stateDir = cfg.stateDir;
        unboundControl = "${config.services.unbound.package}/bin/unbound-control -s ${controlSocket}";
      }
    );
  serviceConfig = dmLib.installServiceConfig {
    inherit (cfg) stateDir;
    supplementaryGroups = lib.optional (cfg.meshGroup != null) cfg.meshGroup;
  };
in
{
  options.services.dm-dns = {
    enable = mkEnableOption "dm-dns: clan endpoint names served by a local unbound";

    package = mkOption {
      type = types.package;
      default = if dmDnsPackage != null then dmDnsPackage else pkgs.callPackage ../package.nix { };
      defaultText = lib.literalExpression "dm-dns from this flake";
      description = "The dm-dns package.";
    };

    domain = mkOption {
      type = types.str;
      example = "clan";
      description = "The clan domain (`meta.domain`); names below it are answered locally.";
    };

    port = mkOption {
      type = types.port;
      default = 5353;
      description = "Port of the local unbound on 127.0.0.1.";
    };

    meshFile = mkOption {
      type = types.str;
      default = "/var/lib/data-mesher/files/home/dns/cnames";
      description = "The signed zone file data-mesher delivers.";
    };

    meshGroup = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "data-mesher";
      description = "A group that may read `meshFile`; the install units join it.";
    };

    trustedKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = ''
        Keys allowed to sign the zone: base64 of the raw ED25519 public key (as
        data-mesher allowlists hold them) or paths to PEM public keys.
      '';
    };

    hosts = mkOption {
      type = types.attrsOf (types.listOf types.str);
      default = dmLib.hostsUnderDomain cfg.domain config.networking.hosts;
      defaultText = lib.literalExpression "names below the domain from networking.hosts";
      description = "This node's own address records, `{ \"<address>\" = [ \"<name>\" ]; }`.";
    };

    stateDir = mkOption {
      type = types.str;
      default = "/var/lib/dm-dns";
      description = "Installed serial, hashes, last-good zone, and the zone unbound loads.";
    };
  };

  config = mkIf cfg.enable {
    warnings = lib.optional (cfg.trustedKeys == [ ]) ''
      services.dm-dns.trustedKeys is empty: every signed zone will be refused.
    '';

    services.unbound = {
      enable = true;
      localControlSocketPath = lib.mkDefault "/run/unbound/unbound.ctl";
      settings = dmLib.unboundSettings {
        inherit (cfg) domain port;
        inherit zoneFile;
      };
    };
    systemd.services.unbound = {
      after = [ "dm-dns-prepare.service" ];
      requires = [ "dm-dns-prepare.service" ];
      serviceConfig.BindReadOnlyPaths = [ zoneDir ];
    };

    services.resolved.settings.Resolve = dmLib.resolvedSettings { inherit (cfg) domain port; };

    users.users.dm-dns = {
      isSystemUser = true;
      group = "dm-dns";
      description = "dm-dns zone installer";
    };
    users.groups.dm-dns = { };

    # Owned by the installer, readable by unbound.
    systemd.tmpfiles.settings.dm-dns = lib.genAttrs [ cfg.stateDir zoneDir ] (_: {
      d = {
        user = "dm-dns";
        group = "dm-dns";
        mode = "0755";
      };
    });

    # Before unbound starts: a loadable zone even without a mesh file.
    systemd.services.dm-dns-prepare = {
      description = "dm-dns: prepare the zone unbound loads";
      before = [ "unbound.service" ];
      after = [ "systemd-tmpfiles-setup.service" ];
      inherit serviceConfig;
      script = installCommand false;
    };

    # On every change of the mesh file: verify, install, reload the zone.
    systemd.paths.dm-dns-install = {
      description = "dm-dns: watch the signed zone from data-mesher";
      wantedBy = [ "multi-user.target" ];
      pathConfig = {
        PathChanged = cfg.meshFile;
        Unit = "dm-dns-install.service";
      };
    };
    systemd.services.dm-dns-install = {
      description = "dm-dns: verify and install the signed zone into unbound";
      after = [ "unbound.service" ];
      requires = [ "unbound.service" ];
      wantedBy = [ "unbound.service" ];
      inherit serviceConfig;
      script = installCommand true;
    };
  };
}
