# nix-unit shaped tests of keys.nix; `publicBase64` is what `dm-dns pubkey`
# prints for the same key (run by nix/tests/run.sh).
{ vendor, publicBase64 }:
let
  dm = import ./. { lib = import (vendor + "/nixpkgs-lib/lib"); };
  publicPem = builtins.readFile ../tests/vm-signing.pub;
in
{
  test_pem_public_key_to_data_meshers_base64 = {
    expr = dm.keys.publicKeyBase64 publicPem;
    expected = publicBase64;
  };
  test_base64_passes_through_trimmed = {
    expr = dm.keys.publicKeyBase64 " ${publicBase64}\n";
    expected = publicBase64;
  };
  test_other_pem_keys_are_refused = {
    expr = dm.keys.publicKeyBase64 "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";
    expectedError.type = "ThrownError";
  };
}
