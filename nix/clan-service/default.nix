# The `dm-dns` clan service: a drop-in for clan-core's built-in dm-dns with the
# same roles, mesh file and key formats, built on the dm-dns tool.
#
# `packageFor` maps a system to the dm-dns package; `nixosModule` is this
# flake's NixOS module (both filled in by flake.nix).
{ packageFor, nixosModule }:
{
  lib,
  clanLib,
  directory,
  exports,
  ...
}:
let
  dmLib = import ../lib { inherit lib; };
  meshName = "dns/cnames";

  # Evaluated once per instance and shared by every machine: the projection
  # of the whole clan's exports is the expensive part of the zone. Var
  # references in peer exports are read from the clan's public vars (never
  # secrets); one not generated yet is skipped, not an error.
  projection.readVar =
    ref:
    clanLib.getPublicValue {
      inherit (ref) machine generator file;
      flake = ref.flake or directory;
      default = null;
    };
  exportsJSON = dmLib.exports.exportsJSONWith projection exports;
  exportsFile = dmLib.exports.writeExportsFileWith projection exports;
  hostsByMachine = dmLib.exports.hostsByMachine exports;
  # `{ <zerotier instance> = { <machine> = [ ip ]; }; }`
  zerotierAddresses = dmLib.exports.zerotierAddresses exports;
  # A machine's ZeroTier addresses, in every network.
  zerotierAddressesOf =
    machine: lib.concatMap (byMachine: byMachine.${machine} or [ ]) (builtins.attrValues zerotierAddresses);

  zoneFor =
    system: domain: networks: records:
    dmLib.zone.mkZone {
      dm-dns = packageFor system;
      inherit
        system
        domain
        exportsFile
        networks
        records
        ;
    };

  # The network services the clan's exports name (`<service>:<instance>::`
  # scopes), for the reverse zones of overlay networks.
  networkServices = lib.unique (
    map (key: builtins.head (lib.splitString ":" key)) (
      builtins.filter (key: lib.hasSuffix "::" key) (builtins.attrNames exports)
    )
  );

  signingPub = clanLib.getPublicValue {
    flake = directory;
    generator = "dm-dns-signing-key";
    file = "signing.pub";
    default = null;
  };
