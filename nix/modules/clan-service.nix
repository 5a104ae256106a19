# The `dm-dns` clan service: a drop-in for clan-core's built-in dm-dns with the
# same roles, mesh file and key formats, built on the dm-dns tool.
#
# `packageFor` maps a system to the dm-dns package; `nixosModule` is this
# flake's NixOS module (both filled in by flake.nix).
{ packageFor, nixosModule }:
{
  clanLib,
  directory,
  exports,
  ...
}:
let
  dmLib = import ../lib.nix;
  meshName = "dns/cnames";

  # Evaluated once per instance, shared by every machine: the projection of
  # the whole clan's exports is the expensive part of the zone.
  exportsFile = dmLib.writeExportsFile exports;
  hostsByMachine = dmLib.hostsByMachine exports;

  zoneFor =
    pkgs: domain:
    dmLib.mkZone {
      dm-dns = packageFor pkgs.stdenv.hostPlatform.system;
      inherit domain exportsFile;
    };

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
    readme = builtins.readFile ../../README.md;
    exports.out = [ "dataMesher" ];
    exports.inputs = [ "endpoints" ];
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
                dmLib.publicKeyBase64 signingPub
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
            dm-dns = packageFor pkgs.stdenv.hostPlatform.system;
            generators = config.clan.core.vars.generators;
          in
          {
            clan.core.vars.generators.dm-dns-signing-key = {
              share = true;
              files."signing.key" = { };
              files."signing.pub".secret = false;
              script = dmLib.signingKeyScript (lib.getExe dm-dns);
            };
            environment.systemPackages = [
              (pkgs.writeShellApplication {
                name = "dm-send-dns";
                text = dmLib.sendScript {
                  dmDnsExe = lib.getExe dm-dns;
                  dataMesherExe = lib.getExe config.services.data-mesher.package;
                  zone = zoneFor pkgs config.clan.core.settings.domain;
                  keyPath = generators.dm-dns-signing-key.files."signing.key".path;
                  networkIdPath = generators.data-mesher-network.files."network.pub".path;
                  inherit meshName;
                };
              })
            ];
          };
      };
  };

  roles.default = {
    description = "Resolves the clan's endpoint names with a local unbound fed by data-mesher";
    interface = { };
    perInstance =
      { mkExports, machine, ... }:
      {
        exports = mkExports { };
        nixosModule =
          {
            config,
            lib,
            pkgs,
            ...
          }:
          let
            domain = config.clan.core.settings.domain;
            zone = zoneFor pkgs domain;
            ownHosts = dmLib.internalHostsOf {
              inherit domain;
              machine = machine.name;
              byMachine = hostsByMachine;
            };
            listen = dmLib.internalListenAddresses config.clan.core.networking.internalListenAddresses;
          in
          {
            imports = [ nixosModule ];
            services.dm-dns = {
              enable = true;
              inherit domain;
              package = packageFor pkgs.stdenv.hostPlatform.system;
              trustedKeys = lib.optional (signingPub != null) (dmLib.publicKeyBase64 signingPub);
              meshFile = "/var/lib/data-mesher/files/home/${meshName}";
              meshGroup = config.services.data-mesher.group;
            };

            # The public zone files, regenerated whenever the zone derivation changes.
            clan.core.vars.generators.dm-dns = {
              share = true;
              files."zone.conf".secret = false;
              files."zone.db".secret = false;
              files."manifest.json".secret = false;
              validation.zone = builtins.unsafeDiscardStringContext zone.drvPath;
              script = dmLib.zoneScript zone;
            };

            services.data-mesher.pluginDirectories = [ "dns" ];

            # This machine's internal endpoints are served to the clan only.
            services.nginx.virtualHosts = lib.mkIf config.services.nginx.enable (
              lib.genAttrs ownHosts (_: {
                listenAddresses = listen;
              })
            );
            services.caddy.virtualHosts = lib.mkIf config.services.caddy.enable (
              lib.genAttrs ownHosts (_: {
                listenAddresses = listen;
              })
            );
          };
      };
  };
}
