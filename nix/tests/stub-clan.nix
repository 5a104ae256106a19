# The modules evaluated with stand-ins for what only a real clan and nixpkgs
# provide (clanLib, lib, pkgs, config). This checks their shape and wiring:
# roles, manifest, exports, generator scripts, the services they declare. It
# does not replace the NixOS VM test, which runs with nixpkgs.
let
  # The few nixpkgs lib functions the modules call, with plain semantics.
  stubLib = {
    mkOption = o: o;
    mkEnableOption = d: { description = d; };
    mkDefault = v: v;
    mkIf = condition: content: { inherit condition content; };
    optional = c: v: if c then [ v ] else [ ];
    genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
    getExe = p: "${p}/bin/dm-dns";
    escapeShellArgs = args: builtins.concatStringsSep " " (map (a: "'${a}'") args);
    literalExpression = t: t;
    types = {
      package = "package";
      str = "str";
      port = "port";
      nullOr = t: "nullOr ${t}";
      listOf = t: "listOf ${t}";
      attrsOf = t: "attrsOf ${t}";
    };
  };
  fakePackage = {
    outPath = "/nix/store/0000000000000000000000000000000a-dm-dns-0.1.0";
    system = "x86_64-linux";
  };

  pkgs = {
    stdenv.hostPlatform.system = "x86_64-linux";
    writeShellApplication = a: a;
    writeText = name: text: "/nix/store/00000000000000000000000000000000-${name}";
  };

  config = {
    clan.core.settings.domain = "clan";
    clan.core.networking.internalListenAddresses = [ "10.0.0.1" ];
    clan.core.vars.generators = {
      dm-dns-signing-key.files."signing.key".path = "/run/secrets/signing.key";
      data-mesher-network.files."network.pub".path = "/run/secrets/network.pub";
    };
    services.data-mesher = {
      package = "/nix/store/0000000000000000000000000000000b-data-mesher";
      group = "data-mesher";
    };
    services.nginx.enable = true;
    services.caddy.enable = false;
  };