in
{
  _class = "clan.service";
  manifest = {
    name = "dm-dns";
    description = "Clan endpoint names on every machine: validated, signed, atomically installed DNS";
    categories = [ "Network" ];
    readme = builtins.readFile ./README.md;
    exports.out = [ "dataMesher" ];
    exports.inputs = [
      "endpoints"
      "peer"
      "networking"
    ];
  };

  roles.push = {
    description = "Signs the clan's zone and sends it through data-mesher (dm-send-dns)";
    interface = { };
    perInstance =
      { mkExports, machine, ... }:
      {
        exports = mkExports {
          dataMesher.files.${meshName} = [
            (
              if signingPub == null then
                throw ''
                  dm-dns: the signing key is not generated yet.
                  Run: clan vars generate ${machine.name} --generator dm-dns-signing-key
                ''
              else
                dmLib.keys.publicKeyBase64 signingPub
            )
          ];
        };
        nixosModule =
          {
            config,
            lib,
            pkgs,
            ...
          }:
          let
            generators = config.clan.core.vars.generators;
          in
          {
            # `pkgs` is the deployer's when clan runs a generator, so this
            # runs on whatever system generates the vars.
            clan.core.vars.generators.dm-dns-signing-key = {
              share = true;
              files."signing.key" = { };
              files."signing.pub".secret = false;
              runtimeInputs = [ (packageFor pkgs.stdenv.hostPlatform.system) ];
              script = ''
                dm-dns keygen --private-key-path "$out/signing.key" --public-key-path "$out/signing.pub"
              '';
            };
            # The built-in service's docs had users add their own
            # dm-send-dns through extraModules; two on one PATH would make
            # which one runs a matter of order.
            assertions = [
              {
                assertion =
                  builtins.length (
                    builtins.filter (p: (p.name or "") == "dm-send-dns") config.environment.systemPackages
                  ) == 1;
                message = ''
                  dm-dns: this machine has two `dm-send-dns` commands. The push role
                  brings its own; remove the one from the built-in dm-dns service's
                  `roles.default.extraModules` (README, "Migrating from the built-in
                  service").
                '';
              }
            ];
            environment.systemPackages = [
              (pkgs.writeShellApplication {
                name = "dm-send-dns";
                runtimeInputs = [
                  config.services.dm-dns.package
                  config.services.data-mesher.package
                ];
                runtimeEnv = {
                  DM_DNS_ZONE = config.services.dm-dns.zone;
                  DM_DNS_KEY = generators.dm-dns-signing-key.files."signing.key".path;
                  DM_DNS_PUBLIC_KEY = generators.dm-dns-signing-key.files."signing.pub".path;
                  DM_DNS_MESH_FILE = config.services.dm-dns.settings.mesh_file;
                  DM_DNS_NETWORK_ID = generators.data-mesher-network.files."network.pub".path;
                  DM_DNS_MESH_NAME = meshName;
                  DM_DNS_URL = "http://localhost:7331";
                };
                text = builtins.readFile ../scripts/dm-send-dns.sh;
              })
            ];
          };
      };
  };

  roles.server = {
    description = "Answers clan names for devices outside the clan: phones, laptops, the LAN";
    interface =
      { lib, ... }:
      {
        options.listen = lib.mkOption {
          type = lib.types.nullOr (lib.types.listOf lib.types.str);
          default = null;
          example = [ "192.168.1.5" ];
          description = ''
            Addresses to answer on (`address` or `address@port`, port 53). null:
            the machine's `clan.core.networking.internalListenAddresses`.
          '';
        };
        options.allow = lib.mkOption {
          type = lib.types.nullOr (lib.types.listOf lib.types.str);
          default = null;
          example = [ "192.168.1.0/24" ];
          description = ''
            Networks (CIDR) that may ask; everyone else is REFUSED. null: the
            network of each listen address (200::/7 for yggdrasil, 400::/7 for
            mycelium, another IPv6 address's /64, an IPv4 address's /24).
          '';
        };
        options.forward = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = [ ];
          example = [ "9.9.9.9" ];
          description = ''
            Where names outside the clan go (`address[@port]`); empty: the
            server resolves them itself, validating DNSSEC.
          '';
        };
      };
    perInstance =
      {
        instanceName,
        machine,
        settings,
        roles,
        ...
      }:
      {
        nixosModule =
          { config, lib, ... }:
          {
            assertions = [
              {
                assertion = roles.default.machines ? ${machine.name};
                message = ''
                  dm-dns: machine ${machine.name} is in the `server` role of instance
                  ${instanceName} but not in its `default` role, which installs the zone
                  the server answers from. Add it to `roles.default` too.
                '';
              }
            ];
            services.dm-dns.server = {
              enable = true;
              inherit (settings) forward;
              # The internal addresses and, as clan's zerotier service does
              # not list its own there, the machine's ZeroTier addresses.
              listen =
                if settings.listen != null then
                  settings.listen
                else
                  lib.mkDefault (
                    lib.unique (
                      builtins.filter (
                        a: !dmLib.node.isLoopback a
                      ) config.clan.core.networking.internalListenAddresses
                      ++ zerotierAddressesOf machine.name
                    )
                  );
              allow = lib.mkIf (settings.allow != null) settings.allow;
            };
          };
      };
  };

  roles.default = {
    description = "Resolves the clan's endpoint names with a local unbound fed by data-mesher";
    interface =
      { lib, ... }:
      {
        options.networks = lib.mkOption {
          type = lib.types.nullOr (lib.types.listOf lib.types.str);
          default = null;
          example = [
            "yggdrasil"
            "mycelium"
          ];
          description = ''
            Network services whose exported addresses (`peer.hosts`) machine
            names get, preferred first (`clan-core/yggdrasil` or `yggdrasil`).
            null: every network except `internet` and `tor`, highest
            `networking.priority` first; only IP literals count. Set it on
            the role, not per machine: every machine shares one zone.
          '';
        };
        options.records = lib.mkOption {
          type = lib.types.attrsOf (lib.types.attrsOf lib.types.anything);
          default = { };
          example = {
            "printer.clan".A = [ "192.168.1.20" ];
            "git.clan".CNAME = "forge.clan";
            "_ldap._tcp.clan".SRV = [
              {
                priority = 10;
                weight = 5;
                port = 389;
                target = "alpha.clan";
              }
            ];
            "clan".TXT = [ "v=spf1 -all" ];
          };
          description = ''
            Records beside the endpoints, for what exports nothing: name ->
            type (A, AAAA, CNAME, TXT, SRV) -> values, checked as strictly
            as exports when the zone is built (README, "Declared
            records"). Set it on the role, not per machine: every machine
            shares one zone.
          '';
        };
      };
    perInstance =
      {
        instanceName,
        mkExports,
        machine,
        settings,
        roles,
        ...
      }:
      let
        # One zone for the whole clan: every machine must choose addresses
        # the same way.
        networksByMachine = builtins.mapAttrs (_: m: m.settings.networks) roles.default.machines;
        networksDiffer = builtins.any (n: n != settings.networks) (builtins.attrValues networksByMachine);
        recordsDiffer = builtins.any (m: m.settings.records != settings.records) (
          builtins.attrValues roles.default.machines
        );
      in
      {
        exports = mkExports { };
        nixosModule =
          {
            config,
            options,
            lib,
            pkgs,
            ...
          }:
          let
            domain = config.clan.core.settings.domain;
            # On the controller of clan's zerotier service, its networks'
            # settings (clanServices/zerotier/default.nix: `dns = { }`, which
            # ZeroTier pushes to members): the dm-dns servers' addresses in
            # each network, so members resolve clan names unconfigured.
            zerotierNetworks = lib.attrByPath [
              "clan"
              "core"
              "zerotier"
              "networks"
            ] { } options;
            serversIn =
              network:
              lib.concatMap (server: zerotierAddresses.${network}.${server} or [ ]) (
                builtins.attrNames (roles.server.machines or { })
              );
            ownHosts = dmLib.exports.internalHostsOf {
              inherit domain;
              machine = machine.name;
              byMachine = hostsByMachine;
            };
            internal = config.clan.core.networking.internalListenAddresses;
            listen = dmLib.webserver.internalListenAddresses internal;
            # The machine's own name: the internal addresses its services
            # listen on, never the 127.0.0.2 NixOS gives it in
            # networking.hosts; without them, the zone's address.
            ownName = "${machine.name}.${domain}";
            ownAddresses = builtins.listToAttrs (
              map (address: {
                name = address;
                value = [ ownName ];
              }) (builtins.filter (a: !dmLib.node.isLoopback a) internal)
            );
            hostsDefault = builtins.zipAttrsWith (_: lists: lib.unique (builtins.concatLists lists)) [
              (dmLib.node.hostsUnderDomain domain config.networking.hosts)
              ownAddresses
            ];
            # Adds a default to the virtual hosts the user defines for this
            # machine's own endpoints; it creates none. mkDefault: the
            # user's own listenAddresses win.
            restrictVhosts = lib.mkOption {
              type = lib.types.attrsOf (
                lib.types.submodule (
                  { name, ... }:
                  {
                    config.listenAddresses = lib.mkIf (listen != [ ] && builtins.elem name ownHosts) (
                      lib.mkDefault listen
                    );
                  }
                )
              );
            };
          in
          {
            imports = [ nixosModule ];
            options.services.nginx.virtualHosts = restrictVhosts;
            options.services.caddy.virtualHosts = restrictVhosts;

            config = {
              assertions = [
                {
                  assertion = !networksDiffer;
                  message = ''
                    dm-dns: the `networks` setting differs between machines of instance
                    ${instanceName} (${
                      builtins.concatStringsSep ", " (
                        lib.mapAttrsToList (m: n: "${m}: ${builtins.toJSON n}") networksByMachine
                      )
                    }). Every machine shares one zone: set it once, on
                    `roles.default.settings`, not per machine.
                  '';
                }
                {
                  assertion = !recordsDiffer;
                  message = ''
                    dm-dns: the `records` setting differs between machines of instance
                    ${instanceName}. Every machine shares one zone: set it once, on
                    `roles.default.settings`, not per machine.
                  '';
                }
              ];

              services.dm-dns = {
                enable = true;
                package = lib.mkDefault (packageFor pkgs.stdenv.hostPlatform.system);
                zone = zoneFor pkgs.stdenv.hostPlatform.system domain settings.networks settings.records;
                # the module's default mesh_file is data-mesher's dns/cnames
                meshGroup = config.services.data-mesher.group;
                settings = {
                  inherit domain;
                  trusted_keys = lib.optional (signingPub != null) (dmLib.keys.publicKeyBase64 signingPub);
                  hosts = lib.mkDefault hostsDefault;
                  redeploy = "clan machines update ${machine.name}";
                  reverse_zones = lib.mkDefault (
                    dmLib.node.reverseZonesOf {
                      networkServices = if settings.networks == null then networkServices else settings.networks;
                      inherit (settings) records;
                    }
                  );
                };
              };

              # The public zone files. Regenerated when what the zone depends
              # on changes (the projected exports, the domain, the zone
              # format), whichever system the deployer runs: the script
              # builds the zone with the deployer's dm-dns, same bytes on
              # every system.
              clan.core.vars.generators.dm-dns = {
                share = true;
                files."zone.conf".secret = false;
                files."zone.db".secret = false;
                files."manifest.json".secret = false;
                validation = dmLib.zone.zoneValidation {
                  inherit domain exportsJSON;
                  inherit (settings) networks records;
                };
                runtimeInputs = [ (packageFor pkgs.stdenv.hostPlatform.system) ];
                script = ''
                  dm-dns zone --exports ${exportsFile} --domain ${lib.escapeShellArg domain} --out "$out" ${
                    lib.escapeShellArgs (
                      dmLib.zone.networksArgs settings.networks ++ dmLib.zone.recordsArgs settings.records
                    )
                  }
                '';
              };

              services.data-mesher.pluginDirectories = [ "dns" ];
            }
            // lib.optionalAttrs (zerotierNetworks != { }) {
              clan.core.zerotier.networks = builtins.mapAttrs (network: _: {
                settings.dns = lib.mkIf (serversIn network != [ ]) {
                  inherit domain;
                  servers = serversIn network;
                };
              }) zerotierNetworks;
            };
          };
      };
  };
}
