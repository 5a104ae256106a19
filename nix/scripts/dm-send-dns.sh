# dm-send-dns [--dry-run] [dm-dns sign options]: sign this clan's zone and
# hand it to data-mesher, then say what changed. --dry-run only shows what
# would change (`dm-dns plan`). Other arguments go to `dm-dns sign`, e.g.
# `--serial N`.
# The NixOS module sets (writeShellApplication's runtimeEnv):
#   DM_DNS_ZONE        the zone derivation's output (zone.conf, manifest.json)
#   DM_DNS_KEY         the signing key (clan vars, readable by root)
#   DM_DNS_PUBLIC_KEY  its public key, to verify the live file
#   DM_DNS_MESH_FILE   the live signed file data-mesher holds here
#   DM_DNS_NETWORK_ID  path of data-mesher's network.pub (clan vars)
#   DM_DNS_MESH_NAME   the mesh file name, dns/cnames
#   DM_DNS_URL         data-mesher's local HTTP API
plan() {
  dm-dns plan --zone "$DM_DNS_ZONE" --mesh-file "$DM_DNS_MESH_FILE" --trusted-key "$DM_DNS_PUBLIC_KEY"
}
if [ "${1:-}" = --dry-run ]; then
  # Exit 1 from plan means "changes": not a failure here.
  plan || [ $? -eq 1 ]
  exit 0
fi
if [ ! -r "$DM_DNS_KEY" ]; then
  echo "dm-send-dns: cannot read the signing key $DM_DNS_KEY (run as root on a push machine)" >&2
  exit 1
fi
if [ ! -r "$DM_DNS_NETWORK_ID" ]; then
  echo "dm-send-dns: cannot read data-mesher's network id $DM_DNS_NETWORK_ID (is data-mesher set up on this machine?)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plan >"$tmp/plan" || [ $? -eq 1 ]
dm-dns sign --key "$DM_DNS_KEY" --zone "$DM_DNS_ZONE" --out "$tmp/cnames" "$@"
# --network-id and --key are file paths, as in every use in clan-core.
data-mesher file update "$tmp/cnames" \
  --network-id "$DM_DNS_NETWORK_ID" \
  --url "$DM_DNS_URL" \
  --key "$DM_DNS_KEY" \
  --name "$DM_DNS_MESH_NAME"
echo "dm-send-dns: pushed $DM_DNS_ZONE as $DM_DNS_MESH_NAME; against the zone that was live:"
cat "$tmp/plan"
