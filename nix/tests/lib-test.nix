# `nix-instantiate --eval --strict nix/tests/lib-test.nix --arg publicPem ... --argstr publicBase64 ...`
# Evaluates lib.nix and both modules without nixpkgs; every failed expectation
# throws with its name. The result is the list of checks that passed.
{ publicPem, publicBase64 }:
let
  lib = import ../lib.nix;

  expect =
    name: actual: expected:
    if actual == expected then
      name
    else
      throw "FAILED ${name}: expected ${builtins.toJSON expected}, got ${builtins.toJSON actual}";

  # The modules, evaluated with stand-ins for clan and nixpkgs; its package
  # stand-in is enough for a derivation path, nothing is built.
  stub = import ./stub-clan.nix;
  inherit (stub) fakePackage;

  exports = {
    "music:main:server:alpha" = {
      endpoints.hosts = [ "music.clan" ];
      dataMesher = throw "a missing key must not be forced";
    };
    "wiki:main:server:beta" = {
      endpoints = {
        hosts = [ "wiki.clan" "wiki.example.org" ];
      };
    };
    "dm-dns:dm-dns:default:gamma" = {
      endpoints = null;
    };
    "web:::" = null;
    "peer:vpn:peer:alpha" = {
      peer = throw "other export types are never forced";
    };
  };

  # The same exports, written in another order.
  sameExports = {
    "peer:vpn:peer:alpha".peer = throw "never forced";
    "web:::" = null;
    "dm-dns:dm-dns:default:gamma".endpoints = null;
    "wiki:main:server:beta".endpoints.hosts = [ "wiki.clan" "wiki.example.org" ];
    "music:main:server:alpha".endpoints.hosts = [ "music.clan" ];
  };

  zoneOf =
    e: d:
    lib.mkZone {
      dm-dns = fakePackage;
      domain = d;
      exports = e;
    };
in
[
  (expect "projection forces only endpoints.hosts"
    (builtins.toJSON (lib.projectExports exports))
    ''{"dm-dns:dm-dns:default:gamma":{"hosts":[]},"music:main:server:alpha":{"hosts":["music.clan"]},"peer:vpn:peer:alpha":{"hosts":[]},"web:::":{"hosts":[]},"wiki:main:server:beta":{"hosts":["wiki.clan","wiki.example.org"]}}''
  )
  (expect "projected exports project to themselves" (lib.projectExports (lib.projectExports exports)) (lib.projectExports exports))
  (expect "same exports, same derivation" (zoneOf exports "clan").drvPath (zoneOf sameExports "clan").drvPath)
  (expect "another domain, another derivation" ((zoneOf exports "clan").drvPath != (zoneOf exports "example.com").drvPath) true)
  (expect "shared exports file gives the same derivation"
    (lib.mkZone {
      dm-dns = fakePackage;
      domain = "clan";
      exportsFile = lib.writeExportsFile sameExports;
    }).drvPath
    (zoneOf exports "clan").drvPath
  )
  (expect "the builder is dm-dns itself" (zoneOf exports "clan").builder "${fakePackage}/bin/dm-dns")
  (expect "the build runs dm-dns zone" (builtins.elemAt (zoneOf exports "clan").args 0) "zone")
  (expect "PEM public key to data-mesher's base64" (lib.publicKeyBase64 publicPem) publicBase64)
  (expect "base64 passes through" (lib.publicKeyBase64 " ${publicBase64}\n") publicBase64)
  (expect "hosts below the domain"
    (lib.hostsUnderDomain "clan" {
      "127.0.0.1" = [ "localhost" ];
      "10.0.0.1" = [ "alpha.clan" "alpha" ];
      "fd00::1" = [ "alpha.clan" ];
      "10.0.0.9" = [ "other.example.org" ];
    })
    {
      "10.0.0.1" = [ "alpha.clan" ];
      "fd00::1" = [ "alpha.clan" ];
    }
  )
  (expect "unbound auth-zone"
    (builtins.head (lib.unboundSettings {
      domain = "clan";
      zoneFile = "/var/lib/dm-dns/zone/clan.zone";
    }).auth-zone)
    {
      name = "clan.";
      zonefile = "/var/lib/dm-dns/zone/clan.zone";
      for-downstream = "yes";
      for-upstream = "yes";
      fallback-enabled = "no";
    }
  )
  (expect "unbound server"
    (lib.unboundSettings {
      domain = "clan";
      zoneFile = "/z";
    }).server
    {
      port = 5353;
      interface = [ "127.0.0.1" ];
      access-control = [ "127.0.0.0/8 allow" ];
      do-not-query-localhost = "no";
      domain-insecure = [ "clan." ];
    }
  )
  (expect "forward of . as the reference"
    (lib.unboundSettings {
      domain = "clan";
      zoneFile = "/z";
    }).forward-zone
    [
      {
        name = ".";
        forward-addr = "127.0.0.53@53";
      }
    ]
  )
  (expect "resolved routes only the domain" (lib.resolvedSettings { domain = "clan"; }) {
    DNS = [ "127.0.0.1:5353#clan" ];
    Domains = [ "~clan" ];
  })
  (expect "install command line"
    (lib.installArgs {
      meshFile = "/m";
      trustedKeys = [ "K1" "K2" ];
      domain = "clan";
      hostsFile = "/h";
      zoneFile = "/z";
      stateDir = "/s";
      unboundControl = "uc -s /run/u.ctl";
    })
    [ "install" "--mesh-file" "/m" "--domain" "clan" "--hosts" "/h" "--zone-file" "/z" "--state-dir" "/s" "--trusted-key" "K1" "--trusted-key" "K2" "--unbound-control" "uc -s /run/u.ctl" ]
  )
  (expect "install before unbound does not reload"
    (builtins.elem "--no-reload" (lib.installArgs {
      meshFile = "/m";
      trustedKeys = [ ];
      domain = "clan";
      hostsFile = "/h";
      zoneFile = "/z";
      stateDir = "/s";
      unboundControl = "uc";
      reload = false;
    }))
    true
  )
  (expect "install unit may write only its state"
    (lib.installServiceConfig { stateDir = "/var/lib/dm-dns"; }).ReadWritePaths
    [ "/var/lib/dm-dns" ]
  )
  (expect "install unit has no network" (lib.installServiceConfig { stateDir = "/s"; }).RestrictAddressFamilies [ "AF_UNIX" ])
  (expect "own internal hosts"
    (lib.internalHostsOf {
      domain = "clan";
      machine = "beta";
      byMachine = lib.hostsByMachine exports;
    })
    [ "wiki.clan" ]
  )
  (expect "hosts by machine, service-wide scopes left out"
    (lib.hostsByMachine exports)
    {
      alpha = [ "music.clan" ];
      beta = [ "wiki.clan" "wiki.example.org" ];
      gamma = [ ];
    }
  )
  (expect "listen addresses, IPv6 bracketed" (lib.internalListenAddresses [ "10.0.0.1" "fd00::1" ]) [ "10.0.0.1" "[fd00::1]" "127.0.0.1" "[::1]" ])
  (expect "keygen script" (lib.signingKeyScript "/bin/dm-dns") ''
    /bin/dm-dns keygen \
      --private-key-path "$out/signing.key" \
      --public-key-path "$out/signing.pub"
  '')
]
++ stub.checks { inherit lib expect exports; }
