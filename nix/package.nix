# The dm-dns package (runs with nixpkgs: `nix build .#dm-dns`).
{
  lib,
  rustPlatform,
  stdenv,
  installShellFiles,
}:
let
  cargo = builtins.fromTOML (builtins.readFile ../Cargo.toml);
in
rustPlatform.buildRustPackage {
  pname = "dm-dns";
  inherit (cargo.package) version;
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../src
      ../tests
      ../checks
      ../examples
    ];
  };
  cargoLock.lockFile = ../Cargo.lock;
  # The end-to-end tests need unbound, Knot and dig on the build machine; the flake
  # checks cover the zone outputs, and CI runs the whole suite.
  cargoTestFlags = [ "--lib" ];
  nativeBuildInputs = [ installShellFiles ];
  # Completions and the manual page come from the command definitions.
  postInstall = lib.optionalString (stdenv.buildPlatform.canExecute stdenv.hostPlatform) ''
    installShellCompletion --cmd dm-dns \
      --bash <($out/bin/dm-dns completions bash) \
      --zsh <($out/bin/dm-dns completions zsh) \
      --fish <($out/bin/dm-dns completions fish)
    $out/bin/dm-dns man --out-dir man
    installManPage man/*.1
  '';
  meta = {
    description = cargo.package.description;
    license = lib.licenses.mit;
    mainProgram = "dm-dns";
  };
}
