# NixOS VM test (runs with nixpkgs and KVM: `nix build .#checks.x86_64-linux.vm`).
# A push node signs the zone; the signed file reaches both nodes where
# data-mesher would put it; both resolve endpoint names to the CNAME and the
# serving machine's address in one answer. The key pair here is a test
# fixture, public on purpose.
{
  pkgs,
  dm-dns,
  nixosModule,
}:
let
  dmLib = import ../lib.nix;
  zone = dmLib.mkZone {
    inherit dm-dns;
    domain = "clan";
    exports = builtins.fromJSON (builtins.readFile ./vm-exports.json);
  };
  meshFile = "/var/lib/data-mesher/files/home/dns/cnames";
  node =
    { nodes, ... }:
    {
      imports = [ nixosModule ];
      services.dm-dns = {
        enable = true;
        package = dm-dns;
        domain = "clan";
        trustedKeys = [ "${./vm-signing.pub}" ];
        inherit meshFile;
      };
      networking.hosts = {
        ${nodes.push.networking.primaryIPAddress} = [ "push.clan" ];
        ${nodes.client.networking.primaryIPAddress} = [ "client.clan" ];
      };
      environment.systemPackages = [
        dm-dns
        pkgs.dig
      ];
    };
in
pkgs.testers.runNixOSTest {
  name = "dm-dns";
  nodes.push = node;
  nodes.client = node;
  testScript =
    { nodes, ... }:
    ''
      start_all()
      for m in (push, client):
          m.wait_for_unit("unbound.service")
          # Before any mesh file: the node's own records already resolve.
          m.succeed("dig @127.0.0.1 -p 5353 push.clan A +short | grep -qx ${nodes.push.networking.primaryIPAddress}")

      push.succeed("dm-dns sign --key ${./vm-signing.key} --zone ${zone} --serial 100 --out /tmp/cnames")
      signed = push.succeed("cat /tmp/cnames")
      for m in (push, client):
          m.succeed("mkdir -p $(dirname ${meshFile})")
          m.succeed(f"cat > ${meshFile} <<'EOF'\n{signed}EOF")

      for m in (push, client):
          m.wait_until_succeeds("dig @127.0.0.1 -p 5353 music.clan A | grep -q 'music.clan.*CNAME.*push.clan.'")
          answer = m.succeed("dig @127.0.0.1 -p 5353 music.clan A +noall +answer")
          assert "${nodes.push.networking.primaryIPAddress}" in answer, answer
          answer = m.succeed("dig @127.0.0.1 -p 5353 wiki.clan A +noall +answer")
          assert "client.clan." in answer and "${nodes.client.networking.primaryIPAddress}" in answer, answer
          m.succeed("dig @127.0.0.1 -p 5353 nothing.clan A | grep -q NXDOMAIN")
    '';
}
