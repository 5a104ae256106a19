# Runs test files in nix-unit's shape (`test_<name> = { expr; expected; }` or
# `{ expr; expectedError.type = "ThrownError"; }`) with plain
# nix-instantiate:
#
#   nix-instantiate --eval --strict --json nix/tests/unit.nix \
#     --arg files '[ ./nix/lib/exports-tests.nix ]' --arg args '{ ... }'
#
# Each file is a function of (a subset of) `args`. The result lists every
# test's name and, for a failure, what was expected and what came instead.
{
  files,
  args ? { },
}:
let
  inherit (builtins) attrNames deepSeq tryEval toJSON;
  call =
    file:
    let
      tests = import file;
    in
    if builtins.isFunction tests then tests (builtins.intersectAttrs (builtins.functionArgs tests) args) else tests;
  outcome =
    t:
    if t ? expectedError then
      (
        let
          r = tryEval (deepSeq t.expr t.expr);
        in
        if r.success then "expected an error, got ${toJSON r.value}" else null
      )
    else if t.expr == t.expected then
      null
    else
      "expected ${toJSON t.expected}, got ${toJSON t.expr}";
  runFile =
    file:
    let
      tests = call file;
    in
    map (name: {
      test = "${baseNameOf (toString file)}: ${name}";
      failure = outcome tests.${name};
    }) (builtins.filter (n: builtins.substring 0 5 n == "test_") (attrNames tests));
in
builtins.concatMap runFile files
