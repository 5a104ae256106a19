# Small string and list helpers the other topics share (builtins only, so the
# library evaluates without nixpkgs).
{
  hasSuffix =
    suffix: s:
    let
      n = builtins.stringLength suffix;
      m = builtins.stringLength s;
    in
    m >= n && builtins.substring (m - n) n s == suffix;

  concatMap = f: list: builtins.concatLists (map f list);

  # The text without surrounding white space; inner white space stays (the
  # value is then not an address, which `dm-dns zone` says). Never fails:
  # text the pattern cannot take comes back as it is.
  trim =
    text:
    let
      parts = builtins.match "[[:space:]]*(.*[^[:space:]]|)[[:space:]]*" text;
    in
    if parts == null then text else builtins.head parts;

  # Fields of a `:`-separated string, empty fields kept.
  splitColons = s: builtins.filter builtins.isString (builtins.split ":" s);
}
