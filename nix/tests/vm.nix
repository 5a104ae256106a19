# NixOS VM test (runs with nixpkgs and KVM: `nix build .#checks.x86_64-linux.vm`).
#
# `push` and `client` run dm-dns with the module's defaults (systemd-resolved
# with a dns-delegate for `clan`); `upstream` is an ordinary DNS server for
# names outside the clan, the nodes' `networking.nameservers`. The client
# boots with the built-in service's unsigned `dns/cnames` on disk, as after a
# migration. A push node signs the zone; the signed file reaches both nodes
# where data-mesher would put it. Programs resolve clan names through the
# system resolver (getent), and other names as before. Each node's hosts list
# only itself: the other machine's address comes from the zone (a
# mycelium-like network export). The zone also declares a printer, and the
# nodes answer reverse lookups for the test network's /24 and the printer's
# address; the domain is a search domain, so short names resolve. The key
# pair here is a test fixture, public on purpose.
{
  pkgs,
  dm-dns,
  nixosModule,
}:
let
  dmLib = import ../lib { inherit (pkgs) lib; };
  # The machines' addresses as a network service exports them.
  zoneOf =
    nodes:
    dmLib.zone.mkZone {
      inherit dm-dns;
      domain = "clan";
      records."printer.clan".A = [ "192.0.2.20" ];
      exports = builtins.fromJSON (builtins.readFile ./vm-exports.json) // {
        "clan-core/mycelium:vm::".networking.priority = 800;
        "clan-core/mycelium:vm:peer:push".peer.hosts = [
          { plain = nodes.push.networking.primaryIPAddress; }
        ];
        "clan-core/mycelium:vm:peer:client".peer.hosts = [
          { plain = nodes.client.networking.primaryIPAddress; }
        ];
      };
    };
  meshFile = "/var/lib/data-mesher/files/home/dns/cnames";
  node =
    { config, nodes, ... }:
    {
      imports = [ nixosModule ];
      services.dm-dns = {
        enable = true;
        package = dm-dns;
        settings = {
          domain = "clan";
          trusted_keys = [ "${./vm-signing.pub}" ];
          mesh_file = meshFile;
          redeploy = "nixos-rebuild switch";
          # The test network (the nodes' primary addresses) and the printer.
          reverse_zones = [
            "1.168.192.in-addr.arpa"
            "20.2.0.192.in-addr.arpa"
          ];
        };
      };
      networking.nameservers = [ nodes.upstream.networking.primaryIPAddress ];
      networking.hosts.${config.networking.primaryIPAddress} = [
        "${config.networking.hostName}.clan"
      ];
      environment.systemPackages = [
        dm-dns
        pkgs.dig
      ];
    };
