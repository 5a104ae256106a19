# Text from exports and vars, which may hold anything.
{ lib }:
{
  # The text without surrounding white space; inner white space stays (the
  # value is then not an address, which `dm-dns zone` says). Unlike
  # `lib.strings.trim`, text the pattern cannot take comes back as it is,
  # never as "": the value a skip reason shows is the one exported.
  trim =
    text:
    let
      parts = builtins.match "[[:space:]]*(.*[^[:space:]]|)[[:space:]]*" text;
    in
    if parts == null then text else lib.head parts;
}
