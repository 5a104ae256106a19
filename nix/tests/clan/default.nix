# A clan built by clan-core's real `clanLib.clan` from the vendored sources,
# with dm-dns as a service of its inventory. Machines are evaluated with
# nixpkgs' real unbound, resolved and resolvconf modules (mininixos), the
# real clan-core machine modules that dm-dns reads (settings, networking,
# the vars generator interface), and declarations for the few options whose
# modules are not vendored (data-mesher, nginx, caddy: ./stubs.nix).
#
#   vendor          the vendored sources (../shared/vendor from the repository)
#   deployerSystem  the system of `pkgs`, as clan's configsPerSystem gives a
#                   deployer's pkgs to the generators
#   packageFor      system -> dm-dns package (default: a stand-in per system)
#   signed          whether the clan's directory holds the signing key
#   rotated         whether that key is the one after a rotation
#                   (nix/tests/rotated-signing.pub, not vm-signing.pub)
#   machines        extra NixOS config per machine (`clan.machines.<name>`)
#   endpoints       endpoints exported by a test service:
#                   `{ <instance> = { <machine> = [ host ... ]; }; }`
#   networks        network services in clan-core's export shapes:
#                   `{ <service> = { priority; peers = { <machine> = [ entry ]; }; }; }`,
#                   entries `{ plain = ...; }` or `{ var = <file>; }` (a var of
#                   generator <service>, read from ./keyed/vars)
#   dmDnsSettings   settings of dm-dns's default role
#   dmDnsMachineSettings  per machine settings of that role: `{ <machine> = { ... }; }`
#   dmDnsServers    machines of dm-dns's server role: `{ <machine> = settings; }`
#   zerotier        a ZeroTier network (instance `zt`) in the shapes of clan's
#                   zerotier service: `{ controller; addresses.<machine> = ip; }`
{
  vendor,
  deployerSystem ? "x86_64-linux",
  packageFor ? null,
  signed ? true,
  rotated ? false,
  machines ? { },
  endpoints ? {
    music.alpha = [ "music.clan" ];
    docs.beta = [
      "wiki.clan"
      "wiki.example.org"
    ];
  },
  networks ? {
    # IP literals from a var (beta's is not generated: skipped).
    yggdrasil = {
      priority = 2000;
      peers.alpha = [ { var = "address"; } ];
      peers.beta = [ { var = "address"; } ];
    };
    mycelium = {
      priority = 800;
      peers.alpha = [ { plain = "4ab:1::a"; } ];
      peers.beta = [ { plain = "4ab:1::b"; } ];
    };
    # Reaches machines from outside: left out by default.
    internet = {
      priority = 2000;
      peers.alpha = [ { plain = "203.0.113.1"; } ];
    };
    # Names, not addresses.
    wireguard = {
      priority = 1000;
      peers.beta = [ { plain = "beta.wg.example"; } ];
    };
  },
  dmDnsSettings ? { },
  dmDnsMachineSettings ? { },
  dmDnsServers ? { },
  zerotier ? null,
  systemdVersion ? "258.1",
  # real store files for pkgs.writeText (needs --read-write-mode), so that
  # rendered units can be run: nix/tests/node.sh
  realFiles ? false,
}:
let
  lib = import (vendor + "/nixpkgs-lib/lib");
  mininixos = vendor + "/mininixos";
  clanCore = vendor + "/clan-core";

  stubPkgs = import (mininixos + "/stubs/pkgs.nix") { inherit lib; };
  fake =
    name: attrs:
    stubPkgs.writeTextFile {
      inherit name;
      text = "";
    }
    // attrs;
  pkgs =
    stubPkgs
    # packages clanCore/defaults.nix lists
    // lib.genAttrs [ "nixos-facter" "tcpdump" "curl" "htop" "gitMinimal" ] (name: fake name { })
    // {
    stdenv = stubPkgs.stdenv // {
      hostPlatform = {
        system = deployerSystem;
        isLinux = lib.hasSuffix "-linux" deployerSystem;
        isDarwin = lib.hasSuffix "-darwin" deployerSystem;
      };
    };
    systemd = stubPkgs.systemd // {
      version = systemdVersion;
    };
    writeScript = name: text: fake name { inherit text; };
    writeText = if realFiles then builtins.toFile else stubPkgs.writeText;
    # nixpkgs' pkgs.formats.json (pkgs/pkgs-lib/formats.nix): a JSON value
    # type, and `generate` writing the value as JSON (pretty-printed by jq
    # there; the same data).
    formats.json =
      { }:
      {
        type =
          let
            value =
              lib.types.nullOr (
                lib.types.oneOf [
                  lib.types.bool
                  lib.types.int
                  lib.types.float
                  lib.types.str
                  lib.types.path
                  (lib.types.attrsOf value)
                  (lib.types.listOf value)
                ]
              )
              // {
                description = "JSON value";
              };
          in
          value;
        generate = name: value: pkgs.writeText name (builtins.toJSON value);
      };
    writeShellApplication =
      { name, ... }@args:
      fake name (removeAttrs args [ "name" ] // { meta.mainProgram = name; });
  };
  utils = import (mininixos + "/stubs/utils.nix") { inherit lib; };

  # Stand-in for nixpkgs' `lib.nixosSystem`: lib.evalModules over the real
  # modules named above.
  nixosSystem =
    {
      modules,
      specialArgs ? { },
    }:
    lib.evalModules {
      class = "nixos";
      inherit specialArgs;
      modules = [
        { _module.args = { inherit pkgs utils; }; }
        (mininixos + "/stubs/base.nix")
        (mininixos + "/nixpkgs/nixos/modules/services/networking/unbound.nix")
        (mininixos + "/nixpkgs/nixos/modules/system/boot/resolved.nix")
        (mininixos + "/nixpkgs/nixos/modules/config/resolvconf.nix")
        (clanCore + "/nixosModules/clanCore/defaults.nix")
        (clanCore + "/nixosModules/clanCore/settings.nix")
        (clanCore + "/nixosModules/clanCore/state-version")
        (clanCore + "/nixosModules/clanCore/networking.nix")
        (clanCore + "/nixosModules/clanCore/dependencies.nix")
        # clan.core.vars as clanCore/vars/default.nix declares it, without
        # the secret stores
        (
          { config, ... }:
          {
            options.clan.core.vars = lib.mkOption {
              type = lib.types.submodule {
                imports = [
                  (clanCore + "/nixosModules/clanCore/vars/interface.nix")
                  {
                    inherit pkgs;
                    machineName = config.clan.core.settings.machine.name;
                  }
                ];
              };
            };
          }
        )
        (clanCore + "/nixosModules/clanCore/vars/public/in_repo.nix")
        ./stubs.nix
      ]
      ++ modules;
    };

  nixpkgs = {
    lib = lib // {
      inherit nixosSystem;
    };
    legacyPackages = lib.genAttrs [
      "x86_64-linux"
      "aarch64-linux"
      "riscv64-linux"
      "aarch64-darwin"
    ] (_: pkgs);
  };

  # clanLib with `clan`, as clan-core's lib/flake-module.nix assembles it.
  clanLib = lib.fix (
    lib.extends (
      final: _:
      let
        clan-core = {
          clanLib = final;
          modules.clan.default = lib.modules.importApply (clanCore + "/modules/clan") { inherit clan-core; };
        };
      in
      {
        clan = import (clanCore + "/lib/clan") { inherit lib clan-core; };
      }
    ) (import (clanCore + "/lib") { inherit lib; }).__unfix__
  );

  packageFor' =
    if packageFor != null then
      packageFor
    else
      system:
      (stubPkgs.writeTextFile {
        name = "dm-dns-${system}";
        text = "";
      })
      // {
        meta.mainProgram = "dm-dns";
      };

  nixosModule = import ../../modules/nixos.nix { };
  service = import ../../clan-service {
    packageFor = packageFor';
    inherit nixosModule;
  };

  # A service that exports endpoints, as real services do.
  endpointsService = {
    _class = "clan.service";
    manifest.name = "endpoints";
    manifest.exports.out = [ "endpoints" ];
    roles.server = {
      interface =
        { lib, ... }:
        {
          options.hosts = lib.mkOption { type = lib.types.listOf lib.types.str; };
        };
      perInstance =
        { mkExports, settings, ... }:
        {
          exports = mkExports { endpoints.hosts = settings.hosts; };
          nixosModule = { };
        };
    };
  };

  # A network service as clan-core's exports it: the instance's
  # `networking.priority`, each machine's `peer.hosts`.
  networkService =
    serviceName: network:
    { config, directory, ... }:
    {
      _class = "clan.service";
      manifest.name = "clan-core/${serviceName}";
      manifest.exports.out = [
        "networking"
        "peer"
      ];
      exports = lib.mapAttrs' (instanceName: _: {
        name = clanLib.buildScopeKey {
          inherit instanceName;
          serviceName = config.manifest.name;
        };
        value.networking.priority = network.priority;
      }) config.instances;
      roles.peer.perInstance =
        { mkExports, machine, ... }:
        {
          exports = mkExports {
            peer.hosts = map (
              entry:
              if entry ? var then
                {
                  var = {
                    machine = machine.name;
                    generator = serviceName;
                    file = entry.var;
                    flake = directory;
                  };
                }
              else
                entry
            ) (network.peers.${machine.name} or [ ]);
          };
          nixosModule = { };
        };
    };

  # clan-core's zerotier service as dm-dns sees it
  # (clanServices/zerotier/default.nix): each machine's address exported as
  # `clan-core/zerotier:<instance>::<machine>` peer.hosts, and on the
  # controller the network's settings, a JSON value with `dns = { }`.
  zerotierService =
    { config, ... }:
    {
      _class = "clan.service";
      manifest.name = "clan-core/zerotier";
      manifest.exports.out = [ "peer" ];
      roles.controller.perInstance =
        { instanceName, ... }:
        {
          nixosModule =
            { lib, ... }:
            {
              options.clan.core.zerotier.networks.${instanceName}.settings = lib.mkOption {
                type = lib.types.json;
              };
              config.clan.core.zerotier.networks.${instanceName}.settings = {
                dns = { };
                name = instanceName;
              };
            };
        };
      roles.peer.perInstance = _: { nixosModule = { }; };
      perMachine =
        { instances, machine, ... }:
        {
          exports = lib.mapAttrs' (instanceName: _: {
            name = clanLib.buildScopeKey {
              inherit instanceName;
              machineName = machine.name;
              serviceName = config.manifest.name;
            };
            value.peer.hosts = [ { plain = zerotier.addresses.${machine.name}; } ];
          }) instances;
        };
    };

  clan = clanLib.clan {
    self = {
      inputs = { inherit nixpkgs; };
    };
    directory =
      if !signed then
        ./unkeyed
      else if rotated then
        ./rotated
      else
        ./keyed;
    meta.name = "test";
    meta.domain = "clan";
    machines = lib.mapAttrs (_: m: m) (
      {
        alpha = { };
        beta = { };
      }
      // machines
    );
    modules = {
      dm-dns = service;
      endpoints = endpointsService;
      zerotier = zerotierService;
    }
    // lib.mapAttrs networkService networks;
    inventory.machines = {
      alpha = { };
      beta = { };
    };
    inventory.instances = {
      dm-dns = {
        module.name = "dm-dns";
        module.input = "self";
        roles.default.tags = [ "all" ];
        roles.default.settings = dmDnsSettings;
        roles.default.machines = lib.mapAttrs (_: settings: { inherit settings; }) dmDnsMachineSettings;
        roles.push.machines.alpha = { };
        roles.server.machines = lib.mapAttrs (_: settings: { inherit settings; }) dmDnsServers;
      };
    }
    // lib.mapAttrs (name: network: {
      module.name = name;
      module.input = "self";
      roles.peer.machines = lib.mapAttrs (_: _: { }) network.peers;
    }) networks
    // lib.optionalAttrs (zerotier != null) {
      zt = {
        module.name = "zerotier";
        module.input = "self";
        roles.controller.machines.${zerotier.controller} = { };
        roles.peer.machines = lib.mapAttrs (_: _: { }) zerotier.addresses;
      };
    }
    // lib.mapAttrs (_: byMachine: {
      module.name = "endpoints";
      module.input = "self";
      roles.server.machines = lib.mapAttrs (_: hosts: { settings = { inherit hosts; }; }) byMachine;
    }) endpoints;
  };
in
{
  inherit clan lib service nixosModule;
  nodes = lib.mapAttrs (_: c: c.config) clan.config.nixosConfigurations;
}
