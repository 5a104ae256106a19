# NixOS module `services.dm-dns`: unbound answers the clan domain from a
# zone that `dm-dns install` keeps up to date from the signed mesh file (held
# by Knot DNS behind unbound, or by unbound's own auth-zone), and
# systemd-resolved routes that domain, and only it, to unbound. Wiring only;
# the settings come from ../lib. docs/architecture.md says what runs where
# and why.
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
      dmLib = import ../lib { inherit lib; };
      cfg = config.services.dm-dns;
      unbound = config.services.unbound;
      inherit (lib)
        mkDefault
        mkEnableOption
        mkIf
        mkOption
        types
        ;

      settingsFormat = pkgs.formats.json { };
      settings = cfg.settings;
      zoneDir = "${settings.state_dir}/zone";
      # The node configuration, checked by the binary that will read it: a
      # typo in a key or a bad value fails the build, not the node.
      nodeJson = settingsFormat.generate "dm-dns-node-unchecked.json" settings;
      nodeConfig = pkgs.runCommand "dm-dns-node.json" { nativeBuildInputs = [ cfg.package ]; } ''
        dm-dns config --config ${nodeJson} >/dev/null
        cp ${nodeJson} "$out"
      '';
      # Every unit and command reads it from here, as `dm-dns` does by default.
      configPath = "/etc/dm-dns/node.json";
      # One command, no shell: the unit's ExecStart.
      installCommand =
        reload:
        lib.escapeShellArgs (
          [
            (lib.getExe cfg.package)
            "install"
            "--config"
            configPath
          ]
          ++ lib.optional (!reload) "--no-reload"
        );
      withKnot = cfg.zoneServer == "knot";
      knotConfig = pkgs.writeText "dm-dns-knot.conf" (
        dmLib.node.knotConfig {
          inherit (settings) domain;
          inherit (cfg.knot) port runDir stateDir;
          zoneFile = settings.zone_file;
          reverseZones = settings.reverse_zones;
        }
      );
      serviceConfig = dmLib.node.installServiceConfig {
        stateDir = settings.state_dir;
        controlGroup = if withKnot then "dm-dns-knot" else unbound.group;
        supplementaryGroups = lib.optional (cfg.meshGroup != null) cfg.meshGroup;
      };
      viaResolved = cfg.resolver == "resolved";
      serverCfg = cfg.server;
      # Resolving other names itself (no forwarder): validate them.
      recursing = serverCfg.enable && serverCfg.forward == [ ];
      internalAddresses = lib.attrByPath [
        "clan"
        "core"
        "networking"
        "internalListenAddresses"
      ] [ ] config;
      nftables = lib.attrByPath [ "networking" "nftables" "enable" ] false config;
      # Port 53 (or each listen address's own) on the listen addresses only.
      listenPorts = map (listen: {
        address = dmLib.node.listenAddress listen;
        port = lib.last (lib.splitString "@" (dmLib.node.listenInterface listen));
        v6 = lib.hasInfix ":" (dmLib.node.listenAddress listen);
      }) serverCfg.listen;
      nftRules = lib.concatMapStrings (
        l:
        lib.concatMapStrings (
          proto: "${if l.v6 then "ip6" else "ip"} daddr ${l.address} ${proto} dport ${l.port} accept\n"
        ) [ "udp" "tcp" ]
      ) listenPorts;
      iptablesRules = lib.concatMapStrings (
        l:
        lib.concatMapStrings (
          proto:
          "${if l.v6 then "ip6tables" else "iptables"} -A nixos-fw -d ${l.address} -p ${proto} --dport ${l.port} -j nixos-fw-accept\n"
        ) [ "udp" "tcp" ]
      ) listenPorts;
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

        port = mkOption {
          type = types.port;
          default = 5335;
          description = ''
            Port of the local unbound on 127.0.0.1. Not 53 (the system
            resolver's) and not 5353 (mDNS: avahi binds `*:5353`).
          '';
        };

        zoneServer = mkOption {
          type = types.enum [
            "knot"
            "unbound"
          ];
          default = "knot";
          description = ''
            Which server holds the zone in memory.

            - `knot`: Knot DNS on 127.0.0.1:''${knot.port}, which unbound asks
              for the domain (uncached). Knot loads a new zone beside the
              served one and swaps them, and takes a small change as a
              transaction of only the changed records: no query goes
              unanswered during an update (README, "Benchmarks").
            - `unbound`: unbound's own auth-zone, one daemon fewer. unbound
              answers nothing while it reads the zone file: about 0.3 s per
              100,000 records on every update.
          '';
        };

        knot = {
          package = mkOption {
            type = types.package;
            default = pkgs.knot-dns;
            defaultText = lib.literalExpression "pkgs.knot-dns";
            description = "The Knot DNS package (`zoneServer = \"knot\"`).";
          };
          port = mkOption {
            type = types.port;
            default = 5336;
            description = "Port of Knot on 127.0.0.1, where unbound asks it.";
          };
          runDir = mkOption {
            type = types.str;
            default = "/run/dm-dns-knot";
            description = "Knot's runtime directory, with its control socket `knot.sock` (the unit's RuntimeDirectory).";
          };
          stateDir = mkOption {
            type = types.str;
            default = "/var/lib/dm-dns-knot";
            description = "Knot's own state (timers); the zone stays in `settings.zone_file`.";
          };
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

        searchDomain = mkOption {
          type = types.bool;
          default = true;
          description = ''
            Make the clan domain a search domain of the system resolver, so
            `ssh alpha` and `http://music/` work without the domain (as
            MagicDNS does). Only single-label names are completed, and a
            completed name is below the domain; every other name is routed
            as before (README, "Short names"). `false`: the domain is a
            routing-only domain (`~<domain>`).
          '';
        };

        server = {
          enable = mkEnableOption ''
            answering clan names for devices outside the clan (phones, laptops,
            the LAN): unbound also listens on `listen` for the `allow` networks,
            with the clan's zones from the same installed zone and every other
            name through `forward` (README, "Devices outside the clan")
          '';
          listen = mkOption {
            type = types.listOf types.str;
            default = builtins.filter (a: !dmLib.node.isLoopback a) internalAddresses;
            defaultText = lib.literalExpression "clan.core.networking.internalListenAddresses, loopback left out";
            example = [
              "200:1111:2222::a"
              "192.168.1.5@53"
            ];
            description = ''
              Addresses unbound answers other devices on: `address` (port 53) or
              `address@port`. The mesh's addresses may appear after unbound
              starts; unbound binds them anyway (ip-freebind). Port 53 is opened
              in the firewall for these addresses only.
            '';
          };
          allow = mkOption {
            type = types.listOf types.str;
            default = lib.unique (map dmLib.node.allowedNetworkOf serverCfg.listen);
            defaultText = lib.literalExpression "the network of each listen address: 200::/7 (yggdrasil), 400::/7 (mycelium), another IPv6 address's /64, an IPv4 address's /24";
            example = [
              "200::/7"
              "192.168.1.0/24"
            ];
            description = ''
              Networks (CIDR) allowed to ask. Every other address gets REFUSED:
              never an open resolver.
            '';
          };
          forward = mkOption {
            type = types.listOf types.str;
            default = [ ];
            example = [
              "9.9.9.9"
              "2620:fe::fe@53"
            ];
            description = ''
              Where names outside the clan go (`address[@port]`). Empty: unbound
              resolves them itself, validating DNSSEC. With forwarders, their
              answers are trusted as they come.
            '';
          };
          rateLimit = mkOption {
            type = types.ints.unsigned;
            default = 10000;
            description = ''
              Queries a second one client address may ask (unbound's
              ip-ratelimit; 0: no limit). Above it, queries are dropped.
            '';
          };
        };

        meshGroup = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "data-mesher";
          description = "A group that may read `settings.mesh_file`; the install units join it.";
        };

        settings = mkOption {
          description = ''
            The node configuration, written to `/etc/dm-dns/node.json` and
            checked at build time by `dm-dns config`. `dm-dns install`,
            `status`, `explain` and `plan` read it, so on this machine they
            need no arguments. Keys are the file's own (README, "Node
            configuration").
          '';
          default = { };
          type = types.submodule {
            freeformType = settingsFormat.type;
            options = {
              domain = mkOption {
                type = types.str;
                example = "clan";
                description = "The clan domain (`meta.domain`); names below it are answered locally.";
              };
              trusted_keys = mkOption {
                type = types.listOf types.str;
                default = [ ];
                description = ''
                  Keys allowed to sign the zone: base64 of the raw ED25519 public key (as
                  data-mesher allowlists hold them) or paths to PEM public keys.
                '';
              };
              mesh_file = mkOption {
                type = types.str;
                default = "/var/lib/data-mesher/files/home/dns/cnames";
                description = "The signed zone file data-mesher delivers.";
              };
              state_dir = mkOption {
                type = types.str;
                default = "/var/lib/dm-dns";
                description = "Installed serial, hashes, last-good zone, and the zone file the server loads.";
              };
              zone_file = mkOption {
                type = types.str;
                readOnly = true;
                default = "${zoneDir}/${settings.domain}.zone";
                defaultText = lib.literalExpression ''"''${state_dir}/zone/''${domain}.zone"'';
                description = "The zone file Knot (or unbound's auth-zone) loads.";
              };
              knot_control = mkOption {
                type = types.nullOr (types.listOf types.str);
                default =
                  if withKnot then
                    [
                      "${cfg.knot.package}/bin/knotc"
                      "-s"
                      "${cfg.knot.runDir}/knot.sock"
                    ]
                  else
                    null;
                defaultText = lib.literalExpression ''[ "''${knot.package}/bin/knotc" "-s" "''${knot.runDir}/knot.sock" ] with zoneServer = "knot", else null'';
                description = "How install and status reach Knot, when it holds the zone.";
              };
              unbound_control = mkOption {
                type = types.listOf types.str;
                default = [
                  "${unbound.package}/bin/unbound-control"
                  "-s"
                  (toString unbound.localControlSocketPath)
                ];
                defaultText = lib.literalExpression ''[ "''${unbound.package}/bin/unbound-control" "-s" unbound.localControlSocketPath ]'';
                description = "How install and status reach unbound, when its auth-zone holds the zone.";
              };
              control_timeout = mkOption {
                type = types.numbers.positive;
                default = 5;
                description = ''
                  Seconds one `knotc` or `unbound-control` call may take (a reload
                  is given a second more per 200,000 records). A hung server is
                  given up on after this, and the previous zone file is put back.
                '';
              };
              max_mesh_size = mkOption {
                type = types.strMatching "[0-9]+[KMG]?";
                default = "256M";
                description = ''
                  The largest mesh file install reads (bytes, or with a K, M or G
                  suffix); a larger one is refused before it is read. 256M holds
                  about four million records.
                '';
              };
              allow_rollback = mkOption {
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
              hosts = mkOption {
                type = types.attrsOf (types.listOf types.str);
                default = dmLib.node.hostsUnderDomain settings.domain config.networking.hosts;
                defaultText = lib.literalExpression "names below the domain from networking.hosts, loopback addresses left out";
                description = ''
                  This node's own address records, `{ "<address>" = [ "<name>" ]; }`;
                  they replace the zone's for the names they give. Loopback
                  addresses are refused: NixOS maps the machine's own name to
                  127.0.0.2, where services that listen on internal addresses
                  are not.
                '';
              };
              reverse_zones = mkOption {
                type = types.listOf types.str;
                default = [ ];
                example = [
                  "2.0.ip6.arpa"
                  "20.1.168.192.in-addr.arpa"
                ];
                description = ''
                  Reverse domains this node answers (`dig -x`): each gets a PTR
                  record for every address record of the signed zone in it, and
                  only those; Knot (or unbound's auth-zone), unbound and
                  systemd-resolved serve and route exactly these. The clan
                  service sets yggdrasil's and mycelium's and the declared
                  records' own (README, "Reverse lookups").
                '';
              };
              server = mkOption {
                type = types.str;
                default = "127.0.0.1:${toString cfg.port}";
                description = "The local unbound, which `dm-dns explain NAME` asks.";
              };
              redeploy = mkOption {
                type = types.nullOr types.str;
                default = null;
                example = "clan machines update alpha";
                description = ''
                  How this machine gets a new configuration; refusals that only a
                  new configuration fixes (a rotated signing key) say to run it.
                '';
              };
            };
          };
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
        # `dm-dns status`, `dm-dns explain NAME`: no arguments needed, the
        # node configuration says the rest, under sudo and env -i too.
        environment.systemPackages = [ cfg.package ];
        environment.etc."dm-dns/node.json".source = nodeConfig;
        # `dm-dns status` reports what the server role serves.
        services.dm-dns.settings.serves = mkIf serverCfg.enable {
          inherit (serverCfg) listen allow forward;
        };

        assertions = [
          {
            assertion = withKnot || unbound.localControlSocketPath != null;
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
              services.dm-dns.resolver = "none" and route ${settings.domain} to
              127.0.0.1:${toString cfg.port} yourself.
            '';
          }
          {
            assertion = serverCfg.enable -> serverCfg.listen != [ ];
            message = ''
              services.dm-dns.server is enabled but has no address to listen on: this
              machine has no clan.core.networking.internalListenAddresses. Set
              services.dm-dns.server.listen (e.g. [ "192.168.1.5" ]).
            '';
          }
          {
            # (Without a listen address, the message above says what to do.)
            assertion = serverCfg.enable && serverCfg.listen != [ ] -> serverCfg.allow != [ ];
            message = ''
              services.dm-dns.server.allow is empty: no device could ask. List the
              networks (CIDR) that may, e.g. [ "192.168.1.0/24" ].
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
        warnings = lib.optional (settings.trusted_keys == [ ]) ''
          services.dm-dns.settings.trusted_keys is empty: every signed zone will be refused and
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
          # validate, no root to prime; unless it resolves other names for
          # the devices it serves.
          enableRootTrustAnchor = mkIf (viaResolved && !recursing) (mkDefault false);
          settings = dmLib.node.unboundSettings {
            inherit (settings) domain;
            inherit (cfg) port;
            zoneFile = settings.zone_file;
            knotPort = if withKnot then cfg.knot.port else null;
            onlyZone = viaResolved;
            reverseZones = settings.reverse_zones;
            server =
              if serverCfg.enable then
                {
                  inherit (serverCfg)
                    listen
                    allow
                    forward
                    rateLimit
                    ;
                }
              else
                null;
          };
        };
        systemd.services.unbound = {
          # Wants, not Requires: a failed prepare (a refused mesh file) must
          # never keep unbound down; prepare writes a loadable zone first.
          wants = [ "dm-dns-prepare.service" ];
          after = [ "dm-dns-prepare.service" ] ++ lib.optional withKnot "dm-dns-knot.service";
          serviceConfig.BindReadOnlyPaths = mkIf (!withKnot) [ zoneDir ];
        };

        # Conditions inside the values: whether nftables is on is read from
        # `networking`, which this also defines.
        networking.firewall.extraInputRules = mkIf (serverCfg.enable && nftables) nftRules;
        networking.firewall.extraCommands = mkIf (serverCfg.enable && !nftables) iptablesRules;

        # Knot holds the zone; only unbound (and install, through the
        # control socket, as a member of its group) talks to it.
        systemd.services.dm-dns-knot = mkIf withKnot {
          description = "dm-dns: Knot DNS serving the clan zone to unbound";
          wantedBy = [ "multi-user.target" ];
          wants = [ "dm-dns-prepare.service" ];
          after = [ "dm-dns-prepare.service" ];
          before = [ "unbound.service" ];
          restartTriggers = [ knotConfig ];
          serviceConfig = dmLib.node.sandbox // {
            ExecStart = "${cfg.knot.package}/bin/knotd -c ${knotConfig}";
            Restart = "on-failure";
            User = "dm-dns-knot";
            Group = "dm-dns-knot";
            RuntimeDirectory = "dm-dns-knot";
            RuntimeDirectoryMode = "0750";
            StateDirectory = "dm-dns-knot";
            StateDirectoryMode = "0700";
            # The control socket: the group (install) may connect.
            UMask = "0007";
            RestrictAddressFamilies = [
              "AF_INET"
              "AF_UNIX"
            ];
          };
        };
        users.users.dm-dns-knot = mkIf withKnot {
          isSystemUser = true;
          group = "dm-dns-knot";
          description = "dm-dns's Knot DNS";
        };
        users.groups.dm-dns-knot = mkIf withKnot { };

        services.resolved = mkIf viaResolved {
          enable = mkDefault true;
          dnsDelegates.dm-dns.Delegate = dmLib.node.resolvedDelegate {
            inherit (settings) domain;
            inherit (cfg) port searchDomain;
            reverseZones = settings.reverse_zones;
          };
        };

        users.users.dm-dns = {
          isSystemUser = true;
          group = "dm-dns";
          description = "dm-dns zone installer";
        };
        users.groups.dm-dns = { };

        # Owned by the installer, readable by unbound.
        systemd.tmpfiles.settings.dm-dns = lib.genAttrs [ settings.state_dir zoneDir ] (_: {
          d = {
            user = "dm-dns";
            group = "dm-dns";
            mode = "0755";
          };
        });

        # Before the servers start: a loadable zone in every case (no mesh
        # file, a refused one, no trusted key), so they can always start.
        systemd.services.dm-dns-prepare = {
          description = "dm-dns: prepare the zone the node serves";
          before = [ "unbound.service" ] ++ lib.optional withKnot "dm-dns-knot.service";
          after = [ "systemd-tmpfiles-setup.service" ];
          serviceConfig = serviceConfig // {
            ExecStart = installCommand false;
          };
        };

        # On every change of the mesh file: verify, install, reload the zone.
        systemd.paths.dm-dns-install = {
          description = "dm-dns: watch the signed zone from data-mesher";
          wantedBy = [ "multi-user.target" ];
          pathConfig = {
            PathChanged = settings.mesh_file;
            Unit = "dm-dns-install.service";
          };
        };
        # Also once at boot, after the path unit watches: PathChanged= sees
        # only changes made while it is active, so a file that arrived
        # earlier is installed by this run.
        systemd.services.dm-dns-install = {
          description = "dm-dns: verify and install the signed zone";
          after = [
            "unbound.service"
            "dm-dns-install.path"
          ] ++ lib.optional withKnot "dm-dns-knot.service";
          requires = [ (if withKnot then "dm-dns-knot.service" else "unbound.service") ];
          wantedBy = [ "multi-user.target" ];
          # A deploy that changes the node configuration (a new signing key
          # after a rotation) runs it again, so a file refused before is
          # installed at once.
          restartTriggers = [ nodeConfig ];
          serviceConfig = serviceConfig // {
            ExecStart = installCommand true;
          };
        };
      };
    };
  # The options before `settings`, each now a key of it.
  renamed =
    { lib, ... }:
    {
      imports =
        map
          (
            { from, to }:
            lib.mkRenamedOptionModule
              [
                "services"
                "dm-dns"
                from
              ]
              [
                "services"
                "dm-dns"
                "settings"
                to
              ]
          )
          [
            {
              from = "domain";
              to = "domain";
            }
            {
              from = "meshFile";
              to = "mesh_file";
            }
            {
              from = "trustedKeys";
              to = "trusted_keys";
            }
            {
              from = "hosts";
              to = "hosts";
            }
            {
              from = "controlTimeout";
              to = "control_timeout";
            }
            {
              from = "maxMeshSize";
              to = "max_mesh_size";
            }
            {
              from = "allowRollback";
              to = "allow_rollback";
            }
            {
              from = "stateDir";
              to = "state_dir";
            }
          ];
    };
in
{
  key = "dm-dns/nix/modules/nixos.nix";
  _file = ./nixos.nix;
  imports = [
    module
    renamed
  ];
}
