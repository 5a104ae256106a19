# Keys in data-mesher's forms.
{ text }:
{
  # data-mesher allowlists take base64 of the raw 32-byte key. An ED25519 SPKI
  # DER is a 12-byte prefix plus the key; 12 bytes are exactly 16 base64
  # characters, so the key's base64 is the rest of the PEM body. Anything not
  # PEM is taken to be that base64 already.
  publicKeyBase64 =
    key:
    let
      lines = builtins.filter (l: l != "" && builtins.substring 0 5 l != "-----") (
        builtins.filter builtins.isString (builtins.split "\n" key)
      );
      body = builtins.concatStringsSep "" lines;
    in
    if builtins.substring 0 26 key == "-----BEGIN PUBLIC KEY-----" then
      (
        if builtins.stringLength body == 60 && builtins.substring 0 16 body == "MCowBQYDK2VwAyEA" then
          builtins.substring 16 44 body
        else
          throw "dm-dns: the public key is not an ED25519 SPKI PEM key"
      )
    else
      text.trim key;
}
