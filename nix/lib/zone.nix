# The zone as derivations whose builder is the dm-dns binary itself (no shell,
# no coreutils), the golden checks, and what the shared vars generator's
# validation depends on.
{ text, projection }:
rec {
  # The format of the zone files `dm-dns zone` writes (manifest.json's
  # "format"); a change regenerates the shared files on every deployer.
  zoneFormat = 5;

  # `$out` holds zone.conf, zone.db and manifest.json. Pass `exports` or, to
  # share the projection between machines, a ready `exportsFile` from
  # `writeExportsFile`.
  mkZone =
    {
      dm-dns,
      domain,
      exports ? null,
      exportsFile ? null,
      system ? dm-dns.system,
      name ? "dm-dns-zone",
      # Network services that give machine names their addresses, preferred
      # first (`dm-dns zone --networks`); null: by networking.priority.
      networks ? null,
      # Records the clan declares (`dm-dns zone --records`): name -> type
      # -> values, as the clan service's `records` setting.
      records ? { },
    }@args:
    let
      input =
        if exportsFile != null then
          exportsFile
        else if args.exports or null != null then
          projection.writeExportsFile args.exports
        else
          throw "dm-dns mkZone: pass `exports` (the clan's exports) or `exportsFile`";
    in
    derivation {
      inherit name system;
      builder = "${dm-dns}/bin/dm-dns";
      args = [
        "zone"
        "--exports"
        input
        "--domain"
        domain
        "--out"
        (builtins.placeholder "out")
      ]
      ++ networksArgs networks
      ++ recordsArgs records;
    };

  # `--records FILE` for declared records; none for none, so a zone without
  # them builds as before.
  recordsArgs =
    records:
    if records == { } then
      [ ]
    else
      [
        "--records"
        (builtins.toFile "dm-dns-records.json" (builtins.toJSON records))
      ];

  networksArgs =
    networks:
    if networks == null then
      [ ]
    else
      [
        "--networks"
        (builtins.concatStringsSep "," networks)
      ];

  # The validation of the shared `dm-dns` vars generator: what the zone
  # depends on and nothing else. No store path or system enters it, so every
  # deployer (x86_64-linux, aarch64-linux, darwin) computes the same value,
  # and a dm-dns release that does not change the zone regenerates nothing.
  zoneValidation =
    {
      domain,
      exportsJSON,
      networks ? null,
      records ? { },
    }:
    {
      inherit domain;
      format = zoneFormat;
      exports = builtins.hashString "sha256" exportsJSON;
    }
    // (
      if records == { } then
        { }
      else
        { records = builtins.hashString "sha256" (builtins.toJSON records); }
    )
    # clan-core's validation takes strings, numbers and booleans only
    # (clanCore/vars/interface.nix).
    // (if networks == null then { } else { networks = builtins.concatStringsSep "," networks; });

  # A golden fixture's input: `{ exports; domain; records; }` from
  # `exports.json` or `exports.nix`, the `domain` file and `records.json`
  # if there is one.
  readFixture = fixture: {
    records =
      if builtins.pathExists (fixture + "/records.json") then
        builtins.fromJSON (builtins.readFile (fixture + "/records.json"))
      else
        { };
    exports =
      if builtins.pathExists (fixture + "/exports.json") then
        builtins.fromJSON (builtins.readFile (fixture + "/exports.json"))
      else
        import (fixture + "/exports.nix");
    domain = text.trim (builtins.readFile (fixture + "/domain"));
  };

  # Builds a fixture's zone and compares it with the expected files through
  # `dm-dns diff`; the build log shows the diff when they differ.
  mkGoldenCheck =
    {
      dm-dns,
      fixture,
      system ? dm-dns.system,
    }:
    let
      zone = mkZone ({ inherit dm-dns system; } // readFixture fixture);
      expected = builtins.path {
        path = fixture + "/expected";
        name = "dm-dns-expected";
      };
    in
    derivation {
      name = "dm-dns-golden-${baseNameOf (toString fixture)}";
      inherit system;
      builder = "${dm-dns}/bin/dm-dns";
      args = [
        "diff"
        expected
        zone
        "--report"
        (builtins.placeholder "out")
      ];
    };
}
