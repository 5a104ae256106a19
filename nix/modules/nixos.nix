# NixOS module `services.dm-dns`: unbound answers the clan domain from an
# auth-zone that `dm-dns install` keeps up to date from the signed mesh file,
# and systemd-resolved routes that domain, and only it, to unbound. Wiring
# only; the settings come from ../lib. docs/architecture.md says what runs
# where and why.
#
# `dmDnsPackage` is the package default (the flake passes its own). The
# module carries a `key`, so importing it twice (the clan service and
# `nixosModules.default`, or two instances) declares its options once.
{
  dmDnsPackage ? null,
}:
let
  module =
    {
      config,
      lib,
      pkgs,
      ...
    }:
    let
      dmLib = import ../lib;
      cfg = config.services.dm-dns;
      unbound = config.services.unbound;
      inherit (lib)
        mkDefault
        mkEnableOption
        mkIf
        mkOption
        types
        ;

      unboundControl = "${unbound.package}/bin/unbound-control -s ${toString unbound.localControlSocketPath}";
      zoneDir = "${cfg.stateDir}/zone";
      zoneFile = "${zoneDir}/${cfg.domain}.zone";
      hostsFile = pkgs.writeText "dm-dns-hosts.json" (builtins.toJSON cfg.hosts);
      installCommand =
        reload:
        lib.escapeShellArgs (
          [ (lib.getExe cfg.package) ]
          ++ dmLib.installArgs {
            inherit (cfg)
              meshFile
              trustedKeys
              domain
              controlTimeout
              maxMeshSize
              allowRollback
              ;
            inherit hostsFile zoneFile reload;
            stateDir = cfg.stateDir;
            inherit unboundControl;
          }
        );
      serviceConfig = dmLib.installServiceConfig {
        inherit (cfg) stateDir;
        controlGroup = unbound.group;
        supplementaryGroups = lib.optional (cfg.meshGroup != null) cfg.meshGroup;
      };
      viaResolved = cfg.resolver == "resolved";
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
          default = 5335;
          description = ''
            Port of the local unbound on 127.0.0.1. Not 53 (the system
            resolver's) and not 5353 (mDNS: avahi binds `*:5353`).
          '';
        };

        resolver = mkOption {
          type = types.enum [
            "resolved"
            "none"
          ];
          default = "resolved";
          description = ''
            How programs on this machine reach the clan's names.

            - `resolved`: systemd-resolved (enabled by default here) gets a DNS
              delegate that sends names below the domain, and only those, to
              unbound; every other name resolves as before, through the
              servers in `networking.nameservers` and those learnt per link.
              unbound answers only the clan domain (other names: REFUSED), so
              no query can loop. dns-delegate files need systemd >= 258.
            - `none`: only unbound is configured; route the domain to
              `127.0.0.1:''${port}` yourself (dnsmasq, another resolver, or
              `dig -p`).
          '';
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

        controlTimeout = mkOption {
          type = types.numbers.positive;
          default = 5;
          description = ''
            Seconds one `unbound-control` call may take. A hung unbound is
            given up on after this, and the previous zone file is put back.
          '';
        };

        maxMeshSize = mkOption {
          type = types.strMatching "[0-9]+[KMG]?";
          default = "256M";
          description = ''
            The largest mesh file install reads (bytes, or with a K, M or G
            suffix); a larger one is refused before it is read. 256M holds
            about four million records.
          '';
        };

        allowRollback = mkOption {
          type = types.bool;
          default = false;
          description = ''
            Accept a signed zone whose serial is lower than the installed one.
            Only for recovering from a zone signed with a serial far in the
            future (README, "Serials"): set it, push, and unset it again:
            while it is set, an old signed file replayed to this node is
            accepted too.
          '';
        };

        stateDir = mkOption {
          type = types.str;
          default = "/var/lib/dm-dns";
          description = "Installed serial, hashes, last-good zone, and the zone unbound loads.";
        };

        zone = mkOption {
          type = types.package;
          readOnly = true;
          description = ''
            The clan's zone (`dm-dns zone` output: zone.conf, zone.db,
            manifest.json) as this machine's system builds it. Set by the clan
            service (`dm-send-dns` signs it); undefined without it.
          '';
        };
      };

      config = mkIf cfg.enable {
        # `dm-dns status` (and the other commands) on the node, with this
        # node's paths as defaults.
        environment.systemPackages = [ cfg.package ];
        environment.variables = dmLib.statusEnvironment {
          inherit (cfg) stateDir domain meshFile;
          inherit zoneFile unboundControl;
        };

        assertions = [
          {
            assertion = unbound.localControlSocketPath != null;
            message = ''
              services.dm-dns reloads its zone through unbound's local control socket:
              leave services.unbound.localControlSocketPath set (dm-dns defaults it to
              /run/unbound/unbound.ctl).
            '';
          }
          {
            assertion = viaResolved -> config.services.resolved.enable;
            message = ''
              services.dm-dns.resolver = "resolved" routes the clan domain through
              systemd-resolved, which is disabled here. Enable services.resolved, or set
              services.dm-dns.resolver = "none" and route ${cfg.domain} to
              127.0.0.1:${toString cfg.port} yourself.
            '';
          }
          {
            assertion = viaResolved -> lib.versionAtLeast (lib.getVersion config.systemd.package) "258";
            message = ''
              services.dm-dns.resolver = "resolved" uses a systemd-resolved dns-delegate,
              which needs systemd >= 258 (this machine has ${lib.getVersion config.systemd.package}).
              Update nixpkgs, or set services.dm-dns.resolver = "none".
            '';
          }
        ];
        warnings = lib.optional (cfg.trustedKeys == [ ]) ''
          services.dm-dns.trustedKeys is empty: every signed zone will be refused and
          only this node's own records are served.
        '';

        services.unbound = {
          enable = true;
          localControlSocketPath = mkDefault "/run/unbound/unbound.ctl";
          # unbound listens on `port`, never 53: listing 127.0.0.1 in
          # resolv.conf (what resolveLocalQueries does through resolvconf,
          # nixos/modules/services/networking/unbound.nix) would send every
          # name to a port where nothing answers.
          resolveLocalQueries = false;
          # Off as nixpkgs' default already is while remote-control settings
          # exist (unbound.nix: `!settings ? remote-control`, always true
          # here); and a build-time unbound-checkconf could not pass anyway:
          # it loads the auth-zone's zone file, which exists only on the node.
          # nix/tests/node.sh runs unbound-checkconf on the rendered file.
          checkconf = false;
          # unbound answers only the clan zone from a local file: nothing to
          # validate, no root to prime.
          enableRootTrustAnchor = mkIf viaResolved (mkDefault false);
          settings = dmLib.unboundSettings {
            inherit (cfg) domain port;
            inherit zoneFile;
            onlyZone = viaResolved;
          };
        };
        systemd.services.unbound = {
          # Wants, not Requires: a failed prepare (a refused mesh file) must
          # never keep unbound down; prepare writes a loadable zone first.
          wants = [ "dm-dns-prepare.service" ];
          after = [ "dm-dns-prepare.service" ];
          serviceConfig.BindReadOnlyPaths = [ zoneDir ];
        };

        services.resolved = mkIf viaResolved {
          enable = mkDefault true;
          dnsDelegates.dm-dns.Delegate = dmLib.resolvedDelegate { inherit (cfg) domain port; };
        };

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

        # Before unbound starts: a loadable zone in every case (no mesh file,
        # a refused one, no trusted key), so unbound can always start.
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
        # Also once at boot, after the path unit watches: PathChanged= sees
        # only changes made while it is active, so a file that arrived
        # earlier is installed by this run.
        systemd.services.dm-dns-install = {
          description = "dm-dns: verify and install the signed zone into unbound";
          after = [
            "unbound.service"
            "dm-dns-install.path"
          ];
          requires = [ "unbound.service" ];
          wantedBy = [ "multi-user.target" ];
          inherit serviceConfig;
          script = installCommand true;
        };
      };
    };
in
{
  key = "dm-dns/nix/modules/nixos.nix";
  _file = ./nixos.nix;
  imports = [ module ];
}
