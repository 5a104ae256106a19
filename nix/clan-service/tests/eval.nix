# nix-unit shaped tests of the clan service and the NixOS module through
# clan-core's real `clanLib.clan` and nixpkgs' real DNS modules
# (nix/tests/clan/default.nix). Run by nix/tests/run.sh with the vendored
# sources as `vendor`.
{ vendor, publicBase64 }:
let
  clanWith = args: import ../../tests/clan ({ inherit vendor; } // args);
  base = clanWith { };
  inherit (base) lib;
  alpha = base.nodes.alpha;
  beta = base.nodes.beta;
  exports = base.clan.config.exports;
  dmDnsGenerator = node: node.clan.core.vars.generators.dm-dns;
  deployerOn = system: (clanWith { deployerSystem = system; }).nodes.alpha;
  # The projected exports file the zone is built from (`dm-dns zone --exports`).
  zoneInputFile = node: builtins.elemAt node.services.dm-dns.zone.args 2;
  zoneInput = node: builtins.fromJSON (builtins.readFile (zoneInputFile node));
  failedAssertions = node: map (a: a.message) (lib.filter (a: !a.assertion) node.assertions);
  etcText = node: name: node.environment.etc.${name}.source.text;
  sendScript = lib.findFirst (p: p.name == "dm-send-dns") null alpha.environment.systemPackages;

  # alpha serves music.clan; the user defines vhosts for it and for a name
  # that is not a clan endpoint.
  withVhosts =
    addresses: musicVhost:
    (clanWith {
      machines.alpha = {
        clan.core.networking.internalListenAddresses = addresses;
        services.nginx.enable = true;
        services.nginx.virtualHosts."music.clan" = musicVhost;
        services.nginx.virtualHosts."public.example.org" = { };
        services.caddy.enable = true;
        services.caddy.virtualHosts."music.clan" = { };
      };
    }).nodes.alpha;
  vhosts = withVhosts [ "10.0.0.1" "fd00::1" ] { };
  # alpha in the server role, on its internal addresses or `settings`.
  serverNode =
    {
      settings ? { },
      nftables ? false,
    }:
    (clanWith {
      dmDnsServers.alpha = settings;
      machines.alpha = {
        clan.core.networking.internalListenAddresses = [
          "200:1111:2222::a"
          "192.168.1.5"
          "127.0.0.1"
        ];
        networking.nftables.enable = nftables;
      };
    }).nodes.alpha;
  records = {
    "printer.clan".A = [ "192.168.1.20" ];
    "git.clan".CNAME = "music.clan";
    "clan".TXT = [ "v=spf1 -all" ];
  };
in
{
  # --- exports -------------------------------------------------------------
  test_push_exports_the_key_as_data_meshers_allowlist = {
    expr = exports."dm-dns:dm-dns:push:alpha".dataMesher.files."dns/cnames";
    expected = [ publicBase64 ];
  };
  test_push_export_without_a_key_is_an_error = {
    expr = (clanWith { signed = false; }).clan.config.exports."dm-dns:dm-dns:push:alpha".dataMesher.files;
    expectedError.type = "ThrownError";
  };
  test_endpoints_reach_the_zone_input = {
    expr = (zoneInput alpha)."endpoints:music:server:alpha".hosts;
    expected = [ "music.clan" ];
  };
  test_peer_addresses_and_priorities_reach_the_zone_input = {
    expr = {
      inherit (zoneInput alpha)
        "clan-core/yggdrasil:yggdrasil::"
        "clan-core/yggdrasil:yggdrasil:peer:alpha"
        "clan-core/wireguard:wireguard:peer:beta"
        ;
    };
    expected = {
      "clan-core/yggdrasil:yggdrasil::" = {
        hosts = [ ];
        priority = 2000;
      };
      # read from the clan's public vars, trimmed
      "clan-core/yggdrasil:yggdrasil:peer:alpha" = {
        hosts = [ ];
        peers = [ "200:1111:2222::a" ];
      };
      "clan-core/wireguard:wireguard:peer:beta" = {
        hosts = [ ];
        peers = [ "beta.wg.example" ];
      };
    };
  };
  test_a_var_not_generated_is_skipped_not_an_error = {
    expr = (zoneInput alpha)."clan-core/yggdrasil:yggdrasil:peer:beta".peers;
    expected = [ { missing = "var beta/yggdrasil/address: not generated yet"; } ];
  };
  test_an_odd_peer_value_never_aborts_the_evaluation = {
    expr =
      (zoneInput
        (clanWith {
          networks.odd = {
            priority = 1;
            peers.alpha = [
              { plain = "a b"; }
              { plain = 7; }
            ];
          };
        }).nodes.beta
      )."clan-core/odd:odd:peer:alpha".peers;
    # clan-core's peer.hosts type refuses the number: it throws when read
    expected = [
      "a b"
      { missing = "a plain value that could not be evaluated (a var not generated yet?)"; }
    ];
  };
  test_every_machine_builds_the_same_zone_input = {
    expr = zoneInputFile alpha == zoneInputFile beta;
    expected = true;
  };
  test_networks_setting_reaches_the_generator_and_its_validation = {
    expr =
      let
        node = (clanWith { dmDnsSettings.networks = [ "mycelium" ]; }).nodes.alpha;
      in
      {
        script = lib.hasInfix "--networks mycelium" (dmDnsGenerator node).script;
        inherit ((dmDnsGenerator node).validation) networks;
        default = (dmDnsGenerator alpha).validation ? networks;
      };
    expected = {
      script = true;
      networks = "mycelium";
      default = false;
    };
  };

  # --- the default role on a node ------------------------------------------
  test_every_machine_runs_dm_dns = {
    expr = map (n: n.services.dm-dns.enable) [ alpha beta ];
    expected = [ true true ];
  };
  test_default_role_trusts_the_push_key = {
    expr = beta.services.dm-dns.settings.trusted_keys;
    expected = [ publicBase64 ];
  };
  test_no_key_yet_trusts_nothing = {
    expr = (clanWith { signed = false; }).nodes.beta.services.dm-dns.settings.trusted_keys;
    expected = [ ];
  };
  test_mesh_file_is_data_meshers_dns_cnames = {
    expr = beta.services.dm-dns.settings.mesh_file;
    expected = "/var/lib/data-mesher/files/home/dns/cnames";
  };
  test_no_failed_assertions = {
    expr = map failedAssertions [ alpha beta ];
    expected = [ [ ] [ ] ];
  };
  test_zone_option_is_the_zone_derivation = {
    expr = alpha.services.dm-dns.zone.builder;
    expected = "${alpha.services.dm-dns.package}/bin/dm-dns";
  };
  test_one_zone_for_every_machine = {
    expr = alpha.services.dm-dns.zone.drvPath;
    expected = beta.services.dm-dns.zone.drvPath;
  };

  # --- vars generators (clan-core's real generator interface) ----------------
  test_zone_generator_is_shared_and_public = {
    expr = {
      inherit (dmDnsGenerator alpha) share;
      secret = lib.mapAttrs (_: f: f.secret) (dmDnsGenerator alpha).files;
    };
    expected = {
      share = true;
      secret = {
        "manifest.json" = false;
        "zone.conf" = false;
        "zone.db" = false;
      };
    };
  };
  test_signing_key_generator_keeps_the_private_key_secret = {
    expr = lib.mapAttrs (_: f: f.secret) alpha.clan.core.vars.generators.dm-dns-signing-key.files;
    expected = {
      "signing.key" = true;
      "signing.pub" = false;
    };
  };
  test_validation_same_from_every_deployer_system = {
    expr = map (s: (dmDnsGenerator (deployerOn s)).validationHash) [
      "aarch64-linux"
      "aarch64-darwin"
    ];
    expected = [
      (dmDnsGenerator alpha).validationHash
      (dmDnsGenerator alpha).validationHash
    ];
  };
  test_validation_same_on_every_machine = {
    expr = (dmDnsGenerator beta).validationHash;
    expected = (dmDnsGenerator alpha).validationHash;
  };
  test_validation_follows_the_exports = {
    expr =
      (dmDnsGenerator (clanWith { endpoints.music.alpha = [ "radio.clan" ]; }).nodes.alpha).validationHash
      == (dmDnsGenerator alpha).validationHash;
    expected = false;
  };
  test_generators_run_the_deployers_dm_dns = {
    expr = map (p: p.name) (dmDnsGenerator (deployerOn "aarch64-darwin")).runtimeInputs;
    expected = [ "dm-dns-aarch64-darwin" ];
  };
  test_zone_generator_builds_the_shared_exports_file = {
    expr =
      builtins.match ".*dm-dns zone --exports /nix/store/[a-z0-9]{32}-dm-dns-exports.json --domain clan --out \"\\$out\".*"
        (dmDnsGenerator alpha).script
      != null;
    expected = true;
  };

  # --- dm-send-dns -------------------------------------------------------------
  test_send_passes_data_meshers_network_id_as_a_path = {
    expr = sendScript.runtimeEnv.DM_DNS_NETWORK_ID;
    expected = alpha.clan.core.vars.generators.data-mesher-network.files."network.pub".path;
  };
  test_send_signs_the_zone_option = {
    expr = sendScript.runtimeEnv.DM_DNS_ZONE;
    expected = alpha.services.dm-dns.zone;
  };
  test_send_uses_the_secret_signing_key = {
    expr = sendScript.runtimeEnv.DM_DNS_KEY;
    expected = "/run/secrets/vars/shared/dm-dns-signing-key/signing.key";
  };
  test_only_push_machines_get_dm_send_dns = {
    expr = builtins.any (p: p.name == "dm-send-dns") beta.environment.systemPackages;
    expected = false;
  };

  # --- the resolver path (nixpkgs' real resolved, resolvconf, unbound) -------
  test_resolved_on_by_default = {
    expr = alpha.services.resolved.enable;
    expected = true;
  };
  # The domain as a search domain (short names), the overlay networks'
  # reverse domains routing-only; nothing else goes to unbound.
  test_resolved_delegates_the_domain_and_reverse_zones_to_unbound = {
    expr = etcText alpha "systemd/dns-delegate.d/dm-dns.dns-delegate";
    expected = "[Delegate]\nDNS=127.0.0.1:5335\nDomains=clan ~4.0.ip6.arpa ~5.0.ip6.arpa ~2.0.ip6.arpa ~3.0.ip6.arpa\n\n";
  };
  test_search_domain_can_be_turned_off = {
    expr =
      etcText
        (clanWith {
          machines.alpha.services.dm-dns.searchDomain = false;
          machines.alpha.services.dm-dns.settings.reverse_zones = [ ];
        }).nodes.alpha
        "systemd/dns-delegate.d/dm-dns.dns-delegate";
    expected = "[Delegate]\nDNS=127.0.0.1:5335\nDomains=~clan\n\n";
  };
  # --- the server role ---------------------------------------------------------
  # Listens on the machine's internal addresses, port 53; allows their
  # networks; refuses everyone else; the node's own path keeps its view;
  # port 53 opened for those addresses only; what it serves is in node.json.
  test_server_role_answers_its_networks_on_its_internal_addresses = {
    expr =
      let
        node = serverNode { };
        server = node.services.unbound.settings.server;
      in
      {
        inherit (server)
          interface
          access-control
          access-control-view
          ip-freebind
          ip-ratelimit
          local-zone
          ;
        view = node.services.unbound.settings.view;
        forward = node.services.unbound.settings ? forward-zone;
        trustAnchor = node.services.unbound.enableRootTrustAnchor;
        firewall = node.networking.firewall.extraCommands;
        serves = node.services.dm-dns.settings.serves;
      };
    expected = {
      interface = [
        "127.0.0.1"
        "200:1111:2222::a@53"
        "192.168.1.5@53"
      ];
      access-control = [
        "127.0.0.0/8 refuse"
        "127.0.0.1/32 allow"
        "::1/128 allow"
        "200::/7 allow"
        "192.168.1.0/24 allow"
        "0.0.0.0/0 refuse"
        "::/0 refuse"
      ];
      access-control-view = [
        "127.0.0.1/32 node"
        "::1/128 node"
      ];
      ip-freebind = "yes";
      ip-ratelimit = 10000;
      local-zone = [
        ''"clan." transparent''
        ''"4.0.ip6.arpa." transparent''
        ''"5.0.ip6.arpa." transparent''
        ''"2.0.ip6.arpa." transparent''
        ''"3.0.ip6.arpa." transparent''
      ];
      view = [
        {
          name = "node";
          local-zone = [
            ''"." refuse''
            ''"clan." transparent''
            ''"4.0.ip6.arpa." transparent''
            ''"5.0.ip6.arpa." transparent''
            ''"2.0.ip6.arpa." transparent''
            ''"3.0.ip6.arpa." transparent''
          ];
        }
      ];
      forward = false;
      # Resolving other names itself: DNSSEC validated.
      trustAnchor = true;
      firewall = lib.concatStrings [
        "ip6tables -A nixos-fw -d 200:1111:2222::a -p udp --dport 53 -j nixos-fw-accept\n"
        "ip6tables -A nixos-fw -d 200:1111:2222::a -p tcp --dport 53 -j nixos-fw-accept\n"
        "iptables -A nixos-fw -d 192.168.1.5 -p udp --dport 53 -j nixos-fw-accept\n"
        "iptables -A nixos-fw -d 192.168.1.5 -p tcp --dport 53 -j nixos-fw-accept\n"
      ];
      serves = {
        listen = [
          "200:1111:2222::a"
          "192.168.1.5"
        ];
        allow = [
          "200::/7"
          "192.168.1.0/24"
        ];
        forward = [ ];
      };
    };
  };
  test_server_role_settings_and_nftables = {
    expr =
      let
        node = serverNode {
          settings = {
            listen = [ "10.9.0.1@5353" ];
            allow = [ "10.9.0.0/16" ];
            forward = [ "9.9.9.9" ];
          };
          nftables = true;
        };
      in
      {
        inherit (node.services.unbound.settings) forward-zone;
        inherit (node.services.unbound.settings.server) interface;
        trustAnchor = node.services.unbound.enableRootTrustAnchor;
        firewall = node.networking.firewall.extraInputRules;
      };
    expected = {
      forward-zone = [
        {
          name = ".";
          forward-addr = [ "9.9.9.9" ];
        }
      ];
      interface = [
        "127.0.0.1"
        "10.9.0.1@5353"
      ];
      trustAnchor = false;
      firewall = "ip daddr 10.9.0.1 udp dport 5353 accept\nip daddr 10.9.0.1 tcp dport 5353 accept\n";
    };
  };
  # With clan's zerotier service: a server listens on its ZeroTier address
  # (clan's zerotier does not list it among the internal ones) for that
  # network's /64, and the controller pushes it as the network's DNS.
  test_zerotier_members_get_the_servers_as_their_dns = {
    expr =
      let
        nodes =
          (clanWith {
            zerotier = {
              controller = "alpha";
              addresses = {
                alpha = "fd5d:7b2c:9a11:2b4c:f599:93aa:bbcc:dd01";
                beta = "fd5d:7b2c:9a11:2b4c:f599:93aa:bbcc:dd02";
              };
            };
            dmDnsServers.beta = { };
          }).nodes;
      in
      {
        inherit (nodes.alpha.clan.core.zerotier.networks.zt.settings) dns;
        inherit (nodes.beta.services.dm-dns.server) listen allow;
      };
    expected = {
      dns = {
        domain = "clan";
        servers = [ "fd5d:7b2c:9a11:2b4c:f599:93aa:bbcc:dd02" ];
      };
      listen = [ "fd5d:7b2c:9a11:2b4c:f599:93aa:bbcc:dd02" ];
      allow = [ "fd5d:7b2c:9a11:2b4c::/64" ];
    };
  };
  test_zerotier_without_servers_pushes_no_dns = {
    expr =
      (clanWith {
        zerotier = {
          controller = "alpha";
          addresses.alpha = "fd5d:7b2c:9a11:2b4c:f599:93aa:bbcc:dd01";
        };
      }).nodes.alpha.clan.core.zerotier.networks.zt.settings.dns;
    expected = { };
  };
  test_server_without_addresses_is_an_assertion = {
    expr = failedAssertions (clanWith { dmDnsServers.alpha = { }; }).nodes.alpha;
    expected = [
      ''
        services.dm-dns.server is enabled but has no address to listen on: this
        machine has no clan.core.networking.internalListenAddresses. Set
        services.dm-dns.server.listen (e.g. [ "192.168.1.5" ]).
      ''
    ];
  };
  test_machines_outside_the_server_role_listen_on_loopback_only = {
    expr = {
      inherit (beta.services.unbound.settings.server) interface access-control local-zone;
      view = beta.services.unbound.settings ? view;
    };
    expected = {
      interface = [ "127.0.0.1" ];
      access-control = [ "127.0.0.0/8 allow" ];
      local-zone = [
        ''"." refuse''
        ''"clan." transparent''
        ''"4.0.ip6.arpa." transparent''
        ''"5.0.ip6.arpa." transparent''
        ''"2.0.ip6.arpa." transparent''
        ''"3.0.ip6.arpa." transparent''
      ];
      view = false;
    };
  };

  # Declared records reach the zone build (one JSON file, the same for every
  # machine and deployer), its vars validation, and the node's reverse zones.
  test_declared_records_reach_the_zone_and_the_reverse_zones = {
    expr =
      let
        node = (clanWith { dmDnsSettings.records = records; }).nodes.alpha;
        args = node.services.dm-dns.zone.args;
        at = lib.lists.findFirstIndex (a: a == "--records") null args;
      in
      {
        records = builtins.fromJSON (builtins.readFile (builtins.elemAt args (at + 1)));
        validated = (dmDnsGenerator node).validation ? records;
        script = lib.hasInfix "--records" (dmDnsGenerator node).script;
        reverse = lib.drop 4 node.services.dm-dns.settings.reverse_zones;
      };
    expected = {
      inherit records;
      validated = true;
      script = true;
      reverse = [ "20.1.168.192.in-addr.arpa" ];
    };
  };
  test_records_differing_per_machine_is_an_assertion = {
    expr =
      failedAssertions
        (clanWith {
          dmDnsSettings.records = records;
          dmDnsMachineSettings.beta.records."scanner.clan".A = [ "192.168.1.30" ];
        }).nodes.alpha;
    expected = [
      ''
        dm-dns: the `records` setting differs between machines of instance
        dm-dns. Every machine shares one zone: set it once, on
        `roles.default.settings`, not per machine.
      ''
    ];
  };
  # A wildcard endpoint goes into the zone input as exported, and the
  # restricted vhosts treat its virtual host like any endpoint's.
  test_wildcard_endpoint_reaches_the_zone_and_its_vhost_listens_internally = {
    expr =
      let
        node =
          (clanWith {
            endpoints.s3.alpha = [
              "s3.clan"
              "*.s3.clan"
            ];
            machines.alpha = {
              clan.core.networking.internalListenAddresses = [ "10.0.0.1" ];
              services.nginx.enable = true;
              services.nginx.virtualHosts."*.s3.clan" = { };
            };
          }).nodes.alpha;
      in
      {
        hosts = (zoneInput node)."endpoints:s3:server:alpha".hosts;
        listen = node.services.nginx.virtualHosts."*.s3.clan".listenAddresses;
      };
    expected = {
      hosts = [
        "s3.clan"
        "*.s3.clan"
      ];
      listen = [
        "10.0.0.1"
        "127.0.0.1"
        "[::1]"
      ];
    };
  };
  test_users_nameservers_stay_the_global_servers = {
    expr =
      (clanWith { machines.alpha.networking.nameservers = [ "9.9.9.9" ]; })
      .nodes.alpha.services.resolved.settings.Resolve.DNS;
    expected = [ "9.9.9.9" ];
  };
  test_resolv_conf_is_resolveds_stub = {
    expr = alpha.environment.etc."resolv.conf".source;
    expected = "/run/systemd/resolve/stub-resolv.conf";
  };
  test_unbound_never_listed_in_resolv_conf = {
    expr = map (n: n.networking.resolvconf.useLocalResolver) [
      alpha
      (clanWith {
        machines.alpha = {
          services.dm-dns.resolver = "none";
          services.resolved.enable = false;
        };
      }).nodes.alpha
    ];
    expected = [ false false ];
  };
  test_unbound_port_is_neither_dns_nor_mdns = {
    expr = alpha.services.unbound.settings.server.port;
    expected = 5335;
  };
  test_port_is_an_option = {
    expr =
      etcText (clanWith { machines.alpha.services.dm-dns.port = 5399; }).nodes.alpha
        "systemd/dns-delegate.d/dm-dns.dns-delegate";
    expected = "[Delegate]\nDNS=127.0.0.1:5399\nDomains=clan ~4.0.ip6.arpa ~5.0.ip6.arpa ~2.0.ip6.arpa ~3.0.ip6.arpa\n\n";
  };
  test_resolved_disabled_is_an_assertion_not_a_silent_break = {
    expr = builtins.length (failedAssertions (clanWith { machines.alpha.services.resolved.enable = false; }).nodes.alpha);
    expected = 1;
  };
  test_old_systemd_is_an_assertion = {
    expr = builtins.length (failedAssertions (clanWith { systemdVersion = "257.9"; }).nodes.alpha);
    expected = 1;
  };
  test_no_control_socket_is_an_assertion = {
    expr =
      builtins.length (failedAssertions (clanWith {
        machines.alpha.services.dm-dns.zoneServer = "unbound";
        machines.alpha.services.unbound.localControlSocketPath = lib.mkForce null;
      }).nodes.alpha);
    expected = 1;
  };
  test_checkconf_set_explicitly = {
    expr = alpha.services.unbound.checkconf;
    expected = false;
  };

  # --- units -------------------------------------------------------------------
  test_unbound_wants_prepare_never_requires_it = {
    expr = {
      inherit (alpha.systemd.services.unbound) wants requires;
    };
    expected = {
      wants = [ "dm-dns-prepare.service" ];
      requires = [ ];
    };
  };
  test_install_runs_at_boot_after_the_path_unit_watches = {
    expr = {
      inherit (alpha.systemd.services.dm-dns-install) wantedBy;
      afterPath = builtins.elem "dm-dns-install.path" alpha.systemd.services.dm-dns-install.after;
    };
    expected = {
      wantedBy = [ "multi-user.target" ];
      afterPath = true;
    };
  };
  test_units_read_the_node_configuration = {
    expr = map (unit: lib.hasSuffix "/bin/dm-dns install --config /etc/dm-dns/node.json${
      if unit == "dm-dns-prepare" then " --no-reload" else ""
    }" alpha.systemd.services.${unit}.serviceConfig.ExecStart) [
      "dm-dns-prepare"
      "dm-dns-install"
    ];
    expected = [
      true
      true
    ];
  };
  test_node_configuration_is_checked_by_the_binary_at_build_time = {
    expr = builtins.match "dm-dns config --config /nix/store/[a-z0-9]{32}-dm-dns-node-unchecked.json >/dev/null\ncp .*" alpha.environment.etc."dm-dns/node.json".source.script != null;
    expected = true;
  };
  test_a_new_node_configuration_reruns_install = {
    expr = alpha.systemd.services.dm-dns-install.restartTriggers;
    expected = [ alpha.environment.etc."dm-dns/node.json".source ];
  };
  test_node_configuration_of_a_clan_machine = {
    expr = removeAttrs alpha.services.dm-dns.settings [
      "unbound_control"
      "knot_control"
    ];
    expected = {
      domain = "clan";
      trusted_keys = [ publicBase64 ];
      mesh_file = "/var/lib/data-mesher/files/home/dns/cnames";
      state_dir = "/var/lib/dm-dns";
      zone_file = "/var/lib/dm-dns/zone/clan.zone";
      control_timeout = 5;
      max_mesh_size = "256M";
      allow_rollback = false;
      # networking.hosts maps alpha.clan to 127.0.0.2: never a zone address
      hosts = { };
      server = "127.0.0.1:5335";
      redeploy = "clan machines update alpha";
      # The test clan's overlay networks: mycelium, yggdrasil.
      reverse_zones = [
        "4.0.ip6.arpa"
        "5.0.ip6.arpa"
        "2.0.ip6.arpa"
        "3.0.ip6.arpa"
      ];
    };
  };
  test_node_reaches_knot_through_its_control_socket = {
    expr = lib.drop 1 alpha.services.dm-dns.settings.knot_control;
    expected = [
      "-s"
      "/run/dm-dns-knot/knot.sock"
    ];
  };
  test_knot_holds_the_zone_and_unbound_asks_it = {
    expr = {
      stub = (builtins.head alpha.services.unbound.settings.stub-zone).stub-addr;
      auth = alpha.services.unbound.settings ? auth-zone;
      knotAfterPrepare = builtins.elem "dm-dns-prepare.service" alpha.systemd.services.dm-dns-knot.after;
      unboundAfterKnot = builtins.elem "dm-dns-knot.service" alpha.systemd.services.unbound.after;
      installRequires = alpha.systemd.services.dm-dns-install.requires;
      socketGroup = alpha.systemd.services.dm-dns-knot.serviceConfig.UMask;
    };
    expected = {
      stub = [ "127.0.0.1@5336" ];
      auth = false;
      knotAfterPrepare = true;
      unboundAfterKnot = true;
      installRequires = [ "dm-dns-knot.service" ];
      socketGroup = "0007";
    };
  };
  test_zone_server_unbound_keeps_the_auth_zone = {
    expr =
      let
        node = (clanWith { machines.alpha.services.dm-dns.zoneServer = "unbound"; }).nodes.alpha;
      in
      {
        auth = (builtins.head node.services.unbound.settings.auth-zone).name;
        knot = node.services.dm-dns.settings.knot_control;
        knotUnit = node.systemd.services ? dm-dns-knot;
      };
    expected = {
      auth = "clan.";
      knot = null;
      knotUnit = false;
    };
  };
  test_node_reaches_unbound_through_its_control_socket = {
    expr = lib.drop 1 alpha.services.dm-dns.settings.unbound_control;
    expected = [
      "-s"
      "/run/unbound/unbound.ctl"
    ];
  };
  test_dm_dns_is_on_the_nodes_path = {
    expr = builtins.elem alpha.services.dm-dns.package alpha.environment.systemPackages;
    expected = true;
  };
  test_no_global_environment_variables = {
    expr = builtins.filter (lib.hasPrefix "DM_DNS") (builtins.attrNames (alpha.environment.variables or { }));
    expected = [ ];
  };
  test_old_option_names_still_work_with_a_warning = {
    expr =
      let
        node =
          (clanWith {
            machines.alpha.services.dm-dns = {
              controlTimeout = 2;
              maxMeshSize = "1G";
              allowRollback = true;
            };
          }).nodes.alpha;
      in
      {
        inherit (node.services.dm-dns.settings) control_timeout max_mesh_size allow_rollback;
        warned = builtins.any (lib.hasInfix "services.dm-dns.controlTimeout") node.warnings;
      };
    expected = {
      control_timeout = 2;
      max_mesh_size = "1G";
      allow_rollback = true;
      warned = true;
    };
  };
  test_own_name_is_the_internal_address_never_loopback = {
    expr =
      (clanWith {
        machines.alpha.clan.core.networking.internalListenAddresses = [
          "200:1111:2222::a"
          "127.0.0.1"
        ];
        machines.alpha.networking.hosts."10.0.0.2" = [ "beta.clan" ];
      }).nodes.alpha.services.dm-dns.settings.hosts;
    expected = {
      "200:1111:2222::a" = [ "alpha.clan" ];
      "10.0.0.2" = [ "beta.clan" ];
    };
  };
  test_networks_set_per_machine_is_an_assertion = {
    expr = map (m: lib.hasInfix "set it once" m) (
      failedAssertions (clanWith { dmDnsMachineSettings.beta.networks = [ "mycelium" ]; }).nodes.alpha
    );
    expected = [ true ];
  };
  test_a_second_dm_send_dns_is_an_assertion = {
    expr = map (m: lib.hasInfix "two `dm-send-dns` commands" m) (
      failedAssertions
        (clanWith {
          # the built-in's push script, kept in extraModules
          machines.alpha.environment.systemPackages = [
            {
              type = "derivation";
              name = "dm-send-dns";
              outPath = "/nix/store/00000000000000000000000000000000-dm-send-dns";
            }
          ];
        }).nodes.alpha
    );
    expected = [ true ];
  };
  test_install_units_join_knots_group_and_data_meshers = {
    expr = alpha.systemd.services.dm-dns-install.serviceConfig.SupplementaryGroups;
    expected = [
      "dm-dns-knot"
      "data-mesher"
    ];
  };
  test_install_units_join_unbounds_group_without_knot = {
    expr =
      (clanWith {
        machines.alpha.services.dm-dns.zoneServer = "unbound";
        machines.alpha.services.unbound.group = "dns";
      }).nodes.alpha.systemd.services.dm-dns-install.serviceConfig.SupplementaryGroups;
    expected = [
      "dns"
      "data-mesher"
    ];
  };
  test_module_imported_twice_declares_its_options_once = {
    expr =
      (clanWith { machines.alpha.imports = [ (import ../../modules/nixos.nix { }) ]; })
      .nodes.alpha.services.dm-dns.enable;
    expected = true;
  };

  # --- web servers ---------------------------------------------------------------
  test_own_endpoint_vhosts_listen_internally = {
    expr = map (s: vhosts.services.${s}.virtualHosts."music.clan".listenAddresses) [
      "nginx"
      "caddy"
    ];
    expected = [
      [ "10.0.0.1" "[fd00::1]" "127.0.0.1" "[::1]" ]
      [ "10.0.0.1" "[fd00::1]" "127.0.0.1" "[::1]" ]
    ];
  };
  test_other_vhosts_untouched = {
    expr = vhosts.services.nginx.virtualHosts."public.example.org".listenAddresses;
    expected = [ ];
  };
  test_no_vhost_is_created = {
    expr = builtins.attrNames vhosts.services.nginx.virtualHosts;
    expected = [
      "music.clan"
      "public.example.org"
    ];
  };
  test_no_internal_addresses_no_restriction = {
    expr = (withVhosts [ ] { }).services.nginx.virtualHosts."music.clan".listenAddresses;
    expected = [ ];
  };
  test_users_own_listen_addresses_win = {
    expr =
      (withVhosts [ "10.0.0.1" ] { listenAddresses = [ "0.0.0.0" ]; })
      .services.nginx.virtualHosts."music.clan".listenAddresses;
    expected = [ "0.0.0.0" ];
  };
}