in
pkgs.testers.runNixOSTest {
  name = "dm-dns";
  # push also answers devices outside the clan (the server role) on its
  # address, other names through upstream.
  nodes.push =
    { nodes, ... }:
    {
      imports = [ node ];
      services.dm-dns.server = {
        enable = true;
        listen = [ nodes.push.networking.primaryIPAddress ];
        forward = [ nodes.upstream.networking.primaryIPAddress ];
      };
    };
  nodes.client = {
    imports = [ node ];
    # The built-in service's unsigned zone, left behind by a migration.
    systemd.tmpfiles.rules = [
      ''f ${meshFile} 0644 root root - local-zone: "clan." transparent\nlocal-data: "music.clan. CNAME client.clan."\n''
    ];
  };
  nodes.upstream = {
    networking.firewall.allowedUDPPorts = [ 53 ];
    environment.systemPackages = [ pkgs.dig ];
    services.dnsmasq = {
      enable = true;
      resolveLocalQueries = false;
      settings = {
        address = [
          "/outside.test/192.0.2.7"
          "/outside.example.com/192.0.2.8"
        ];
        no-resolv = true;
      };
    };
  };
  testScript =
    { nodes, ... }:
    let
      port = toString nodes.push.services.dm-dns.port;
      zone = zoneOf nodes;
    in
    ''
      start_all()
      upstream.wait_for_unit("dnsmasq.service")
      for m in (push, client):
          # Knot holds the zone (the module's default), unbound asks it.
          m.wait_for_unit("dm-dns-knot.service")
          m.wait_for_unit("unbound.service")
      own = {"push": "${nodes.push.networking.primaryIPAddress}", "client": "${nodes.client.networking.primaryIPAddress}"}
      for m in (push, client):
          # Before any signed file: the node's own records already resolve.
          m.succeed(f"dig @127.0.0.1 -p ${port} {m.name}.clan A +short | grep -qx {own[m.name]}")
          # Names outside the clan: through the user's nameservers, as before.
          m.wait_until_succeeds("getent hosts outside.test | grep -q 192.0.2.7")
          # unbound answers only the clan: no loop back through resolved.
          m.succeed("dig @127.0.0.1 -p ${port} outside.test A | grep -q REFUSED")

      # The client booted with the old unsigned file: refused, yet unbound runs.
      client.fail("systemctl is-failed --quiet unbound.service")
      client.succeed("journalctl -u dm-dns-prepare.service | grep -q 'not a dm-dns signed zone'")
      client.fail("dig @127.0.0.1 -p ${port} music.clan A | grep -q CNAME")

      push.succeed("dm-dns sign --key ${./vm-signing.key} --zone ${zone} --serial 100 --out /tmp/cnames")
      signed = push.succeed("cat /tmp/cnames")
      for m in (push, client):
          # Written only once the path unit watches, as data-mesher would.
          m.wait_for_unit("dm-dns-install.path")
          m.succeed("mkdir -p $(dirname ${meshFile})")
          m.succeed(f"cat > ${meshFile}.new <<'EOF'\n{signed}EOF\nmv ${meshFile}.new ${meshFile}")

      for m in (push, client):
          m.wait_until_succeeds("dig @127.0.0.1 -p ${port} music.clan A | grep -q 'music.clan.*CNAME.*push.clan.'")
          answer = m.succeed("dig @127.0.0.1 -p ${port} music.clan A +noall +answer")
          assert "${nodes.push.networking.primaryIPAddress}" in answer, answer
          answer = m.succeed("dig @127.0.0.1 -p ${port} wiki.clan A +noall +answer")
          assert "client.clan." in answer and "${nodes.client.networking.primaryIPAddress}" in answer, answer
          m.succeed("dig @127.0.0.1 -p ${port} nothing.clan A | grep -q NXDOMAIN")
          # The other machine's name, from the zone's address records.
          for other in ("push", "client"):
              m.succeed(f"dig @127.0.0.1 -p ${port} {other}.clan A +short | grep -qx {own[other]}")
          # Any program, through the system resolver (nss -> resolved -> delegate -> unbound).
          m.wait_until_succeeds("getent hosts music.clan | grep -q ${nodes.push.networking.primaryIPAddress}")
          m.succeed("getent hosts outside.test | grep -q 192.0.2.7")
          # The operator's commands need no arguments, under sudo too.
          m.succeed("env -i /run/current-system/sw/bin/dm-dns status")
          m.succeed("sudo dm-dns status --json | grep -q '\"health\": \"current\"'")
          m.succeed("sudo dm-dns status --json | grep -q '\"served_by\": \"knot\"'")
          m.succeed("env -i /run/current-system/sw/bin/dm-dns explain music.clan | grep -q 'answers now: music.clan. CNAME push.clan.'")
          # A declared record, and short names through the search domain.
          m.succeed("getent hosts printer.clan | grep -q 192.0.2.20")
          m.succeed("getent hosts music | grep -q ${nodes.push.networking.primaryIPAddress}")
          # Reverse lookups of the other machine and of the printer, through
          # resolved's routing of the reverse zones to unbound.
          other = "client" if m.name == "push" else "push"
          m.succeed(f"dig @127.0.0.1 -p ${port} -x {own[other]} +short | grep -qx {other}.clan.")
          m.wait_until_succeeds(f"resolvectl query {own[other]} | grep -q {other}.clan")
          m.succeed("resolvectl query 192.0.2.20 | grep -q printer.clan")
          m.succeed("dig @127.0.0.1 -p ${port} -x 192.0.2.21 | grep -q NXDOMAIN")

      # upstream is no clan machine: it asks push, a server, on port 53.
      pushAddress = own["push"]
      answer = upstream.succeed(f"dig @{pushAddress} music.clan A +noall +answer")
      assert "CNAME" in answer and pushAddress in answer, answer
      upstream.succeed(f"dig @{pushAddress} outside.example.com A +short | grep -qx 192.0.2.8")
      upstream.succeed(f"dig @{pushAddress} nothing.clan A | grep -q NXDOMAIN")
      push.succeed("dm-dns status | grep -q 'serves others: ${nodes.push.networking.primaryIPAddress}'")
      # Its own path still answers only the clan.
      push.succeed("dig @127.0.0.1 -p ${port} outside.example.com A | grep -q REFUSED")
    '';
}
