# Fed to nix/tests/unit.nix by run.sh, which expects exactly the first two
# tests to be reported as failures: the runner must be able to fail.
{
  test_a_wrong_value = {
    expr = 1 + 1;
    expected = 3;
  };
  test_b_a_missing_error = {
    expr = "no error";
    expectedError.type = "ThrownError";
  };
  test_c_right = {
    expr = builtins.tryEval (throw "x");
    expected = {
      success = false;
      value = false;
    };
  };
}
