# What a node runs: unbound's settings, Knot's configuration, the resolver
# route to unbound, the units' sandbox. Shapes follow the NixOS
# options they feed (`services.unbound.settings`,
# `services.resolved.dnsDelegates`, `systemd.services.<n>.serviceConfig`).
{ lib }:
let
  yesNo = b: if b then "yes" else "no";
  # Where `dm-dns install` writes a reverse zone: beside the zone file.
  reverseZoneFile = zoneFile: zone: "${dirOf zoneFile}/${zone}.zone";
  # An IPv6 address in canonical text as its 32 hexadecimal digits.
  ipv6Digits =
    address:
    let
      halves = lib.splitString "::" address;
      groups = text: if text == "" then [ ] else lib.splitString ":" text;
      head = groups (builtins.head halves);
      tail = if builtins.length halves == 2 then groups (builtins.elemAt halves 1) else [ ];
      zeros = lib.genList (_: "0") (8 - builtins.length head - builtins.length tail);
    in
    lib.concatMapStrings (lib.fixedWidthString 4 "0") (head ++ zeros ++ tail);
  # The reverse name of an address (no trailing dot).
  reverseName =
    address:
    if lib.hasInfix ":" address then
      builtins.concatStringsSep "." (lib.reverseList (lib.stringToCharacters (ipv6Digits address)))
      + ".ip6.arpa"
    else
      builtins.concatStringsSep "." (lib.reverseList (lib.splitString "." address)) + ".in-addr.arpa";
  # A server's listen address as unbound's `interface` (`addr@port`, port
  # 53 unless given), and the address alone.
  listenInterface = listen: if lib.hasInfix "@" listen then listen else "${listen}@53";
  listenAddress = listen: builtins.head (lib.splitString "@" listen);
  # The network a listen address is on, as the server role allows it by
  # default: the whole overlay for yggdrasil (200::/7) and mycelium
  # (400::/7), whose every address is a member; another IPv6 address's /64;
  # an IPv4 address's /24.
  allowedNetworkOf =
    listen:
    let
      address = listenAddress listen;
      digits = ipv6Digits address;
      firstByte = builtins.substring 0 2 digits;
      group = i: builtins.substring (i * 4) 4 digits;
      octets = lib.splitString "." address;
    in
    if !lib.hasInfix ":" address then
      "${builtins.concatStringsSep "." (lib.take 3 octets)}.0/24"
    else if builtins.elem firstByte [
      "02"
      "03"
    ] then
      "200::/7"
    else if builtins.elem firstByte [
      "04"
      "05"
    ] then
      "400::/7"
    else
      "${builtins.concatStringsSep ":" (map group [ 0 1 2 3 ])}::/64";
  # Overlay networks whose whole address space is the clan's to name:
  # yggdrasil's 200::/7 and mycelium's 400::/7 (each two /8 reverse
  # domains). Both are ranges IANA has not allocated, so no public reverse
  # name is hidden by answering them.
  overlayReverseZones = {
    yggdrasil = [
      "2.0.ip6.arpa"
      "3.0.ip6.arpa"
    ];
    mycelium = [
      "4.0.ip6.arpa"
      "5.0.ip6.arpa"
    ];
  };
  # The reverse zones a node answers by default: those of the overlay
  # networks `networkServices` names (`clan-core/yggdrasil` or `yggdrasil`),
  # and the exact reverse name of every declared A/AAAA address, so a
  # LAN's other addresses stay with the LAN's own DNS.
  reverseZonesOf =
    { networkServices, records }:
    let
      service = name: lib.last (lib.splitString "/" name);
      overlays = lib.concatMap (name: overlayReverseZones.${service name} or [ ]) networkServices;
      declared = lib.concatMap (types: map reverseName ((types.A or [ ]) ++ (types.AAAA or [ ]))) (
        builtins.attrValues records
      );
    in
    lib.unique (overlays ++ declared);
  # 127.0.0.0/8 and ::1 in the spellings hosts files use.
  isLoopback =
    address:
    builtins.match "127\\.[0-9.]+" address != null
    || builtins.match "(0{0,4}:){2,7}0{0,3}1|::1" address != null;
  # What every dm-dns unit may not do: no privileges, no kernel tunables,
  # a read-only system, nothing of home directories or other processes' /tmp.
  sandbox = {
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    NoNewPrivileges = true;
    CapabilityBoundingSet = "";
    RestrictNamespaces = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    MemoryDenyWriteExecute = true;
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    SystemCallArchitectures = "native";
    SystemCallFilter = [ "@system-service" ];
  };
