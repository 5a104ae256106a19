# What a node runs: unbound's settings, Knot's configuration, the resolver
# route to unbound, the units' sandbox. Shapes follow the NixOS
# options they feed (`services.unbound.settings`,
# `services.resolved.dnsDelegates`, `systemd.services.<n>.serviceConfig`).
{ lib }:
let
  yesNo = b: if b then "yes" else "no";
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
  unboundSettings =
    {
      domain,
      port,
      zoneFile,
      knotPort ? null,
      onlyZone ? true,
    }:
    {
      server = {
        inherit port;
        interface = [ "127.0.0.1" ];
        access-control = [ "127.0.0.0/8 allow" ];
        domain-insecure = [ "${domain}." ];
      }
      // lib.optionalAttrs (knotPort != null) {
        # unbound never asks 127.0.0.0/8 by default; Knot is there.
        do-not-query-localhost = yesNo false;
      }
      // lib.optionalAttrs onlyZone {
        local-zone = [
          ''"." refuse''
          # transparent: names below the domain go on to the zone
          ''"${domain}." transparent''
        ];
      };
    }
    // (
      if knotPort != null then
        {
          stub-zone = [
            {
              name = "${domain}.";
              stub-addr = [ "127.0.0.1@${toString knotPort}" ];
              stub-no-cache = yesNo true;
            }
          ];
        }
      else
        {
          auth-zone = [
            {
              name = "${domain}.";
              zonefile = zoneFile;
              # Answer clients from the zone directly, CNAME and address together.
              for-downstream = yesNo true;
              for-upstream = yesNo true;
              fallback-enabled = yesNo false;
            }
          ];
        }
    );

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
    '';

  # systemd-resolved sends names below the domain, and only those, to
  # unbound: a dns-delegate is no default route (DefaultRoute= is off), unlike
  # a global `Resolve.DNS`, and it leaves the user's own servers in place.
  resolvedDelegate =
    { domain, port }:
    {
      DNS = "127.0.0.1:${toString port}";
      Domains = "~${domain}";
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
