# Exports as plain Nix data, e.g. written by hand for a test clan.
{
  "forgejo:code:server:alpha".endpoints.hosts = [ "git.clan" "ci.clan" ];
  "forgejo:code:server:alpha".dataMesher = null;
  "matrix:chat:server:beta" = {
    endpoints = {
      hosts = [
        ''matrix.clan''
        "element.clan." # trailing dot and comment
      ];
    };
    peer.port = 8448;
    enabled = true;
  };
  "ntfy:push:server:gamma".endpoints.hosts = [ "ntfy.example.net" ];
}
