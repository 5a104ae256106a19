# The locally built dm-dns binary as a store path shaped like the package
# (a directory holding bin/dm-dns), so lib.nix runs here exactly as it does with the flake's.
# Needs `sandbox = false` (the binary links the host's libc).
{ packageDir }:
builtins.path {
  path = packageDir;
  name = "dm-dns-local";
}
