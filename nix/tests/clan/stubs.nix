# Declarations of the options dm-dns touches whose modules are not vendored,
# with the types and defaults of their upstream modules: data-mesher's NixOS
# module (group, package, plugin directories), the `data-mesher-network`
# generator that clan-core's data-mesher service defines
# (clanServices/data-mesher/default.nix), nixpkgs' `networking.hosts`, and
# where a secret store (sops, by default) puts secret vars on the node
# (clanCore/vars/secret/sops/default.nix: /run/secrets/vars/<dir>/<file>), and
# the nginx and caddy virtual hosts' `listenAddresses` (a list of strings,
# default empty, in both nixpkgs modules).
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  virtualHosts = mkOption {
    type = types.attrsOf (
      types.submodule {
        freeformType = types.lazyAttrsOf types.anything;
        options.listenAddresses = mkOption {
          type = types.listOf types.str;
          default = [ ];
        };
      }
    );
    default = { };
  };
in
{
  options = {
    networking.hosts = mkOption {
      type = types.attrsOf (types.listOf types.str);
      default = { };
    };
    services.data-mesher = {
      package = mkOption {
        type = types.package;
        default = pkgs.writeTextFile {
          name = "data-mesher";
          text = "";
          meta.mainProgram = "data-mesher";
        };
      };
      group = mkOption {
        type = types.str;
        default = "data-mesher";
      };
      pluginDirectories = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
    };
    services.nginx = {
      enable = mkOption {
        type = types.bool;
        default = false;
      };
      inherit virtualHosts;
    };
    services.caddy = {
      enable = mkOption {
        type = types.bool;
        default = false;
      };
      inherit virtualHosts;
    };
  };
  # What nixpkgs' nixos/modules/config/networking.nix gives every machine:
  # localhost, and its own names on 127.0.0.2.
  config.networking.hosts = {
    "127.0.0.1" = [ "localhost" ];
    "::1" = [ "localhost" ];
    "127.0.0.2" =
      lib.optional (config.networking.domain or null != null)
        "${config.networking.hostName}.${config.networking.domain}"
      ++ [ config.networking.hostName ];
  };
  config.clan.core.vars.settings.fileModule = file: {
    path = lib.mkIf file.config.secret "/run/secrets/vars/${file.config.rel_dir}/${file.config.name}";
  };
  config.clan.core.vars.generators.data-mesher-network = {
    share = true;
    files."network.key".deploy = false;
    files."network.pub".secret = false;
  };
}
