# Web servers on a node: a machine's own internal endpoints are served to the
# clan only.
{
  # Listen addresses for a virtual host serving an internal endpoint: the
  # clan-internal addresses plus loopback, IPv6 in brackets (the form nginx's
  # and caddy's `listenAddresses` take). Empty when the machine has no
  # internal addresses: restricting to loopback alone would cut the endpoint
  # off from the clan.
  internalListenAddresses =
    addresses:
    if addresses == [ ] then
      [ ]
    else
      map (a: if builtins.match ".*:.*" a != null then "[${a}]" else a) (
        addresses
        ++ [
          "127.0.0.1"
          "::1"
        ]
      );
}