in
{
  # unbound answers the clan domain on 127.0.0.1:`port`: from Knot on
  # 127.0.0.1:`knotPort` (a stub zone, uncached, so an update shows at once),
  # or with `knotPort = null` from an auth-zone of its own. With `onlyZone` it
  # answers nothing else: every other name is REFUSED at once, so no query
  # can loop back through the system resolver and unbound never recurses on
  # the node's behalf.
  # `reverseZones` (e.g. "2.0.ip6.arpa") are answered the same way, each
  # from `<name>.zone` beside `zoneFile` (`dm-dns install --reverse-zone`).
  #
  # With `server` (`{ listen, allow, forward, rateLimit }`), unbound also
  # answers devices outside the clan on the `listen` addresses (`addr` or
  # `addr@port`, port 53 by default): the clan's zones from the same zone
  # server, every other name through `forward` (`addr[@port]`), or by
  # resolving it itself when that is empty. Only the `allow` networks may
  # ask (everyone else: REFUSED), each client address at most `rateLimit`
  # queries a second. The node's own path (127.0.0.1:`port`) keeps a view
  # that answers only the clan's zones, as without a server.
  unboundSettings =
    {
      domain,
      port,
      zoneFile,
      knotPort ? null,
      onlyZone ? true,
      reverseZones ? [ ],
      server ? null,
    }:
    let
      zones = [ domain ] ++ reverseZones;
      # transparent: names below each zone go on to the zone; and unbound's
      # own local zones for private reverse domains (RFC 6303:
      # 168.192.in-addr.arpa ...) would answer before ours otherwise.
      transparent = map (zone: ''"${zone}." transparent'') zones;
      serving = server != null;
      nodeView = serving && onlyZone;
    in
    {
      server = {
        inherit port;
        interface = [ "127.0.0.1" ] ++ lib.optionals serving (map listenInterface server.listen);
        access-control =
          if serving then
            # unbound allows 127.0.0.0/8 unless told otherwise: only the
            # node itself (127.0.0.1) is the node.
            [
              "127.0.0.0/8 refuse"
              "127.0.0.1/32 allow"
              "::1/128 allow"
            ]
            ++ map (network: "${network} allow") server.allow
            ++ [
              "0.0.0.0/0 refuse"
              "::/0 refuse"
            ]
          else
            [ "127.0.0.0/8 allow" ];
        # Our zones are unsigned, and ip6.arpa and in-addr.arpa are signed:
        # without this, validation would call our reverse answers bogus.
        domain-insecure = map (zone: "${zone}.") zones;
      }
      // lib.optionalAttrs (onlyZone || reverseZones != [ ] || serving) {
        local-zone =
          lib.optional (onlyZone && !serving) ''"." refuse''
          ++ (if onlyZone || serving then transparent else lib.drop 1 transparent);
      }
      // lib.optionalAttrs nodeView {
        access-control-view = [
          "127.0.0.1/32 node"
          "::1/128 node"
        ];
      }
      // lib.optionalAttrs serving {
        # The mesh's addresses may come up after unbound starts (yggdrasil,
        # mycelium and zerotier configure their interfaces themselves):
        # IP_FREEBIND binds to them before they exist (unbound.conf(5),
        # ip-freebind; nixpkgs' unbound module defaults to it for the same
        # reason, nixos/modules/services/networking/unbound.nix).
        ip-freebind = yesNo true;
        ip-ratelimit = server.rateLimit;
      }
      // lib.optionalAttrs (knotPort != null || serving) {
        # unbound never asks 127.0.0.0/8 by default; Knot (and a forwarder
        # on loopback) is there.
        do-not-query-localhost = yesNo false;
      };
    }
    // lib.optionalAttrs nodeView {
      view = [
        {
          name = "node";
          local-zone = [ ''"." refuse'' ] ++ transparent;
        }
      ];
    }
    // lib.optionalAttrs (serving && server.forward != [ ]) {
      forward-zone = [
        {
          name = ".";
          forward-addr = server.forward;
        }
      ];
    }
    // (
      if knotPort != null then
        {
          stub-zone = map (zone: {
            name = "${zone}.";
            stub-addr = [ "127.0.0.1@${toString knotPort}" ];
            stub-no-cache = yesNo true;
          }) zones;
        }
      else
        {
          auth-zone = map (zone: {
            name = "${zone}.";
            zonefile = if zone == domain then zoneFile else reverseZoneFile zoneFile zone;
            # Answer clients from the zone directly, CNAME and address together.
            for-downstream = yesNo true;
            for-upstream = yesNo true;
            fallback-enabled = yesNo false;
          }) zones;
        }
    );

  inherit listenInterface listenAddress allowedNetworkOf;
  inherit reverseZoneFile reverseName reverseZonesOf;

  # Knot DNS serving one zone from `zoneFile` on 127.0.0.1:`port`, to unbound
  # only. The file is the zone's only source: Knot never writes it
  # (zonefile-sync -1), keeps no journal, and loads it whole on a reload, a
  # new zone beside the served one, swapped in when complete.
  knotConfig =
    {
      domain,
      port,
      zoneFile,
      runDir,
      stateDir,
      reverseZones ? [ ],
    }:
    ''
      server:
          rundir: "${runDir}"
          listen: 127.0.0.1@${toString port}
      log:
        - target: syslog
          any: info
      database:
          storage: "${stateDir}"
      control:
          listen: "${runDir}/knot.sock"
      template:
        - id: default
          storage: "${stateDir}"
          zonefile-sync: -1
          zonefile-load: whole
          journal-content: none
      zone:
        - domain: ${domain}.
          file: "${zoneFile}"
    ''
    + lib.concatMapStrings (
      zone: "  - domain: ${zone}.\n    file: \"${reverseZoneFile zoneFile zone}\"\n"
    ) reverseZones;

  # systemd-resolved sends names below the domain and the reverse zones,
  # and only those, to unbound: a dns-delegate is no default route
  # (DefaultRoute= is off), unlike a global `Resolve.DNS`, and it leaves
  # the user's own servers in place. With `searchDomain`, the domain is
  # also a search domain: `ssh alpha` asks alpha.<domain>. The reverse
  # zones are routing-only (`~`): nothing is ever completed with them.
  resolvedDelegate =
    {
      domain,
      port,
      searchDomain ? true,
      reverseZones ? [ ],
    }:
    {
      DNS = "127.0.0.1:${toString port}";
      Domains = builtins.concatStringsSep " " (
        [ (if searchDomain then domain else "~${domain}") ] ++ map (zone: "~${zone}") reverseZones
      );
    };

  inherit sandbox;

  # The install units: their own user, write access to the state directory
  # only, no network; they reach the zone server only through its control
  # socket (group `controlGroup`: Knot's, or unbound's).
  installServiceConfig =
    {
      stateDir,
      controlGroup,
      user ? "dm-dns",
      supplementaryGroups ? [ ],
    }:
    sandbox
    // {
      Type = "oneshot";
      # A oneshot waits for ever by default; install bounds each control
      # call, so a run past this is stuck, and the next change retries.
      TimeoutStartSec = "5min";
      User = user;
      Group = user;
      SupplementaryGroups = [ controlGroup ] ++ supplementaryGroups;
      ReadWritePaths = [ stateDir ];
      UMask = "0022";
      PrivateNetwork = true;
      RestrictAddressFamilies = [ "AF_UNIX" ];
    };

  # Names below `domain` from a NixOS `networking.hosts` attrset, loopback
  # addresses left out: NixOS maps the machine's own name to 127.0.0.2
  # (nixos/modules/config/networking.nix), where services that listen on
  # internal addresses are not, and no other machine reaches it there.
  hostsUnderDomain =
    domain: hosts:
    let
      keep = builtins.filter (n: lib.hasSuffix ".${domain}" n || lib.hasSuffix ".${domain}." n);
      kept = builtins.mapAttrs (_addr: keep) (
        builtins.removeAttrs hosts (builtins.filter isLoopback (builtins.attrNames hosts))
      );
    in
    builtins.removeAttrs kept (builtins.filter (addr: kept.${addr} == [ ]) (builtins.attrNames kept));

  inherit isLoopback;
}
