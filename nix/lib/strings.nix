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

  # The text without surrounding white space.
  trim = text: builtins.head (builtins.match "[[:space:]]*([^[:space:]]*)[[:space:]]*" text);

  # Fields of a `:`-separated string, empty fields kept.
  splitColons = s: builtins.filter builtins.isString (builtins.split ":" s);
}