in
{
  lib = stubLib;
  inherit fakePackage pkgs config;

  checks =
    {
      lib,
      expect,
      exports,
    }:
    let
      publicPem = builtins.readFile ./vm-signing.pub;
      clanLibWith = value: {
        getPublicValue = args: if args.generator == "dm-dns-signing-key" && args.file == "signing.pub" then value else args.default;
      };
      service =
        signingPub:
        import ../modules/clan-service.nix {
          packageFor = _system: fakePackage;
          nixosModule = "the dm-dns NixOS module";
        } {
          clanLib = clanLibWith signingPub;
          directory = ./.;
          inherit exports;
        };
      withKey = service publicPem;
      withoutKey = service null;
      mkExports = e: e;
      machine = {
        name = "beta";
      };
      push = withKey.roles.push.perInstance { inherit mkExports machine; };
      pushModule = push.nixosModule {
        inherit config pkgs;
        lib = stubLib;
      };
      default = withKey.roles.default.perInstance { inherit mkExports machine; };
      defaultModule = default.nixosModule {
        inherit config pkgs;
        lib = stubLib;
      };
      sendScript = (builtins.head pushModule.environment.systemPackages).text;
      missingKey = builtins.tryEval (
        builtins.deepSeq (withoutKey.roles.push.perInstance { inherit mkExports machine; }).exports null
      );

      # NixOS module with stand-ins: options exist, config wires unbound.
      nixos =
        import ../modules/nixos.nix { dmDnsPackage = fakePackage; } {
          lib = stubLib;
          inherit pkgs;
          config = {
            services.dm-dns = {
              enable = true;
              package = fakePackage;
              domain = "clan";
              port = 5353;
              meshFile = "/var/lib/data-mesher/files/home/dns/cnames";
              meshGroup = "data-mesher";
              trustedKeys = [ "K" ];
              hosts = { "10.0.0.1" = [ "alpha.clan" ]; };
              stateDir = "/var/lib/dm-dns";
            };
            networking.hosts = { };
            services.unbound = {
              localControlSocketPath = "/run/unbound/unbound.ctl";
              package = "/nix/store/00000000000000000000000000000000-unbound";
            };
          };
        };
      nixosConfig = nixos.config.content;
    in
    [
      (expect "service class" withKey._class "clan.service")
      (expect "manifest" {
        inherit (withKey.manifest) name categories exports;
      } {
        name = "dm-dns";
        categories = [ "Network" ];
        exports = {
          out = [ "dataMesher" ];
          inputs = [ "endpoints" ];
        };
      })
      (expect "roles" (builtins.attrNames withKey.roles) [ "default" "push" ])
      (expect "push exports the key as data-mesher's allowlist" push.exports.dataMesher.files."dns/cnames" [
        (lib.publicKeyBase64 publicPem)
      ])
      (expect "push export without a key is a clear error" missingKey.success false)
      (expect "signing key generator" pushModule.clan.core.vars.generators.dm-dns-signing-key.script (
        lib.signingKeyScript "${fakePackage}/bin/dm-dns"
      ))
      (expect "signing key files" (builtins.attrNames pushModule.clan.core.vars.generators.dm-dns-signing-key.files) [
        "signing.key"
        "signing.pub"
      ])
      (expect "dm-send-dns signs then uploads" (
        builtins.match ".*dm-dns sign --key \"\\$key\" --zone /nix/store/[a-z0-9]{32}-dm-dns-zone --out \"\\$tmp/cnames\".*file update \"\\$tmp/cnames\".*--name dns/cnames.*" sendScript != null
      ) true)
      (expect "default role enables the NixOS module" defaultModule.services.dm-dns.enable true)
      (expect "default role trusts the push key" defaultModule.services.dm-dns.trustedKeys [
        (lib.publicKeyBase64 publicPem)
      ])
      (expect "default role reads data-mesher's dns/cnames" defaultModule.services.dm-dns.meshFile "/var/lib/data-mesher/files/home/dns/cnames")
      (expect "zone generator copies the zone" (builtins.match "for f in zone.conf zone.db manifest.json; do\n  cp /nix/store/[a-z0-9]{32}-dm-dns-zone/\\$f \"\\$out/\\$f\"\ndone\n" defaultModule.clan.core.vars.generators.dm-dns.script != null) true)
      (expect "zone generator is tied to the zone derivation" (builtins.match "/nix/store/.*-dm-dns-zone.drv" defaultModule.clan.core.vars.generators.dm-dns.validation.zone != null) true)
      (expect "one zone derivation for every machine"
        (defaultModule.clan.core.vars.generators.dm-dns.validation.zone)
        ((withKey.roles.default.perInstance { inherit mkExports; machine.name = "alpha"; }).nixosModule {
          inherit config pkgs;
          lib = stubLib;
        }).clan.core.vars.generators.dm-dns.validation.zone
      )
      (expect "data-mesher dns plugin directory" defaultModule.services.data-mesher.pluginDirectories [ "dns" ])
      (expect "nginx vhosts of own endpoints listen internally" defaultModule.services.nginx.virtualHosts.content."wiki.clan".listenAddresses [ "10.0.0.1" "127.0.0.1" "[::1]" ])
      (expect "NixOS module options" (builtins.attrNames nixos.options.services.dm-dns) [
        "domain" "enable" "hosts" "meshFile" "meshGroup" "package" "port" "stateDir" "trustedKeys"
      ])
      (expect "NixOS module: unbound auth-zone" (builtins.head nixosConfig.services.unbound.settings.auth-zone).zonefile "/var/lib/dm-dns/zone/clan.zone")
      (expect "NixOS module: install on mesh change" nixosConfig.systemd.paths.dm-dns-install.pathConfig.PathChanged "/var/lib/data-mesher/files/home/dns/cnames")
      (expect "NixOS module: zone before unbound" nixosConfig.systemd.services.dm-dns-prepare.before [ "unbound.service" ])
      (expect "NixOS module: prepare does not reload" (builtins.match ".*'--no-reload'.*" nixosConfig.systemd.services.dm-dns-prepare.script != null) true)
      (expect "NixOS module: install reloads through the socket" (builtins.match ".*'--unbound-control' '/nix/store/[a-z0-9]{32}-unbound/bin/unbound-control -s /run/unbound/unbound.ctl'.*" nixosConfig.systemd.services.dm-dns-install.script != null) true)
      (expect "NixOS module: install unit has its own user" nixosConfig.systemd.services.dm-dns-install.serviceConfig.User nixosConfig.users.users.dm-dns.group)
      (expect "NixOS module: install unit reaches the control socket and reads the mesh" nixosConfig.systemd.services.dm-dns-install.serviceConfig.SupplementaryGroups [ "unbound" "data-mesher" ])
      (expect "NixOS module: resolved" nixosConfig.services.resolved.settings.Resolve.Domains [ "~clan" ])
    ];
}
